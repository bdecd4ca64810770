"""JUnit XML: one testcase per gate, so any CI shows gates as tests (fail -> failure, error -> error)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any


def _details(gate: Mapping[str, Any]) -> str:
    lines = [gate["reason"]]
    for f in gate["findings"]:
        if not f["counted"]:
            continue
        where = f["location"]["path"] or f["location"]["logical"] or ""
        if f["location"]["line"]:
            where += f":{f['location']['line']}"
        lines.append(f"[{f['severity']}] {f['rule']} {where} {f['message']}")
    return "\n".join(lines)


def render(verdict: Mapping[str, Any]) -> str:
    gates = verdict["gates"]
    count = {s: sum(1 for g in gates if g["status"] == s) for s in ("fail", "error", "skipped")}
    attrs = {
        "name": f"gates ({verdict['policy']['name']})",
        "tests": str(len(gates)),
        "failures": str(count["fail"]),
        "errors": str(count["error"]),
        "skipped": str(count["skipped"]),
        "time": f"{verdict['duration_s']:.3f}",
        "timestamp": verdict["started_at"],
    }
    suites = ET.Element("testsuites", {k: attrs[k] for k in ("name", "tests", "failures", "errors", "time")})
    suite = ET.SubElement(suites, "testsuite", attrs)
    for gate in gates:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": "gates", "name": gate["name"], "time": f"{gate['duration_s']:.3f}"},
        )
        if gate["status"] == "fail":
            ET.SubElement(case, "failure", {"message": gate["reason"], "type": "fail"}).text = _details(gate)
        elif gate["status"] == "error":
            ET.SubElement(case, "error", {"message": gate["reason"], "type": "error"}).text = gate["reason"]
        elif gate["status"] == "skipped":
            ET.SubElement(case, "skipped", {"message": gate["reason"]})
        else:
            ET.SubElement(case, "system-out").text = f"{gate['status']}: {_details(gate)}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
