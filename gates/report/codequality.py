"""GitLab Code Quality report (a Code Climate issue list): findings shown in merge requests, with
new and fixed ones compared against the target branch. Declared as `artifacts:reports:codequality`.
With `--since`, an advisory's description says its change since the release (`[introduced since
v1.0.0]`: its message), as Code Climate issues have no field of their own for it."""

from __future__ import annotations

import json

from gates.report.anchor import file_of
from gates.verdict import Verdict

_SEVERITIES = {"info": "info", "low": "minor", "medium": "major", "high": "critical", "critical": "blocker"}


def render(verdict: Verdict) -> str:
    issues = [
        {
            "description": f"{j.finding.message} ({g.name} {j.finding.rule})",
            "check_name": f"{g.name}/{j.finding.rule}",
            "fingerprint": j.finding.fingerprint,
            "severity": _SEVERITIES[j.finding.severity.value],
            "location": {
                "path": file_of(j.finding, verdict),
                "lines": {"begin": j.finding.location.line or 1},
            },
        }
        for g in verdict.gates
        for j in g.findings
        if not j.waived
    ]
    return json.dumps(issues, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
