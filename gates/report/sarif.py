"""SARIF 2.1.0: one run per gate (per project and gate in a monorepo), for GitHub code scanning
and any SARIF viewer.

Waived findings carry an external suppression with the reason of the waiver (or VEX statement);
findings compared with a baseline carry `baselineState`; `security-severity` lets GitHub rank them.

GitHub code scanning rejects an upload with more than 20 runs or more than 25,000 results in a run.
A run keeps the findings that count first, most severe first, and says in a notification and in
its `truncated` property how many it left out (verdict.json always has every finding, and the
verdict's decision never depends on this file). With more than 20 gates, the gates after the 19th
share a 20th run, `gates-combined`, whose rule ids are prefixed with the gate name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gates.model import Severity
from gates.report.anchor import file_of
from gates.verdict import gate_label

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks results by this number (critical >= 9.0, high >= 7.0, medium >= 4.0).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}
MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000

Placed = tuple[str, str, Mapping[str, Any]]
"""(gate label, rule id in the run, finding)."""


def _location(finding: Mapping[str, Any], verdict: Mapping[str, Any]) -> dict[str, Any]:
    where = finding["location"]
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": file_of(finding, verdict), "uriBaseId": "SRCROOT"}
    }
    if where["path"] and where["line"]:
        physical["region"] = {"startLine": where["line"]}
    location: dict[str, Any] = {"physicalLocation": physical}
    if where["logical"]:
        location["logicalLocations"] = [{"fullyQualifiedName": where["logical"]}]
    return location


def _result(
    gate: str, rule_id: str, finding: Mapping[str, Any], verdict: Mapping[str, Any]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": rule_id,
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
        origin = (  # a VEX statement in the repository, or a policy waiver
            waiver["source"]
            if waiver.get("kind") == "vex"
            else f"owner {waiver['owner']}, expires {waiver['expires']}"
        )
        result["suppressions"] = [
            {"kind": "external", "state": "accepted", "justification": f"{waiver['reason']} ({origin})"}
        ]
    return result


def _rule(gate: str, rule_id: str, finding: Mapping[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": f"{gate}: {finding['rule']}"},
        "defaultConfiguration": {"level": _LEVELS[finding["severity"]]},
        "properties": {"security-severity": _SECURITY_SEVERITY[finding["severity"]]},
    }
    help_uri = finding["properties"].get("more_info") or finding["properties"].get("help_uri")
    if isinstance(help_uri, str) and help_uri.startswith("https://"):
        rule["helpUri"] = help_uri
    return rule


def _kept(placed: list[Placed]) -> tuple[list[Placed], int]:
    """At most MAX_RESULTS_PER_RUN results: counted before not counted, most severe first."""
    if len(placed) <= MAX_RESULTS_PER_RUN:
        return placed, 0
    ranked = sorted(placed, key=lambda p: (not p[2]["counted"], -Severity(p[2]["severity"]).rank))
    return ranked[:MAX_RESULTS_PER_RUN], len(placed) - MAX_RESULTS_PER_RUN


def _run(gate: Mapping[str, Any], placed: list[Placed], verdict: Mapping[str, Any]) -> dict[str, Any]:
    kept, omitted = _kept(placed)
    rules: dict[str, dict[str, Any]] = {}
    for gate_name, rule_id, finding in kept:
        rules.setdefault(rule_id, _rule(gate_name, rule_id, finding))
    invocation: dict[str, Any] = {"executionSuccessful": gate["status"] != "error"}
    notifications = []
    if gate["status"] == "error":
        notifications.append({"level": "error", "message": {"text": gate["reason"]}})
    properties: dict[str, Any] = {"gate_status": gate["status"], "reason": gate["reason"]}
    if omitted:
        note = (
            f"{omitted} of {len(placed)} results omitted: GitHub accepts at most {MAX_RESULTS_PER_RUN} "
            "per run; counted and most severe findings kept first; verdict.json has them all"
        )
        notifications.append({"level": "warning", "message": {"text": note}})
        properties["truncated"] = {"omitted": omitted, "total": len(placed), "note": note}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "tool": {
            "driver": {
                "name": f"gates-{gate_label(gate).replace('/', '-')}",
                "version": gate["version"] or "unknown",
                "informationUri": "https://pypi.org/project/governance-gates/",
                "rules": [rules[k] for k in sorted(rules)],
                "properties": {"tool_versions": gate["tool_versions"]},
            }
        },
        "automationDetails": {"id": f"gates/{gate_label(gate)}/"},
        "originalUriBaseIds": {"SRCROOT": {"uri": "file:///" + verdict["subject"]["path"].lstrip("/") + "/"}},
        "invocations": [invocation],
        "results": [_result(gate_name, rule_id, f, verdict) for gate_name, rule_id, f in kept],
        "properties": properties,
    }


def _combined(gates: list[Mapping[str, Any]]) -> tuple[dict[str, Any], list[Placed]]:
    """One run standing for several gates, when there are more gates than runs GitHub accepts."""
    gate = {
        "name": "combined",
        "status": max((g["status"] for g in gates), key=("pass", "warn", "fail", "error").index),
        "reason": "; ".join(f"{gate_label(g)}: {g['status']}: {g['reason']}" for g in gates),
        "version": None,
        "tool_versions": {k: v for g in gates for k, v in g["tool_versions"].items()},
    }
    placed: list[Placed] = [
        (gate_label(g), f"{gate_label(g)}/{f['rule']}", f) for g in gates for f in g["findings"]
    ]
    return gate, placed


def render(verdict: Mapping[str, Any]) -> str:
    gates = [g for g in verdict["gates"] if g["status"] != "skipped"]
    runs: list[tuple[Mapping[str, Any], list[Placed]]] = [
        (g, [(gate_label(g), f["rule"], f) for f in g["findings"]]) for g in gates
    ]
    if len(runs) > MAX_RUNS:
        runs = [*runs[: MAX_RUNS - 1], _combined(gates[MAX_RUNS - 1 :])]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [_run(gate, placed, verdict) for gate, placed in runs],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
