"""What changed between two SBOMs, as data: components added, removed and changed. Computed by
gates.sbom.diff; read back from a verdict's `delta` by the reports (no third-party import here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gates.model import JSON

UPGRADE, DOWNGRADE, OTHER, LICENCE = "upgrade", "downgrade", "other", "licence"
"""`change` of a changed entry: the version went up, down, or elsewhere (not comparable, several
versions); `licence` when only the licences changed."""


@dataclass(frozen=True)
class Listed:
    """An added or removed component."""

    name: str
    version: str | None
    purl: str | None
    licences: str | None
    categories: tuple[str, ...]

    def to_json(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "licences": self.licences,
            "categories": list(self.categories),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Listed:
        return cls(data["name"], data["version"], data["purl"], data["licences"], tuple(data["categories"]))


@dataclass(frozen=True)
class Changed:
    name: str
    purl: str | None
    """The new purl."""
    from_version: str
    to_version: str
    change: str
    """UPGRADE, DOWNGRADE, OTHER, or LICENCE when the version did not change."""
    licences_from: str | None = None
    licences_to: str | None = None
    categories_from: tuple[str, ...] = ()
    categories_to: tuple[str, ...] = ()
    licence_changed: bool = False

    @property
    def gained_categories(self) -> tuple[str, ...]:
        """Licence categories it has now and had not (Copyleft, for Permissive -> Copyleft)."""
        return tuple(c for c in self.categories_to if c not in self.categories_from)

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "name": self.name,
            "purl": self.purl,
            "from": self.from_version,
            "to": self.to_version,
            "change": self.change,
        }
        if self.licence_changed:
            data |= {
                "licences_from": self.licences_from,
                "licences_to": self.licences_to,
                "categories_from": list(self.categories_from),
                "categories_to": list(self.categories_to),
            }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Changed:
        return cls(
            name=data["name"],
            purl=data["purl"],
            from_version=data["from"],
            to_version=data["to"],
            change=data["change"],
            licences_from=data.get("licences_from"),
            licences_to=data.get("licences_to"),
            categories_from=tuple(data.get("categories_from", ())),
            categories_to=tuple(data.get("categories_to", ())),
            licence_changed="licences_from" in data,
        )


@dataclass(frozen=True)
class SbomDiff:
    added: tuple[Listed, ...] = ()
    removed: tuple[Listed, ...] = ()
    changed: tuple[Changed, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, JSON]:
        return {
            "added": [a.to_json() for a in self.added],
            "removed": [r.to_json() for r in self.removed],
            "changed": [c.to_json() for c in self.changed],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SbomDiff:
        return cls(
            tuple(Listed.from_json(a) for a in data["added"]),
            tuple(Listed.from_json(r) for r in data["removed"]),
            tuple(Changed.from_json(c) for c in data["changed"]),
        )


@dataclass(frozen=True)
class Delta:
    """What changed since the release `gates run --since` compared with, as the verdict records it
    (`Verdict.delta`): the component changes (None when the baseline or this run has no inventory,
    `reason` says which) and how many advisories the change introduced or the release had all along
    (disclosed since)."""

    since: str | None
    """The tag (`v1.2.0`) or verdict file compared with; None: no release to compare with (`--since
    auto` found none: `reason` says why)."""
    commit: str | None
    signed_by: str | None
    components: SbomDiff | None
    reason: str | None
    introduced: int = 0
    disclosed: int = 0

    def to_json(self) -> dict[str, JSON]:
        return {
            "since": self.since,
            "commit": self.commit,
            "signed_by": self.signed_by,
            "components": self.components.to_json() if self.components is not None else None,
            "reason": self.reason,
            "vulnerabilities": {"introduced": self.introduced, "disclosed": self.disclosed},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delta:
        components = data["components"]
        return cls(
            data["since"],
            data["commit"],
            data["signed_by"],
            SbomDiff.from_json(components) if components is not None else None,
            data["reason"],
            data["vulnerabilities"]["introduced"],
            data["vulnerabilities"]["disclosed"],
        )

    @classmethod
    def merge(cls, parts: Sequence[tuple[str | None, Delta | None]]) -> Delta | None:
        """One verdict's delta from its parts' (project, delta): CI jobs of one gate each see the
        same component changes, monorepo projects each their own; advisories are judged in one job
        each."""
        given = [(project, delta) for project, delta in parts if delta is not None]
        if not given:
            return None
        by_project: dict[str | None, SbomDiff] = {}
        for project, delta in given:
            if delta.components is not None:
                by_project.setdefault(project, delta.components)
        found = [by_project[p] for p in sorted(by_project, key=lambda p: (p is not None, p or ""))]
        first = given[0][1]
        # Parts compared with different releases (a tag pushed between two jobs) prove no baseline.
        same = all(
            (d.since, d.commit, d.signed_by) == (first.since, first.commit, first.signed_by) for _, d in given
        )
        return cls(
            first.since,
            first.commit,
            first.signed_by if same else None,
            SbomDiff(
                tuple(a for d in found for a in d.added),
                tuple(r for d in found for r in d.removed),
                tuple(c for d in found for c in d.changed),
            )
            if found
            else None,
            None if found else first.reason,
            sum(d.introduced for _, d in given),
            sum(d.disclosed for _, d in given),
        )
