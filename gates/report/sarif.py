"""SARIF 2.1.0: one run per gate, for GitHub code scanning and any SARIF viewer.

Waived findings carry an external suppression with the waiver's reason; findings compared with a
baseline carry `baselineState`; `security-severity` lets GitHub rank them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks results by this number (critical >= 9.0, high >= 7.0, medium >= 4.0).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}


def _location(finding: Mapping[str, Any]) -> dict[str, Any]:
    where = finding["location"]
    location: dict[str, Any] = {}
    if where["path"]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": where["path"], "uriBaseId": "SRCROOT"}}
        if where["line"]:
            physical["region"] = {"startLine": where["line"]}
        location["physicalLocation"] = physical
    if where["logical"]:
        location["logicalLocations"] = [{"fullyQualifiedName": where["logical"]}]
    return location


def _result(gate: str, finding: Mapping[str, Any], compared: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding["rule"],
        "level": _LEVELS[finding["severity"]],
        "message": {"text": finding["message"] or finding["rule"]},
        "partialFingerprints": {"gatesFingerprint/v1": finding["fingerprint"]},
        "properties": {
            "gate": gate,
            "severity": finding["severity"],
            "counted": finding["counted"],
            **{k: v for k, v in finding["properties"].items() if v not in (None, "", [], {})},
        },
    }
    location = _location(finding)
    if location:
        result["locations"] = [location]
    if compared:
        result["baselineState"] = "new" if finding["new"] else "unchanged"
    if finding["waived"] is not None:
        waiver = finding["waived"]
        result["suppressions"] = [
            {
                "kind": "external",
                "state": "accepted",
                "justification": f"{waiver['reason']} (owner {waiver['owner']}, expires {waiver['expires']})",
            }
        ]
    return result


def _rule(gate: str, finding: Mapping[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": finding["rule"],
        "shortDescription": {"text": f"{gate}: {finding['rule']}"},
        "defaultConfiguration": {"level": _LEVELS[finding["severity"]]},
        "properties": {"security-severity": _SECURITY_SEVERITY[finding["severity"]]},
    }
    help_uri = finding["properties"].get("more_info")
    if isinstance(help_uri, str) and help_uri.startswith("https://"):
        rule["helpUri"] = help_uri
    return rule


def _run(gate: Mapping[str, Any], verdict: Mapping[str, Any]) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for finding in gate["findings"]:
        rules.setdefault(finding["rule"], _rule(gate["name"], finding))
    compared = verdict["baseline"] is not None
    invocation: dict[str, Any] = {"executionSuccessful": gate["status"] != "error"}
    if gate["status"] == "error":
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": gate["reason"]}}]
    return {
        "tool": {
            "driver": {
                "name": f"gates-{gate['name']}",
                "version": gate["version"] or "unknown",
                "informationUri": "https://pypi.org/project/governance-gates/",
                "rules": [rules[k] for k in sorted(rules)],
                "properties": {"tool_versions": gate["tool_versions"]},
            }
        },
        "automationDetails": {"id": f"gates/{gate['name']}/"},
        "originalUriBaseIds": {"SRCROOT": {"uri": "file:///" + verdict["subject"]["path"].lstrip("/") + "/"}},
        "invocations": [invocation],
        "results": [_result(gate["name"], f, compared) for f in gate["findings"]],
        "properties": {"gate_status": gate["status"], "reason": gate["reason"]},
    }


def render(verdict: Mapping[str, Any]) -> str:
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [_run(g, verdict) for g in verdict["gates"] if g["status"] != "skipped"],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
