"""An example report format: one CSV row per finding that counts, for a spreadsheet.

It sees only the typed verdict, like the built-in formats: no gate's private properties.
"""

from __future__ import annotations

import csv
import io

from gates.verdict import Verdict


class CsvReport:
    name = "csv"
    filename = "findings.csv"

    def render(self, verdict: Verdict) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["gate", "severity", "rule", "location", "message"])
        for gate in verdict.gates:
            for judged in gate.findings:
                if judged.counted:
                    f = judged.finding
                    writer.writerow([gate.label, f.severity.value, f.rule, f.location.where, f.message])
        return out.getvalue()
