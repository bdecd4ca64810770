"""GitLab SAST report (`gl-sast-report.json`, security report schema 15): findings in merge-request
widgets and the vulnerability report of GitLab Ultimate. Declared as `artifacts:reports:sast`.
With `--since`, an advisory's change since the release is one of its `details`, and what changed
is the scan's first message."""

from __future__ import annotations

import json

from gates.model import JSON, Finding, Status
from gates.report.anchor import file_of
from gates.report.delta import DeltaView
from gates.verdict import Verdict

SCHEMA_VERSION = "15.0.7"
_SEVERITIES = {"info": "Info", "low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}


def _vulnerability(gate: str, finding: Finding, verdict: Verdict) -> dict[str, JSON]:
    location: dict[str, JSON] = {"file": file_of(finding, verdict)}
    if finding.location.line:
        location["start_line"] = finding.location.line
    identifiers = [{"type": f"gates_{gate}", "name": f"{gate} {finding.rule}", "value": finding.rule}]
    identifiers += [
        {"type": alias.split("-", 1)[0].lower(), "name": alias, "value": alias} for alias in finding.aliases
    ]
    vulnerability: dict[str, JSON] = {
        "id": finding.fingerprint,
        "name": f"{gate}: {finding.rule}",
        "description": finding.message,
        "severity": _SEVERITIES[finding.severity.value],
        "identifiers": identifiers,
        "location": location,
    }
    if finding.delta_mark is not None and verdict.delta is not None:
        value = f"{finding.delta_mark.value} since {verdict.delta.since}"
        detail: dict[str, JSON] = {"type": "text", "name": "Release delta", "value": value}
        vulnerability["details"] = {"release_delta": detail}
    return vulnerability


def _messages(verdict: Verdict) -> dict[str, JSON]:
    changes = DeltaView.of(verdict)
    return {"messages": [{"level": "info", "value": f"What changed {changes.summary}"}]} if changes else {}


def render(verdict: Verdict) -> str:
    vendor = {"name": "governance-gates"}
    time = verdict.started.removesuffix("Z")  # the schema's format has no zone
    analyzer = {"id": "gates", "name": "gates", "version": verdict.tool_version, "vendor": vendor}
    document = {
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": analyzer,
            "scanner": analyzer,
            "type": "sast",
            "start_time": time,
            "end_time": time,
            "status": "failure" if verdict.status is Status.ERROR else "success",
            **_messages(verdict),
        },
        # Waived findings are reviewed exceptions: GitLab has no suppression field, so they stay out.
        "vulnerabilities": [
            _vulnerability(g.name, j.finding, verdict)
            for g in verdict.gates
            for j in g.findings
            if not j.waived
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
