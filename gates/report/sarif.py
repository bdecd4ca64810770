"""SARIF 2.1.0: one run per gate, for GitHub code scanning and any SARIF viewer.

Waived findings carry an external suppression with the waiver's reason; findings compared with a
baseline carry `baselineState`; `security-severity` lets GitHub rank them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks results by this number (critical >= 9.0, high >= 7.0, medium >= 4.0).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}


def _anchor(finding: Mapping[str, Any], verdict: Mapping[str, Any]) -> str:
    """The file a finding without a path is shown at. GitHub code scanning rejects a whole upload
    when one result has no file location, so findings about a component or a URL are anchored to
    the manifest the gate names, else to the policy file that made them count."""
    manifest = finding["properties"].get("manifest")
    if isinstance(manifest, str) and manifest:
        return manifest
    source = str(verdict["policy"]["source"])
    if source.startswith("builtin:"):
        return "gates.yaml"
    root = Path(verdict["subject"]["path"])
    policy = Path(source)
    if policy.is_absolute():
        return policy.relative_to(root).as_posix() if root in policy.parents else policy.name
    return policy.as_posix()


def _location(finding: Mapping[str, Any], verdict: Mapping[str, Any]) -> dict[str, Any]:
    where = finding["location"]
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": where["path"] or _anchor(finding, verdict), "uriBaseId": "SRCROOT"}
    }
    if where["path"] and where["line"]:
        physical["region"] = {"startLine": where["line"]}
    location: dict[str, Any] = {"physicalLocation": physical}
    if where["logical"]:
        location["logicalLocations"] = [{"fullyQualifiedName": where["logical"]}]
    return location


def _result(gate: str, finding: Mapping[str, Any], verdict: Mapping[str, Any]) -> dict[str, Any]:
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
    result["locations"] = [_location(finding, verdict)]
    if verdict["baseline"] is not None:
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
        "results": [_result(gate["name"], f, verdict) for f in gate["findings"]],
        "properties": {"gate_status": gate["status"], "reason": gate["reason"]},
    }


def render(verdict: Mapping[str, Any]) -> str:
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [_run(g, verdict) for g in verdict["gates"] if g["status"] != "skipped"],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
