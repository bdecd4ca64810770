"""Evaluating collected findings under a policy: pure, no I/O, no clock (`today` is given).

This is what lets one CI job decide for findings other jobs collected, and a policy change be
re-evaluated without re-scanning.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gates.model import JSON, SEVERITIES, Collection, Finding, Severity, Status
from gates.plugins.interface import Gate
from gates.plugins.registry import Registry
from gates.policy.model import Governance, Policy, Waiver
from gates.util.files import UNREAD_REASONS, path_selected

SUPPRESSION_PROPERTY = "suppressed_by"
"""A gate's `evaluate` may attest in this finding property that evidence in the repository (a VEX
statement) suppresses the finding; the engine records it like a waiver and does not count it."""


DECIDES_PROPERTY = "decides"
"""A gate's `evaluate` may set this finding property to "warn" or "fail" when one of its own policy
keys says what such a finding does to the gate (licence `unknown: warn`): counted, the finding warns
or fails the gate whatever its severity and the thresholds."""


@dataclass(frozen=True)
class JudgedFinding:
    finding: Finding
    new: bool
    waiver: Waiver | None
    counted: bool
    suppression: Mapping[str, JSON] | None = None
    """Evidence a gate attested (see SUPPRESSION_PROPERTY); a policy waiver takes precedence."""

    @property
    def waived(self) -> bool:
        return self.waiver is not None or self.suppression is not None

    def to_json(self) -> dict[str, JSON]:
        data = self.finding.to_json()
        del data["gate"]
        data["new"] = self.new
        data["counted"] = self.counted
        data["waived"] = self.waiver.to_json() if self.waiver is not None else self.suppression
        return data


def _attested(finding: Finding) -> tuple[Finding, Mapping[str, JSON] | None]:
    """The finding without its attested suppression, and that suppression."""
    if SUPPRESSION_PROPERTY not in finding.properties:
        return finding, None
    rest = {k: v for k, v in finding.properties.items() if k != SUPPRESSION_PROPERTY}
    return replace(finding, properties=rest), finding.properties[SUPPRESSION_PROPERTY]


@dataclass(frozen=True)
class GateOutcome:
    name: str
    mode: str
    status: Status
    reason: str
    findings: tuple[JudgedFinding, ...]
    collection: Collection | None

    def counts(self) -> dict[str, JSON]:
        counted = Counter(j.finding.severity.value for j in self.findings if j.counted)
        return {
            "total": len(self.findings),
            "counted": sum(counted.values()),
            "new": sum(1 for j in self.findings if j.new),
            "waived": sum(1 for j in self.findings if j.waived),
            "by_severity": {s: counted.get(s, 0) for s in SEVERITIES},
        }


def _threshold(value: str) -> Severity | None:
    return None if value == "none" else Severity(value)


def _decide(counted: Sequence[Finding], settings: Mapping[str, Any]) -> tuple[Status, str]:
    reasons: list[str] = []
    fail_on = _threshold(settings["fail_on"])
    if fail_on is not None:
        at_or_above = [f for f in counted if f.severity.at_least(fail_on)]
        if at_or_above:
            reasons.append(f"{len(at_or_above)} finding(s) at or above {fail_on.value}")
    by_severity = Counter(f.severity.value for f in counted)
    for severity, limit in sorted(settings["max_findings"].items()):
        if by_severity[severity] > limit:
            reasons.append(f"{by_severity[severity]} {severity} finding(s), at most {limit} allowed")
    decided = Counter(f.properties.get(DECIDES_PROPERTY) for f in counted)
    if decided["fail"]:
        reasons.append(f"{decided['fail']} finding(s) the gate's policy makes fail")
    if reasons:
        return Status.FAIL, "; ".join(reasons)
    warn_on = _threshold(settings["warn_on"])
    if warn_on is not None:
        warned = [f for f in counted if f.severity.at_least(warn_on)]
        if warned:
            return Status.WARN, f"{len(warned)} finding(s) at or above {warn_on.value}"
    if decided["warn"]:
        return Status.WARN, f"{decided['warn']} finding(s) the gate's policy makes warn"
    return Status.PASS, f"{len(counted)} finding(s) counted, none over the thresholds"


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


def evaluate_gate(
    name: str,
    settings: Mapping[str, Any],
    collection: Collection | None,
    registry: Registry,
    waivers: Sequence[Waiver],
    baseline: Mapping[str, frozenset[str]] | None,
) -> GateOutcome:
    """One gate's outcome; `waivers` are those in force today (see `in_force`)."""
    mode = settings["mode"]

    def outcome(status: Status, reason: str, judged: Sequence[JudgedFinding] = ()) -> GateOutcome:
        return GateOutcome(name, mode, status, reason, tuple(judged), collection)

    if mode == "off":
        if settings["required"]:
            return outcome(Status.ERROR, "required gate did not run: mode is off (fail closed)")
        return outcome(Status.SKIPPED, "mode is off")
    if collection is None:
        required = "required gate " if settings["required"] else "the gate "
        return outcome(Status.ERROR, f"no result: {required}did not run (fail closed)")
    if collection.error is not None:
        return outcome(Status.ERROR, collection.error)
    gate = registry.gates.get(name)
    if gate is None:
        why = registry.broken.get(name, "not installed")
        return outcome(Status.ERROR, f"cannot evaluate: gate plugin {why}")
    kept = gate.evaluate(collection.findings, settings)
    return judge_gate(name, settings, collection, kept, waivers, baseline)


