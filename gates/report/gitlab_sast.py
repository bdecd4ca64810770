"""GitLab SAST report (`gl-sast-report.json`, security report schema 15): findings in merge-request
widgets and the vulnerability report of GitLab Ultimate. Declared as `artifacts:reports:sast`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gates.report.anchor import file_of

SCHEMA_VERSION = "15.0.7"
_SEVERITIES = {"info": "Info", "low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}


def _time(verdict: Mapping[str, Any]) -> str:
    return str(verdict["started_at"]).removesuffix("Z")  # the schema's format has no zone


def _vulnerability(gate: str, finding: Mapping[str, Any], verdict: Mapping[str, Any]) -> dict[str, Any]:
    location: dict[str, Any] = {"file": file_of(finding, verdict)}
    if finding["location"]["line"]:
        location["start_line"] = finding["location"]["line"]
    identifiers = [{"type": f"gates_{gate}", "name": f"{gate} {finding['rule']}", "value": finding["rule"]}]
    identifiers += [
        {"type": alias.split("-", 1)[0].lower(), "name": alias, "value": alias}
        for alias in finding["aliases"]
    ]
    return {
        "id": finding["fingerprint"],
        "name": f"{gate}: {finding['rule']}",
        "description": finding["message"],
        "severity": _SEVERITIES[finding["severity"]],
        "identifiers": identifiers,
        "location": location,
    }


def render(verdict: Mapping[str, Any]) -> str:
    vendor = {"name": "governance-gates"}
    document = {
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": {
                "id": "gates",
                "name": "gates",
                "version": verdict["tool"]["version"],
                "vendor": vendor,
            },
            "scanner": {
                "id": "gates",
                "name": "gates",
                "version": verdict["tool"]["version"],
                "vendor": vendor,
            },
            "type": "sast",
            "start_time": _time(verdict),
            "end_time": _time(verdict),
            "status": "failure" if verdict["status"] == "error" else "success",
        },
        # Waived findings are reviewed exceptions: GitLab has no suppression field, so they stay out.
        "vulnerabilities": [
            _vulnerability(g["name"], f, verdict)
            for g in verdict["gates"]
            for f in g["findings"]
            if f["waived"] is None
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
