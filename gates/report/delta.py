"""The release delta as reports show it: what changed since the release `gates run --since`
compared with, read back from the verdict's `delta` (the Markdown and HTML reports open with it)."""

from __future__ import annotations

from dataclasses import dataclass

from gates.sbom.changes import Delta, SbomDiff
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
    """A verdict's `delta`, with the sentences the reports show for it."""

    delta: Delta

    @classmethod
    def of(cls, verdict: Verdict) -> DeltaView | None:
        return cls(verdict.delta) if verdict.delta is not None else None

    @property
    def since(self) -> str | None:
        """None: no release to compare with (`reason` says why)."""
        return self.delta.since

    @property
    def components(self) -> SbomDiff | None:
        return self.delta.components

    @property
    def reason(self) -> str | None:
        return self.delta.reason

    @property
    def vulnerabilities(self) -> str:
        return (
            f"{self.delta.introduced} advisories introduced by this change (new or changed components), "
            f"{self.delta.disclosed} disclosed since {self.since} on components it shipped unchanged"
        )

    @property
    def baseline(self) -> str:
        commit = f" at {self.delta.commit[:12]}" if self.delta.commit else ""
        signed = f", signed by {self.delta.signed_by}" if self.delta.signed_by else ", unsigned"
        return f"the verdict of {self.since}{commit}{signed}"

    @property
    def summary(self) -> str:
        """One line for the formats with room for no more (JUnit, SARIF, GitLab)."""
        if self.since is None:
            return f"nothing to compare with: {self.reason}"
        components = counts(self.components) if self.components is not None else f"unknown ({self.reason})"
        return f"since {self.since}: components {components}; {self.vulnerabilities}"
