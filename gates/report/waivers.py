"""Waiver expiry as the reports show it: counted from when the verdict ran, never from the wall
clock, so the same verdict always renders the same report."""

from __future__ import annotations

from dataclasses import dataclass

from gates.governance import LedgerEntry
from gates.verdict import Verdict

EXPIRING_WITHIN_DAYS = 30
"""The window when the verdict does not record the policy's `governance.expiring_within_days`."""


@dataclass(frozen=True)
class WaiverExpiry:
    entry: LedgerEntry
    days_left: int
    expired: bool
    expiring: bool
    """Not expired, and expires within the window of the run."""


def expiring_window(verdict: Verdict) -> int:
    governance = verdict.policy.governance
    return governance.expiring_within_days if governance is not None else EXPIRING_WITHIN_DAYS


def expiries(verdict: Verdict) -> list[WaiverExpiry]:
    """The ledger, most urgent first: expired, then by expiry date."""
    ran = verdict.started_at.date()
    window = expiring_window(verdict)
    out = []
    for entry in verdict.waivers:
        days_left = (entry.waiver.expires - ran).days
        expired = entry.status == "expired" or days_left < 0
        out.append(WaiverExpiry(entry, days_left, expired, not expired and days_left <= window))
    return sorted(out, key=lambda w: (not w.expired, w.days_left, w.entry.waiver.gate, w.entry.waiver.rule))
