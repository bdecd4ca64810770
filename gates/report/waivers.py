"""Waiver expiry as the reports show it: counted from when the verdict ran, never from the wall
clock, so the same verdict always renders the same report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXPIRING_WITHIN_DAYS = 30
"""The window when the verdict does not record the policy's `governance.expiring_within_days`."""


@dataclass(frozen=True)
class WaiverExpiry:
    entry: Mapping[str, Any]
    """The verdict's ledger entry (gate, rule, owner, reason, expires, status, matched...)."""
    days_left: int
    expired: bool
    expiring: bool
    """Not expired, and expires within the window of the run."""


def expiring_window(verdict: Mapping[str, Any]) -> int:
    governance = verdict["policy"].get("governance")
    return int(governance["expiring_within_days"]) if governance else EXPIRING_WITHIN_DAYS


def expiries(verdict: Mapping[str, Any]) -> list[WaiverExpiry]:
    """The ledger, most urgent first: expired, then by expiry date."""
    ran = dt.date.fromisoformat(verdict["started_at"][:10])
    window = expiring_window(verdict)
    out = []
    for entry in verdict["waivers"]:
        days_left = (dt.date.fromisoformat(entry["expires"]) - ran).days
        expired = entry["status"] == "expired" or days_left < 0
        out.append(WaiverExpiry(entry, days_left, expired, not expired and days_left <= window))
    return sorted(out, key=lambda w: (not w.expired, w.days_left, w.entry["gate"], w.entry["rule"]))
