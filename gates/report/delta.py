"""The release delta as reports show it: what changed since the release `gates run --since`
compared with, read back from the verdict's `delta` (the Markdown and HTML reports open with it)."""

from __future__ import annotations

from dataclasses import dataclass

from gates.sbom.changes import SbomDiff
from gates.verdict import Verdict


def counts(diff: SbomDiff) -> str:
    return (
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed "
        f"({sum(1 for c in diff.changed if c.change == 'upgrade')} upgraded, "
        f"{sum(1 for c in diff.changed if c.change == 'downgrade')} downgraded, "
        f"{sum(1 for c in diff.changed if c.licence_changed)} with another licence)"
    )


@dataclass(frozen=True)
class DeltaView:
    """A verdict's `delta`, read back."""

    since: str
    commit: str | None
    signed_by: str | None
    components: SbomDiff | None
    reason: str | None
    introduced: int
    disclosed: int

    @classmethod
    def of(cls, verdict: Verdict) -> DeltaView | None:
        delta = verdict.delta
        if delta is None:
            return None
        components = delta["components"]
        return cls(
            delta["since"],
            delta["commit"],
            delta["signed_by"],
            SbomDiff.from_json(components) if components is not None else None,
            delta["reason"],
            delta["vulnerabilities"]["introduced"],
            delta["vulnerabilities"]["disclosed"],
        )

    @property
    def vulnerabilities(self) -> str:
        return (
            f"{self.introduced} advisories introduced by this change (new or changed components), "
            f"{self.disclosed} disclosed since {self.since} on components it shipped unchanged"
        )

    @property
    def baseline(self) -> str:
        commit = f" at {self.commit[:12]}" if self.commit else ""
        signed = f", signed by {self.signed_by}" if self.signed_by else ", unsigned"
        return f"the verdict of {self.since}{commit}{signed}"
