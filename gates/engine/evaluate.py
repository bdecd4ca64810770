"""Evaluating collected findings under a policy: pure, no I/O, no clock (`today` is given).

This is what lets one CI job decide for findings other jobs collected, and a policy change be
re-evaluated without re-scanning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gates.decision import status as decided_status
from gates.governance import GovernanceResult, LedgerEntry, assess, in_force, waiver_ledger
from gates.model import Collection, Finding, Status
from gates.plugins.interface import Gate
from gates.plugins.registry import Registry
from gates.policy.model import Policy, Waiver
from gates.util.files import UNREAD_REASONS, path_selected
from gates.verdict import GateResult, JudgedFinding


@dataclass(frozen=True)
class Assessment:
    """Everything the policy decided for a set of collections: what a verdict records."""

    gates: tuple[GateResult, ...]
    ledger: tuple[LedgerEntry, ...]
    governance: GovernanceResult


def in_policy_paths(findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
    """The findings within the gate's `include` and outside its `exclude` (unlocated ones stay)."""
    return [
        f
        for f in findings
        if f.location.path is None or path_selected(f.location.path, settings["include"], settings["exclude"])
    ]


def kept_findings(gate: Gate, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
    """What the gate makes of its collected records under its settings (an inventory record or an
    inline-marked result is no finding) within the policy's paths: the findings a verdict counts."""
    return in_policy_paths(gate.evaluate(findings, settings), settings)


def _with_unread(status: Status, reason: str, stats: Mapping[str, Any], policy: str) -> tuple[Status, str]:
    """The status once the files the gate could not read count as `policy` (ignore, warn, fail)
    says: a secret in a file over the size limit must not pass unseen."""
    skipped = stats.get("skipped")
    skipped = skipped if isinstance(skipped, dict) else {}
    unread = {r: n for r, n in skipped.items() if r in UNREAD_REASONS and n}
    if policy == "ignore" or not unread:
        return status, reason
    raised = Status.combine([status, Status.FAIL if policy == "fail" else Status.WARN])
    listed = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in sorted(unread.items()))
    return raised, f"{reason}; {sum(unread.values())} file(s) not read ({listed})"


def _result(
    name: str,
    mode: str,
    status: Status,
    reason: str,
    collection: Collection | None,
    project: str | None,
    judged: Sequence[JudgedFinding] = (),
) -> GateResult:
    if collection is None:
        return GateResult(name, mode, status, reason, tuple(judged), project=project)
    return GateResult(
        name,
        mode,
        status,
        reason,
        tuple(judged),
        version=collection.gate_version,
        tool_versions=collection.tool_versions,
        duration_s=round(collection.duration_s, 3),
        cached=collection.cached,
        stats=collection.stats,
        project=project,
    )


def evaluate_gate(
    name: str,
    settings: Mapping[str, Any],
    collection: Collection | None,
    registry: Registry,
    waivers: Sequence[Waiver],
    baseline: Mapping[str, frozenset[str]] | None,
    project: str | None = None,
) -> GateResult:
    """One gate's result; `waivers` are those in force today (see `in_force`)."""
    mode = settings["mode"]

    def result(status: Status, reason: str) -> GateResult:
        return _result(name, mode, status, reason, collection, project)

    if mode == "off":
        if settings["required"]:
            return result(Status.ERROR, "required gate did not run: mode is off (fail closed)")
        return result(Status.SKIPPED, "mode is off")
    if collection is None:
        required = "required gate " if settings["required"] else "the gate "
        return result(Status.ERROR, f"no result: {required}did not run (fail closed)")
    if collection.error is not None:
        return result(Status.ERROR, collection.error)
    gate = registry.gates.get(name)
    if gate is None:
        why = registry.broken.get(name, "not installed")
        return result(Status.ERROR, f"cannot evaluate: gate plugin {why}")
    kept = gate.evaluate(collection.findings, settings)
    return judge_gate(name, settings, collection, kept, waivers, baseline, project)


def judge_gate(
    name: str,
    settings: Mapping[str, Any],
    collection: Collection | None,
    kept: Sequence[Finding],
    waivers: Sequence[Waiver],
    baseline: Mapping[str, frozenset[str]] | None,
    project: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> GateResult:
    """The engine's part of a gate's result, from the findings its `evaluate` kept: path globs,
    waivers and attested suppressions, new or known, thresholds, unread files (`stats`, else the
    collection's), mode. `gates verify` judges a verdict's findings again with it."""
    mode = settings["mode"]
    kept = in_policy_paths(kept, settings)
    known = baseline.get(name, frozenset()) if baseline is not None else None
    judged = []
    for finding in sorted(kept, key=Finding.sort_key):
        # A suppression the gate attested (a VEX statement) is recorded like a waiver.
        suppression = finding.suppression
        if suppression is not None:
            finding = replace(finding, suppression=None)
        waiver = next((w for w in waivers if w.applies_to(finding)), None)
        new = known is None or finding.fingerprint not in known
        counted = waiver is None and suppression is None and (new or not settings["new_only"])
        judged.append(JudgedFinding(finding, new, counted, waiver, suppression if waiver is None else None))
    status, reason = decided_status([j.finding for j in judged if j.counted], settings)
    if stats is None:
        stats = collection.stats if collection is not None else {}
    status, reason = _with_unread(status, reason, stats, settings["skipped_files"])
    if status is Status.FAIL and mode == "warn":
        status, reason = Status.WARN, f"{reason} (mode warn)"
    return _result(name, mode, status, reason, collection, project, judged)


def evaluate(
    policy: Policy,
    collections: Sequence[Collection],
    registry: Registry,
    today: dt.date,
    baseline: Mapping[str, frozenset[str]] | None = None,
    scope: Sequence[str] | None = None,
) -> Assessment:
    """Results for the policy's gates (those in `scope` when given), the waiver ledger and what
    the ledger does to the verdict."""
    by_gate = {c.gate: c for c in collections}
    registry = registry.bind(policy.instances())
    names = sorted(scope) if scope is not None else sorted(policy.gates)
    waivers = in_force(policy.waivers, policy.governance, today)
    project = policy.project.name if policy.project is not None else None
    results = tuple(
        evaluate_gate(name, policy.gates[name], by_gate.get(name), registry, waivers, baseline, project)
        for name in names
    )
    ran = {r.name for r in results if r.status not in (Status.SKIPPED, Status.ERROR)}
    findings = [j.finding for r in results for j in r.findings]
    ledger = tuple(waiver_ledger(policy.waivers, findings, ran, policy.governance, today))
    return Assessment(results, ledger, assess(ledger, policy.governance))
