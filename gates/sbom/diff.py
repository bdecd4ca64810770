"""What changed between two SBOMs: components added, removed and changed.

A component's identity is its purl without the version (qualifiers and subpath kept: a jar is not
its sources), else its group and name. A changed component says whether its version went up or
down by its ecosystem's own ordering (gates.versions), and whether its licences changed, with the
ScanCode categories on each side (Permissive -> Copyleft is a decision of its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cmp_to_key

from packageurl import PackageURL

from gates import versions
from gates.sbom import licences
from gates.sbom.changes import DOWNGRADE, LICENCE, OTHER, UPGRADE, Changed, Listed, SbomDiff
from gates.sbom.read import Component


def _purl(text: str | None) -> PackageURL | None:
    if not text:
        return None
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def identity(component: Component) -> str:
    """What stays the same across versions of one component."""
    purl = _purl(component.purl)
    if purl is None:
        return component.name.lower()
    unversioned = PackageURL(purl.type, purl.namespace, purl.name, None, purl.qualifiers, purl.subpath)
    return str(unversioned.to_string())


def _version(component: Component) -> str:
    if component.version:
        return component.version
    purl = _purl(component.purl)
    return purl.version or "" if purl is not None else ""


def ecosystem_of(component: Component) -> str:
    """The purl type (`pypi`, `npm`, ...), or "" without a purl."""
    purl = _purl(component.purl)
    return purl.type if purl is not None else ""


@dataclass(frozen=True)
class LicenceInfo:
    """A component's licences as one SPDX expression (or the declared texts when they do not
    parse) and the categories of the licences in it."""

    expression: str | None
    categories: tuple[str, ...]

    @classmethod
    def of(cls, declared: Sequence[str]) -> LicenceInfo:
        normalised = licences.normalise(declared)
        if normalised.expression is None:
            return cls(" AND ".join(declared) or None, ())
        found = {licences.category(key) or "Unknown" for key in licences.keys(normalised.expression)}
        return cls(normalised.expression, tuple(sorted(found)))


def _listed(component: Component) -> Listed:
    info = LicenceInfo.of(component.licences)
    return Listed(component.name, component.version, component.purl, info.expression, info.categories)


def _by_identity(components: Iterable[Component]) -> dict[str, list[Component]]:
    grouped: dict[str, list[Component]] = {}
    for component in components:
        grouped.setdefault(identity(component), []).append(component)
    return grouped


def _ordered(ecosystem: str, texts: Iterable[str]) -> list[str]:
    """Distinct versions, lowest first where the ecosystem orders them (else as text)."""

    def order(a: str, b: str) -> int:
        return versions.compare(ecosystem, a, b) or (a > b) - (a < b)

    return sorted(set(texts), key=cmp_to_key(order))


def _version_change(ecosystem: str, old: Sequence[str], new: Sequence[str]) -> str:
    if len(old) != 1 or len(new) != 1:
        return OTHER  # several versions side by side (npm's nested copies): no single direction
    order = versions.compare(ecosystem, old[0], new[0])
    return UPGRADE if order == -1 else DOWNGRADE if order == 1 else OTHER


def _changed(old: Sequence[Component], new: Sequence[Component]) -> Changed | None:
    ecosystem = ecosystem_of(new[0])
    old_versions = _ordered(ecosystem, (_version(c) for c in old))
    new_versions = _ordered(ecosystem, (_version(c) for c in new))
    # Licences of a component with several versions: those of its highest version.
    before = LicenceInfo.of(next(c for c in old if _version(c) == old_versions[-1]).licences)
    after = LicenceInfo.of(next(c for c in new if _version(c) == new_versions[-1]).licences)
    licence_changed = before.expression != after.expression
    if old_versions == new_versions and not licence_changed:
        return None
    change = (
        _version_change(ecosystem, old_versions, new_versions) if old_versions != new_versions else LICENCE
    )
    return Changed(
        name=new[0].name,
        purl=next(c.purl for c in new if _version(c) == new_versions[-1]),
        from_version=", ".join(old_versions),
        to_version=", ".join(new_versions),
        change=change,
        licences_from=before.expression,
        licences_to=after.expression,
        categories_from=before.categories,
        categories_to=after.categories,
        licence_changed=licence_changed,
    )


def diff(old: Iterable[Component], new: Iterable[Component]) -> SbomDiff:
    """The components of `new` that `old` lacks, those it lost, and those that changed."""
    before, after = _by_identity(old), _by_identity(new)
    added = [_listed(c) for key in sorted(after.keys() - before.keys()) for c in after[key]]
    removed = [_listed(c) for key in sorted(before.keys() - after.keys()) for c in before[key]]
    changed = [_changed(before[key], after[key]) for key in sorted(before.keys() & after.keys())]
    return SbomDiff(
        tuple(sorted(added, key=_order)),
        tuple(sorted(removed, key=_order)),
        tuple(sorted((c for c in changed if c is not None), key=_order)),
    )


def _order(item: Listed | Changed) -> tuple[str, str]:
    return item.name.lower(), item.purl or ""
