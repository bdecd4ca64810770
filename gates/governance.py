"""The waiver ledger and what it does to the verdict: pure, the clock is given (`today`).

Kept apart from the engine so that `gates merge`, which decides again for merged ledgers, and
`gates waivers` use the same rules without evaluating any gate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gates.model import JSON, Finding, Status
from gates.policy.model import Governance, Waiver

LEDGER_STATUSES = ("expired", "too_long", "unused", "expiring", "active", "not_evaluated")
"""Most telling first: when verdicts are merged, a waiver takes the first status any part gave it."""
_IN_FORCE = ("expiring", "active")


@dataclass(frozen=True)
class LedgerEntry:
    """A waiver of the policy with what this run made of it."""

    waiver: Waiver
    status: str
    """One of LEDGER_STATUSES."""
    matched: int | None
    """How many findings it matched; None in a policy's ledger, where nothing ran (`gates waivers`)."""

    def to_json(self) -> dict[str, JSON]:
        return {**self.waiver.to_json(), "status": self.status, "matched": self.matched}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LedgerEntry:
        return cls(Waiver.from_json(data), data["status"], data["matched"])


@dataclass(frozen=True)
class GovernanceResult:
    """What the waiver ledger does to the verdict (stale, unused, over-long waivers)."""

    status: Status
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {"status": self.status.value, "reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GovernanceResult:
        return cls(Status(data["status"]), tuple(data["reasons"]))


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
    waivers: Sequence[Waiver],
    findings: Sequence[Finding],
    ran: Collection[str],
    governance: Governance,
    today: dt.date,
) -> list[LedgerEntry]:
    """Every waiver with its status and how many of `findings` it matched. A waiver in force whose
    gate ran (is in `ran`) and matched nothing is `unused`; one whose gate did not run here (out of
    `--only` scope, errored, off) is `not_evaluated`, since nothing can be said of it."""
    ledger = []
    for waiver in waivers:
        matched = sum(1 for f in findings if waiver.applies_to(f))
        status = waiver_date_status(waiver, governance, today)
        if status in _IN_FORCE and waiver.gate in ran and matched == 0:
            status = "unused"
        elif status == "active" and waiver.gate not in ran:
            status = "not_evaluated"
        ledger.append(LedgerEntry(waiver, status, matched))
    return ledger


def assess(ledger: Sequence[LedgerEntry], governance: Governance) -> GovernanceResult:
    """What the waiver ledger does to the verdict: stale or over-long waivers warn, unused ones
    warn, fail or are ignored as the policy says."""
    worst, reasons = Status.PASS, []
    for entry in ledger:
        waiver = entry.waiver
        what = f"waiver {waiver.gate} {waiver.rule} ({waiver.source or 'no source'})"
        expires = waiver.expires.isoformat()
        status, why = {
            "expired": (Status.WARN, f"expired on {expires}: renew or remove it"),
            "too_long": (
                Status.WARN,
                f"expires {expires}, more than {governance.max_waiver_days} days ahead: not applied",
            ),
            "expiring": (Status.WARN, f"expires on {expires}"),
            "unused": (
                Status(governance.unused_waivers) if governance.unused_waivers != "ignore" else Status.PASS,
                "matched no finding: remove it",
            ),
        }.get(entry.status, (Status.PASS, ""))
        if status is not Status.PASS:
            worst = Status.combine([worst, status])
            reasons.append(f"{what} {why}")
    return GovernanceResult(worst, tuple(reasons))
