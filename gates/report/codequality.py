"""GitLab Code Quality report (a Code Climate issue list): findings shown in merge requests, with
new and fixed ones compared against the target branch. Declared as `artifacts:reports:codequality`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gates.report.anchor import file_of

_SEVERITIES = {"info": "info", "low": "minor", "medium": "major", "high": "critical", "critical": "blocker"}


def render(verdict: Mapping[str, Any]) -> str:
    issues = [
        {
            "description": f"{f['message']} ({g['name']} {f['rule']})",
            "check_name": f"{g['name']}/{f['rule']}",
            "fingerprint": f["fingerprint"],
            "severity": _SEVERITIES[f["severity"]],
            "location": {"path": file_of(f, verdict), "lines": {"begin": f["location"]["line"] or 1}},
        }
        for g in verdict["gates"]
        for f in g["findings"]
        if f["waived"] is None
    ]
    return json.dumps(issues, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
