"""A verdict judged again from its own findings, so that an unsigned one cannot claim more than
they show.

Evaluation is pure: each gate's status, reason and counts and the waiver ledger follow from the
findings the gate kept, under the policy and on the day the verdict was made. `gates verify`
judges the verdict's findings again with the policy at HEAD (`evaluate.judge_gate`, the engine's
own step) and refuses any difference: a status flipped to pass, a finding marked waived or not
counted, an edited or dropped ledger. Taken as recorded, since only the collecting run knew them:
which findings the gate kept (dropped findings are what signing defends against), whether each was
new against the baseline, whether an advisory was introduced or disclosed since the previous
release, and suppressions a gate attested from repository evidence (VEX).

An unsigned verdict cannot prove its baseline: anyone can mark findings known or advisories
disclosed. So its delta claims may not decide the release: each gate is also judged with every
finding new and every advisory judged in full, and a gate that only passes thanks to those claims
refuses the unsigned verdict. A signed one keeps them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gates import decision
from gates import verdict as verdicts
from gates.engine.evaluate import judge_gate
from gates.governance import LedgerEntry, assess, in_force, waiver_ledger
from gates.model import DELTA_PROPERTY, Finding, Status
from gates.policy.model import Policy, Waiver
from gates.verdict import GateResult, Verdict

_BLOCKS = (Status.FAIL, Status.ERROR)


def _relaxed_advisories(recorded: GateResult, settings: Mapping[str, Any]) -> dict[str, int]:
    """Advisories the release delta marked introduced or disclosed (in the findings, or counted in
    the gate's stats where `ignore` left them out) under a policy choice other than `fail`."""
    marked = Counter(str(j.finding.delta_mark) for j in recorded.findings)
    stats = recorded.stats.get(DELTA_PROPERTY)
    counted = stats if isinstance(stats, Mapping) else {}
    relaxed = {}
    for kind in ("introduced", "disclosed"):
        stated = counted.get(kind)
        number = max(marked[kind], stated if isinstance(stated, int) else 0)
        if number and settings.get(kind, "fail") != "fail":
            relaxed[kind] = number
    return relaxed


def _unproven(
    recorded: GateResult,
    settings: Mapping[str, Any],
    kept: Sequence[Finding],
    waivers: Sequence[Waiver],
    result: GateResult,
) -> str | None:
    """Why an unsigned verdict's gate passes only on claims about its baseline (None: it does not).
    Findings marked known are judged new; advisories the release delta relaxes are refused."""
    label = recorded.label
    relaxed = _relaxed_advisories(recorded, settings)
    if relaxed:
        marks = ", ".join(f"{n} {kind}" for kind, n in sorted(relaxed.items()))
        return (
            f"{label} relaxes advisories as the release delta marks them ({marks}); an unsigned verdict, "
            f"or one compared with an unsigned baseline, cannot prove that delta: sign the verdict and "
            f"the release it is compared with, or judge them in full (fail)"
        )
    if all(j.new for j in recorded.findings):
        return None
    strict = judge_gate(recorded.name, settings, None, kept, waivers, None, recorded.project, recorded.stats)
    if strict.status not in _BLOCKS:
        return None
    return (
        f"{label} is {result.status.value} only because the verdict marks findings known to its "
        f"baseline; an unsigned verdict (or an unsigned baseline) cannot prove that, and with every "
        f"finding new it is {strict.status.value} ({strict.reason}): sign the verdict and its baseline"
    )


def _unproven_components(label: str, settings: Mapping[str, Any]) -> str | None:
    """Why an unproven baseline may not decide a gate that judges component changes: a pushed note
    whose inventory already lists every component hides them all, and nothing shows it."""
    judging = [
        f"{key}: {settings[key]}"
        for key in decision.COMPONENT_KEYS
        if settings.get(key, "ignore") != "ignore"
    ]
    if not judging:
        return None
    return (
        f"{label} judges the components changed since the release it was compared with "
        f"({', '.join(judging)}); an unsigned verdict, or one compared with an unsigned baseline, "
        f"cannot prove what that release shipped: sign the verdict and the release it is compared with"
    )


def _judged(
    recorded: GateResult,
    claimed_counts: object,
    scope: Policy,
    today: dt.date,
    baseline: bool,
    signed: bool = True,
    compared: bool = False,
) -> tuple[GateResult, str | None]:
    """The gate judged again, and why it differs from what the verdict says (None: it agrees).
    `claimed_counts` are the counts the document records for it; `compared`: the run was compared
    with a release's inventory."""
    name, label = recorded.name, recorded.label
    settings = scope.gates.get(name)
    unjudged = replace(recorded, findings=())
    if recorded.status is Status.ERROR:  # blocks a release whatever else it says
        return unjudged, None
    if settings is None:
        return unjudged, f"the verdict's gate {label} is not in the policy"
    if recorded.status is Status.SKIPPED:
        off = settings["mode"] == "off" and not settings["required"]
        why = None if off else f"the verdict says {label} was skipped, but the policy runs it (edited?)"
        return unjudged, why
    old = frozenset(j.finding.fingerprint for j in recorded.findings if not j.new)
    known = {name: old} if baseline else None
    waivers = in_force(scope.waivers, scope.governance, today)
    # What the gate kept, with the suppressions it attested as it attested them; a VEX suppression is
    # taken as recorded only on a gate that reads VEX documents, so no other gate's findings can be
    # waived by one.
    reads_vex = scope.instances().get(name, name) == "vulnerabilities"
    kept = [replace(j.finding, suppression=j.suppression if reads_vex else None) for j in recorded.findings]
    result = judge_gate(name, settings, None, kept, waivers, known, recorded.project, recorded.stats)
    claimed = (recorded.status, recorded.reason, claimed_counts)
    if claimed != (result.status, result.reason, result.counts.to_json()):
        return result, (
            f"the verdict says {label} is {recorded.status} ({recorded.reason}), but its findings under "
            f"the policy make it {result.status} ({result.reason}) (edited?)"
        )
    if not signed and result.status not in _BLOCKS:
        return result, _unproven(recorded, settings, kept, waivers, result) or (
            _unproven_components(label, settings) if compared else None
        )
    return result, None


def _canonical(ledger: Sequence[LedgerEntry]) -> list[str]:
    return sorted(json.dumps(entry.to_json(), sort_keys=True) for entry in ledger)


def differences(
    verdict: Verdict, document: Mapping[str, Any], policy: Policy, signed: bool = True
) -> list[str]:
    """Why the verdict's statuses or ledger are not what its findings make them (empty: they are).
    `document` is the verdict as given, whose recorded counts are compared too; unless `signed`,
    its baseline and release-delta claims may not turn a gate from blocking to passing."""
    top = policy.top_level()
    today = verdict.started_at.date()
    baseline = verdict.baseline is not None
    compared = verdict.delta is not None and verdict.delta.components is not None
    by_scope: dict[str | None, list[GateResult]] = {None: [], **{p.name: [] for p in top.projects}}
    reasons = []
    for recorded, entry in zip(verdict.gates, document["gates"], strict=True):
        if recorded.project not in by_scope:
            reasons.append(f"the verdict's gate {recorded.label} is in no project of the policy")
            continue
        result, why = _judged(
            recorded, entry["counts"], top.scoped(recorded.project), today, baseline, signed, compared
        )
        by_scope[recorded.project].append(result)
        if why is not None:
            reasons.append(why)
    scopes = by_scope if top.projects else {None: by_scope[None]}
    ledgers = []
    for project, results in scopes.items():
        scope = top.scoped(project)
        ran = {r.name for r in results if r.status not in (Status.SKIPPED, Status.ERROR)}
        findings = [j.finding for r in results for j in r.findings]
        ledgers.append(waiver_ledger(scope.waivers, findings, ran, scope.governance, today))
    ledger = ledgers[0] if len(ledgers) == 1 else verdicts.merge_ledgers(ledgers)
    if _canonical(ledger) != _canonical(verdict.waivers):
        reasons.append("the verdict's waiver ledger is not what its findings and the policy's waivers make")
    governance = assess(ledger, top.governance).status
    if verdict.governance is not None and verdict.governance.status is not governance:
        reasons.append(
            f"the verdict's waiver governance says {verdict.governance.status}, "
            f"its ledger makes it {governance} (edited?)"
        )
    return reasons
