"""Whether an OSV record affects a package version, as the OSV schema defines it, in any ecosystem.

A version is affected when an `affected[]` entry for its package lists it in `versions`, or when one
of the entry's `SEMVER` or `ECOSYSTEM` ranges covers it: the range's events are walked in version
order (`introduced` opens, `fixed` closes at, `last_affected` closes after), and `limit` events cap
the range. `ECOSYSTEM` ranges use the ecosystem's own ordering (Maven's `2.0-beta8 < 2.0-beta9 <
2.0`, PEP 440, RubyGems, NuGet, Composer...), `SEMVER` ranges SemVer 2.0 (npm pre-releases, Go
pseudo-versions); both through univers (`gates.versions`). `GIT` ranges name commits, which an
SBOM's version is not, so they match nothing. A withdrawn record affects nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from gates.versions import parse

if TYPE_CHECKING:
    from univers.versions import Version

# OSV ecosystem -> purl type (https://ossf.github.io/osv-schema/#affectedpackage-field).
PURL_TYPE_OF_ECOSYSTEM = {
    "PyPI": "pypi",
    "npm": "npm",
    "Maven": "maven",
    "Go": "golang",
    "crates.io": "cargo",
    "RubyGems": "gem",
    "NuGet": "nuget",
    "Packagist": "composer",
    "Hex": "hex",
    "Pub": "pub",
}
ECOSYSTEM_OF_PURL_TYPE = {t: e for e, t in PURL_TYPE_OF_ECOSYSTEM.items()}


def osv_package(purl: PackageURL) -> tuple[str, str] | None:
    """(OSV ecosystem, package name) of a purl, or None for a type OSV does not know: Maven names
    are `group:artifact`, npm, Go and Composer names keep their namespace (`@types/node`,
    `github.com/gin-gonic/gin`, `laravel/framework`)."""
    ecosystem = ECOSYSTEM_OF_PURL_TYPE.get(purl.type)
    if ecosystem is None:
        return None
    if ecosystem == "Maven":
        return ecosystem, f"{purl.namespace}:{purl.name}" if purl.namespace else purl.name
    return ecosystem, f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name


def package_key(ecosystem: str, name: str) -> tuple[str, str]:
    """How a package is looked up: PyPI names in canonical form, NuGet ids in lower case (both are
    case-insensitive there), others as the ecosystem spells them."""
    if ecosystem == "PyPI":
        return ecosystem, str(canonicalize_name(name))
    return ecosystem, name.lower() if ecosystem == "NuGet" else name


def _version(ecosystem: str, range_type: str, text: str) -> Version | None:
    if range_type == "SEMVER":  # SemVer 2.0 whatever the ecosystem; Go writes a `v` before it
        return parse("npm", text.removeprefix("v"))
    purl_type = PURL_TYPE_OF_ECOSYSTEM.get(ecosystem)
    if purl_type == "golang":
        text = text if text.startswith("v") or text == "0" else f"v{text}"
    return parse(purl_type, text) if purl_type is not None else None


def _in_range(version: Version, events: Sequence[Mapping[str, Any]], parse_event: Any) -> bool:
    parsed: list[tuple[Version | None, int, str]] = []
    for event in events:
        for kind, value in event.items():
            # introduced "0" is below every version; ties sort introduced before its closing event.
            at = None if kind == "introduced" and value == "0" else parse_event(str(value))
            if at is None and not (kind == "introduced" and value == "0"):
                continue  # a bound this ordering cannot read says nothing
            parsed.append((at, 0 if kind == "introduced" else 1, kind))
    limits = [at for at, _, kind in parsed if kind == "limit" and at is not None]
    if limits and not any(version < limit for limit in limits):
        return False
    affected = False
    for at, _, kind in sorted(parsed, key=lambda e: (e[0] is not None, e[0] or version, e[1])):
        if kind == "introduced" and (at is None or version >= at):
            affected = True
        elif at is not None and (
            (kind == "fixed" and version >= at) or (kind == "last_affected" and version > at)
        ):
            affected = False
    return affected


def affects(affected: Mapping[str, Any], ecosystem: str, version: str) -> bool:
    """Whether one `affected[]` entry (for this package) covers `version`."""
    listed = [str(v) for v in affected.get("versions") or []]
    if version in listed:
        return True
    for range_ in affected.get("ranges") or []:
        kind = range_.get("type")
        if kind not in ("SEMVER", "ECOSYSTEM"):
            continue
        wanted = _version(ecosystem, kind, version)
        if wanted is None:
            continue
        if _in_range(wanted, range_.get("events") or [], lambda v, k=kind: _version(ecosystem, k, v)):
            return True
    if listed:  # the same version spelled another way (1.0 and 1.0.0 under PEP 440)
        wanted = _version(ecosystem, "ECOSYSTEM", version)
        return wanted is not None and any(_version(ecosystem, "ECOSYSTEM", v) == wanted for v in listed)
    return False


def _entries(record: Mapping[str, Any], ecosystem: str, name: str) -> list[Mapping[str, Any]]:
    """The record's `affected[]` entries for this package."""
    key = package_key(ecosystem, name)
    entries = []
    for affected in record.get("affected") or []:
        package = affected.get("package") if isinstance(affected, Mapping) else None
        if (
            isinstance(package, Mapping)
            and package_key(str(package.get("ecosystem")), str(package.get("name"))) == key
        ):
            entries.append(affected)
    return entries


def record_affects(record: Mapping[str, Any], ecosystem: str, name: str, version: str) -> bool:
    """Whether an OSV record affects this version of this package."""
    if record.get("withdrawn"):
        return False
    return any(affects(a, ecosystem, version) for a in _entries(record, ecosystem, name))


def fixed_versions(record: Mapping[str, Any], ecosystem: str, name: str) -> list[str]:
    """The versions the record says fix this package, in the order it gives them."""
    fixed: list[str] = []
    for affected in _entries(record, ecosystem, name):
        for range_ in affected.get("ranges") or []:
            if range_.get("type") == "GIT":
                continue
            fixed += [str(e["fixed"]) for e in range_.get("events") or [] if "fixed" in e]
    return list(dict.fromkeys(fixed))
