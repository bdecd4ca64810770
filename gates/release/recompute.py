"""A verdict judged again from its own findings, so that an unsigned one cannot claim more than
they show.

Evaluation is pure: each gate's status, reason and counts and the waiver ledger follow from the
findings the gate kept, under the policy and on the day the verdict was made. `gates verify`
judges the verdict's findings again with the policy at HEAD (`evaluate.judge_gate`, the engine's
own step) and refuses any difference: a status flipped to pass, a finding marked waived or not
counted, an edited or dropped ledger. Taken as recorded, since only the collecting run knew them:
which findings the gate kept (dropped findings are what signing defends against), whether each was
new against the baseline, and suppressions a gate attested from repository evidence (VEX).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from gates import verdict as verdicts
from gates.engine.evaluate import (
    SUPPRESSION_PROPERTY,
    GateOutcome,
    assess_governance,
    in_force,
    judge_gate,
    waiver_ledger,
)
from gates.model import Finding, Status
from gates.policy.model import Policy


def _kept(name: str, findings: Sequence[Mapping[str, Any]], vex: bool) -> list[Finding]:
    """The verdict's findings as the gate kept them; a VEX suppression is taken as recorded only on
    a gate that reads VEX documents (`vex`), so no other gate's findings can be waived by one."""
    kept = []
    for data in findings:
        finding = Finding.from_json({**data, "gate": name})
        waived = data.get("waived")
        if vex and isinstance(waived, dict) and waived.get("kind") == "vex":
            finding = Finding.from_json(
                {**data, "gate": name, "properties": {**data["properties"], SUPPRESSION_PROPERTY: waived}}
            )
        kept.append(finding)
    return kept


def _judged(
    entry: Mapping[str, Any], scope: Policy, today: dt.date, baseline: bool
) -> tuple[GateOutcome, str | None]:
    """The entry judged again, and why it differs from what the verdict says (None: it agrees)."""
    name, label = entry["name"], verdicts.gate_label(entry)
    settings = scope.gates.get(name)
    recorded = Status(entry["status"])
    if recorded is Status.ERROR:  # blocks a release whatever else it says
        return GateOutcome(name, entry["mode"], recorded, entry["reason"], (), None), None
    if settings is None:
        return GateOutcome(name, entry["mode"], recorded, entry["reason"], (), None), (
            f"the verdict's gate {label} is not in the policy"
        )
    if recorded is Status.SKIPPED:
        off = settings["mode"] == "off" and not settings["required"]
        outcome = GateOutcome(name, entry["mode"], recorded, entry["reason"], (), None)
        why = None if off else f"the verdict says {label} was skipped, but the policy runs it (edited?)"
        return outcome, why
    old = frozenset(f["fingerprint"] for f in entry["findings"] if not f["new"])
    known = {name: old} if baseline else None
    waivers = in_force(scope.waivers, scope.governance, today)
    reads_vex = scope.instances().get(name, name) == "vulnerabilities"
    kept = _kept(name, entry["findings"], reads_vex)
    outcome = judge_gate(name, settings, None, kept, waivers, known, entry.get("stats", {}))
    claimed = (entry["status"], entry["reason"], entry["counts"])
    if claimed != (outcome.status.value, outcome.reason, outcome.counts()):
        return outcome, (
            f"the verdict says {label} is {entry['status']} ({entry['reason']}), but its findings under "
            f"the policy make it {outcome.status.value} ({outcome.reason}) (edited?)"
        )
    return outcome, None


def _canonical(ledger: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted(json.dumps(entry, sort_keys=True) for entry in ledger)


def differences(verdict: Mapping[str, Any], policy: Policy) -> list[str]:
    """Why the verdict's statuses or ledger are not what its findings make them (empty: they are)."""
    top = policy.top_level()
    today = dt.date.fromisoformat(verdict["started_at"][:10])
    baseline = verdict["baseline"] is not None
    by_scope: dict[str | None, list[GateOutcome]] = {None: [], **{p.name: [] for p in top.projects}}
    reasons = []
    for entry in verdict["gates"]:
        project = entry.get("project")
        if project not in by_scope:
            reasons.append(f"the verdict's gate {verdicts.gate_label(entry)} is in no project of the policy")
            continue
        outcome, why = _judged(entry, top.scoped(project), today, baseline)
        by_scope[project].append(outcome)
        if why is not None:
            reasons.append(why)
    scopes = by_scope if top.projects else {None: by_scope[None]}
    ledgers = []
    for project, outcomes in scopes.items():
        scope = top.scoped(project)
        ledgers.append(waiver_ledger(scope.waivers, outcomes, scope.governance, today))
    ledger = ledgers[0] if len(ledgers) == 1 else verdicts.merge_ledgers(ledgers)
    if _canonical(ledger) != _canonical(verdict["waivers"]):
        reasons.append("the verdict's waiver ledger is not what its findings and the policy's waivers make")
    governance, _ = assess_governance(ledger, top.governance)
    if verdict.get("governance", {}).get("status", governance.value) != governance.value:
        reasons.append(
            f"the verdict's waiver governance says {verdict['governance']['status']}, "
            f"its ledger makes it {governance.value} (edited?)"
        )
    return reasons
