"""Policy keys that say what a kind of finding does to its gate: `ignore | warn | fail`.

Licence `unknown`, the release delta's `new_components`, `downgrades`, `category_changes`,
`introduced` and `disclosed`, and fixed decisions such as `notices-outdated` (fail) or
`licence-coverage` (warn) all take one path, in two pure steps:

1. the gate's `evaluate` passes such a finding through `decide`: `ignore` drops it; `warn` and
   `fail` mark it with the decision (`Finding.decides`);
2. the engine (`status`, used by gates.engine.evaluate) gives a counted, marked finding exactly
   its decision: `fail` fails the gate and `warn` warns it, whatever its severity; `fail_on` and
   `max_findings` judge only the findings no key decides, so a `warn` never fails the gate.

A record with no severity of its own (a new component, a changed licence category) is shown at the
severity its decision meets under the gate's thresholds; a finding with one (an advisory, a licence
no source knows) keeps it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gates.model import Decides, Finding, Severity, Status

CHOICES = ("ignore", "warn", "fail")
"""A key's values, from the most lenient to the strictest."""

COMPONENT_KEYS = ("new_components", "downgrades", "category_changes")
"""The keys that judge component changes since a release: only a baseline whose signature
verified proves what that release shipped."""


def strictest(choices: Iterable[str]) -> str:
    return max(choices, key=CHOICES.index, default="ignore")


def _threshold(value: str) -> Severity | None:
    return None if value == "none" else Severity(value)


def shown_severity(choice: str, settings: Mapping[str, Any]) -> Severity:
    """The severity a record decided `choice` is shown at: `fail` at `fail_on` (critical when the
    gate fails on nothing), `warn` at `warn_on` kept below `fail_on`."""
    fail_on = _threshold(settings["fail_on"])
    if choice == "fail":
        return fail_on or Severity.CRITICAL
    below_fail = list(Severity)[: fail_on.rank] if fail_on is not None else list(Severity)
    if not below_fail:  # fail_on: info leaves no severity below it
        return Severity.INFO
    warn_on = _threshold(settings["warn_on"])
    return warn_on if warn_on in below_fail else below_fail[-1]


def decide(
    finding: Finding, choice: str, *, key: str | None = None, shown_at: Mapping[str, Any] | None = None
) -> Finding | None:
    """The finding as a policy choice makes it: None for `ignore` (it does not count); for `warn`
    and `fail`, marked so that the engine warns or fails the gate on it. `key` names the policy key
    in its message; `shown_at` (the gate's settings) gives a record without a severity of its own
    the severity its decision meets."""
    if choice == "ignore":
        return None
    if choice not in CHOICES:
        raise ValueError(f"not a decision: {choice!r}")
    return replace(
        finding,
        severity=shown_severity(choice, shown_at) if shown_at is not None else finding.severity,
        message=f"{finding.message} ({key}: {choice})" if key else finding.message,
        decides=Decides(choice),
    )


def status(counted: Sequence[Finding], settings: Mapping[str, Any]) -> tuple[Status, str]:
    """A gate's status from its counted findings: decided ones by their decision, the others by
    the thresholds (`warn_on` sees both: a decided finding warns at the least)."""
    judged = [f for f in counted if f.decides is None]
    decided = Counter(f.decides for f in counted if f.decides is not None)
    reasons: list[str] = []
    fail_on = _threshold(settings["fail_on"])
    if fail_on is not None:
        at_or_above = [f for f in judged if f.severity.at_least(fail_on)]
        if at_or_above:
            reasons.append(f"{len(at_or_above)} finding(s) at or above {fail_on.value}")
    by_severity = Counter(f.severity.value for f in judged)
    for severity, limit in sorted(settings["max_findings"].items()):
        if by_severity[severity] > limit:
            reasons.append(f"{by_severity[severity]} {severity} finding(s), at most {limit} allowed")
    if decided[Decides.FAIL]:
        reasons.append(f"{decided[Decides.FAIL]} finding(s) the gate's policy makes fail")
    if reasons:
        return Status.FAIL, "; ".join(reasons)
    warn_on = _threshold(settings["warn_on"])
    if warn_on is not None:
        warned = [f for f in counted if f.severity.at_least(warn_on)]
        if warned:
            return Status.WARN, f"{len(warned)} finding(s) at or above {warn_on.value}"
    if decided[Decides.WARN]:
        return Status.WARN, f"{decided[Decides.WARN]} finding(s) the gate's policy makes warn"
    return Status.PASS, f"{len(counted)} finding(s) counted, none over the thresholds"