def judge_gate(
    name: str,
    settings: Mapping[str, Any],
    collection: Collection | None,
    kept: Sequence[Finding],
    waivers: Sequence[Waiver],
    baseline: Mapping[str, frozenset[str]] | None,
    stats: Mapping[str, Any] | None = None,
) -> GateOutcome:
    """The engine's part of a gate's outcome, from the findings its `evaluate` kept: path globs,
    waivers and attested suppressions, new or known, thresholds, unread files (`stats`, else the
    collection's), mode. `gates verify` judges a verdict's findings again with it."""
    mode = settings["mode"]
    kept = in_policy_paths(kept, settings)
    known = baseline.get(name, frozenset()) if baseline is not None else None
    judged = []
    for finding in sorted(kept, key=Finding.sort_key):
        finding, suppression = _attested(finding)
        waiver = next((w for w in waivers if w.applies_to(finding)), None)
        new = known is None or finding.fingerprint not in known
        counted = waiver is None and suppression is None and (new or not settings["new_only"])
        judged.append(JudgedFinding(finding, new, waiver, counted, suppression))
    status, reason = _decide([j.finding for j in judged if j.counted], settings)
    if stats is None:
        stats = collection.stats if collection is not None else {}
    status, reason = _with_unread(status, reason, stats, settings["skipped_files"])
    if status is Status.FAIL and mode == "warn":
        status, reason = Status.WARN, f"{reason} (mode warn)"
    return GateOutcome(name, mode, status, reason, tuple(judged), collection)


LEDGER_STATUSES = ("expired", "too_long", "unused", "expiring", "active", "not_evaluated")
"""Most telling first: when verdicts are merged, a waiver takes the first status any part gave it."""
_IN_FORCE = ("expiring", "active")


def waiver_date_status(waiver: Waiver, governance: Governance, today: dt.date) -> str:
    """What the calendar alone says: expired, too_long (further ahead than the policy allows,
    so not applied), expiring (within `expiring_within_days`) or active."""
    days_left = (waiver.expires - today).days
    if waiver.expired(today):
        return "expired"
    if governance.max_waiver_days is not None and days_left > governance.max_waiver_days:
        return "too_long"
    return "expiring" if days_left <= governance.expiring_within_days else "active"


def in_force(waivers: Sequence[Waiver], governance: Governance, today: dt.date) -> list[Waiver]:
    return [w for w in waivers if waiver_date_status(w, governance, today) in _IN_FORCE]


def waiver_ledger(
    waivers: Sequence[Waiver], outcomes: Sequence[GateOutcome], governance: Governance, today: dt.date
) -> list[dict[str, JSON]]:
    """Every waiver with its status and how many findings it matched. A waiver in force whose gate
    ran and matched nothing is `unused`; one whose gate did not run here (out of `--only` scope,
    errored, off) is `not_evaluated`, since nothing can be said of it."""
    ran = {o.name for o in outcomes if o.status not in (Status.SKIPPED, Status.ERROR)}
    ledger = []
    for waiver in waivers:
        matched = sum(1 for o in outcomes for j in o.findings if waiver.applies_to(j.finding))
        status = waiver_date_status(waiver, governance, today)
        if status in _IN_FORCE and waiver.gate in ran and matched == 0:
            status = "unused"
        elif status == "active" and waiver.gate not in ran:
            status = "not_evaluated"
        ledger.append({**waiver.to_json(), "status": status, "matched": matched})
    return ledger


def assess_governance(
    ledger: Sequence[Mapping[str, Any]], governance: Governance
) -> tuple[Status, list[str]]:
    """What the waiver ledger does to the verdict: stale or over-long waivers warn, unused ones
    warn, fail or are ignored as the policy says. Kept apart from the gates, which stay pure."""
    worst, reasons = Status.PASS, []
    for entry in ledger:
        what = f"waiver {entry['gate']} {entry['rule']} ({entry['source'] or 'no source'})"
        status, why = {
            "expired": (Status.WARN, f"expired on {entry['expires']}: renew or remove it"),
            "too_long": (
                Status.WARN,
                f"expires {entry['expires']}, more than {governance.max_waiver_days} days ahead: not applied",
            ),
            "expiring": (Status.WARN, f"expires on {entry['expires']}"),
            "unused": (
                Status(governance.unused_waivers) if governance.unused_waivers != "ignore" else Status.PASS,
                "matched no finding: remove it",
            ),
        }.get(entry["status"], (Status.PASS, ""))
        if status is not Status.PASS:
            worst = Status.combine([worst, status])
            reasons.append(f"{what} {why}")
    return worst, reasons


def evaluate(
    policy: Policy,
    collections: Sequence[Collection],
    registry: Registry,
    today: dt.date,
    baseline: Mapping[str, frozenset[str]] | None = None,
    scope: Sequence[str] | None = None,
) -> tuple[list[GateOutcome], list[dict[str, JSON]]]:
    """Outcomes for the policy's gates (those in `scope` when given) and the waiver ledger."""
    by_gate = {c.gate: c for c in collections}
    registry = registry.bind(policy.instances())
    names = sorted(scope) if scope is not None else sorted(policy.gates)
    waivers = in_force(policy.waivers, policy.governance, today)
    outcomes = [
        evaluate_gate(name, policy.gates[name], by_gate.get(name), registry, waivers, baseline)
        for name in names
    ]
    return outcomes, waiver_ledger(policy.waivers, outcomes, policy.governance, today)
