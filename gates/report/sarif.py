"""SARIF 2.1.0: one run per gate (per project and gate in a monorepo), for GitHub code scanning
and any SARIF viewer.

Waived findings carry an external suppression with the reason of the waiver (or VEX statement);
findings compared with a baseline carry `baselineState`; `security-severity` lets GitHub rank them.
A finding a policy key decides is at the level of its decision (`warn`: warning, even for a high
advisory under `disclosed: warn`); with `--since`, an advisory's change since the release
(`introduced`, `disclosed`) is a tag of its result, and the log's `properties.delta` holds what
changed (`summary`, and the verdict's `delta`).

GitHub code scanning rejects an upload with more than 20 runs or more than 25,000 results in a run.
A run keeps the findings that count first, most severe first, and says in a notification and in
its `truncated` property how many it left out (verdict.json always has every finding, and the
verdict's decision never depends on this file). With more than 20 gates, the gates after the 19th
share a 20th run, `gates-combined`, whose rule ids are prefixed with the gate name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gates.model import JSON, Status
from gates.report.anchor import file_of
from gates.report.delta import DeltaView
from gates.verdict import JudgedFinding, Verdict

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_DECIDED_LEVELS = {"warn": "warning", "fail": "error"}
# GitHub code scanning ranks results by this number (critical >= 9.0, high >= 7.0, medium >= 4.0).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}
MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000


@dataclass(frozen=True)
class Placed:
    gate: str
    """The gate's label."""
    rule_id: str
    """The rule id in the run (prefixed with the gate in the combined run)."""
    judged: JudgedFinding


@dataclass(frozen=True)
class RunOf:
    """What a run stands for: one gate, or several combined."""

    label: str
    status: Status
    reason: str
    version: str | None
    tool_versions: Mapping[str, str]


def _location(judged: JudgedFinding, verdict: Verdict) -> dict[str, JSON]:
    where = judged.finding.location
    physical: dict[str, JSON] = {
        "artifactLocation": {"uri": file_of(judged.finding, verdict), "uriBaseId": "SRCROOT"}
    }
    if where.path and where.line:
        physical["region"] = {"startLine": where.line}
    location: dict[str, JSON] = {"physicalLocation": physical}
    if where.logical:
        location["logicalLocations"] = [{"fullyQualifiedName": where.logical}]
    return location


def _result(placed: Placed, verdict: Verdict) -> dict[str, JSON]:
    judged, finding = placed.judged, placed.judged.finding
    properties: dict[str, JSON] = {
        "gate": placed.gate,
        "severity": finding.severity.value,
        "counted": judged.counted,
        **{k: v for k, v in finding.recorded_properties().items() if v not in (None, "", [], {})},
    }
    if finding.delta_mark is not None:
        properties["tags"] = [finding.delta_mark.value]
    level = _DECIDED_LEVELS[finding.decides.value] if finding.decides else _LEVELS[finding.severity.value]
    result: dict[str, JSON] = {
        "ruleId": placed.rule_id,
        "level": level,
        "message": {"text": finding.message or finding.rule},
        "partialFingerprints": {"gatesFingerprint/v1": finding.fingerprint},
        "properties": properties,
    }
    result["locations"] = [_location(judged, verdict)]
    if verdict.baseline is not None:
        result["baselineState"] = "new" if judged.new else "unchanged"
    justification = None
    if judged.waiver is not None:
        waiver = judged.waiver
        justification = f"{waiver.reason} (owner {waiver.owner}, expires {waiver.expires.isoformat()})"
    elif judged.suppression is not None:  # a VEX statement in the repository
        justification = f"{judged.suppression.reason} ({judged.suppression.source})"
    if justification is not None:
        result["suppressions"] = [{"kind": "external", "state": "accepted", "justification": justification}]
    return result


def _rule(placed: Placed) -> dict[str, JSON]:
    finding = placed.judged.finding
    rule: dict[str, JSON] = {
        "id": placed.rule_id,
        "shortDescription": {"text": f"{placed.gate}: {finding.rule}"},
        "defaultConfiguration": {"level": _LEVELS[finding.severity.value]},
        "properties": {"security-severity": _SECURITY_SEVERITY[finding.severity.value]},
    }
    if finding.help_uri is not None and finding.help_uri.startswith("https://"):
        rule["helpUri"] = finding.help_uri
    return rule


def _kept(placed: Sequence[Placed]) -> tuple[list[Placed], int]:
    """At most MAX_RESULTS_PER_RUN results: counted before not counted, most severe first."""
    if len(placed) <= MAX_RESULTS_PER_RUN:
        return list(placed), 0
    ranked = sorted(placed, key=lambda p: p.judged.sort_key())
    return ranked[:MAX_RESULTS_PER_RUN], len(placed) - MAX_RESULTS_PER_RUN


def _run(run: RunOf, placed: Sequence[Placed], verdict: Verdict) -> dict[str, JSON]:
    kept, omitted = _kept(placed)
    rules: dict[str, dict[str, JSON]] = {}
    for p in kept:
        rules.setdefault(p.rule_id, _rule(p))
    invocation: dict[str, JSON] = {"executionSuccessful": run.status is not Status.ERROR}
    notifications: list[JSON] = []
    if run.status is Status.ERROR:
        notifications.append({"level": "error", "message": {"text": run.reason}})
    properties: dict[str, JSON] = {"gate_status": run.status.value, "reason": run.reason}
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
                "name": f"gates-{run.label.replace('/', '-')}",
                "version": run.version or "unknown",
                "informationUri": "https://pypi.org/project/governance-gates/",
                "rules": [rules[k] for k in sorted(rules)],
                "properties": {"tool_versions": dict(run.tool_versions)},
            }
        },
        "automationDetails": {"id": f"gates/{run.label}/"},
        "originalUriBaseIds": {"SRCROOT": {"uri": "file:///" + verdict.subject.path.lstrip("/") + "/"}},
        "invocations": [invocation],
        "results": [_result(p, verdict) for p in kept],
        "properties": properties,
    }


def render(verdict: Verdict) -> str:
    gates = [g for g in verdict.gates if g.status is not Status.SKIPPED]
    runs = [
        (
            RunOf(g.label, g.status, g.reason, g.version, g.tool_versions),
            [Placed(g.label, j.finding.rule, j) for j in g.findings],
        )
        for g in gates
    ]
    if len(runs) > MAX_RUNS:
        # One run stands for the gates GitHub has no room for.
        rest = gates[MAX_RUNS - 1 :]
        combined = RunOf(
            "combined",
            Status.combine([g.status for g in rest]),
            "; ".join(f"{g.label}: {g.status.value}: {g.reason}" for g in rest),
            None,
            {k: v for g in rest for k, v in g.tool_versions.items()},
        )
        placed = [Placed(g.label, f"{g.label}/{j.finding.rule}", j) for g in rest for j in g.findings]
        runs = [*runs[: MAX_RUNS - 1], (combined, placed)]
    document: dict[str, JSON] = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [_run(run, placed, verdict) for run, placed in runs],
    }
    changes = DeltaView.of(verdict)
    if changes is not None:
        document["properties"] = {"delta": {"summary": changes.summary, **changes.delta.to_json()}}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
