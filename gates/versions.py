"""Each ecosystem's own version ordering, by purl type, through univers: PEP 440 for pypi, SemVer
for npm and cargo, Maven's ComparableVersion (`2.0-beta8 < 2.0-beta9 < 2.0`), Go modules with
pseudo-versions, Composer, NuGet, RubyGems, Debian, RPM, ...

One table serves every caller: the SBOM diff (upgrade or downgrade) and matching OSV ranges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from univers.versions import Version

# univers is imported on first use: it takes about 60 ms, which every command would pay at
# start-up through the plugins that import this module.

# univers keys its classes by `vers` scheme, which is the purl type for all but these.
_SCHEME_OF_TYPE = {"go": "golang", "rubygems": "gem", "alpine": "apk", "arch": "alpm"}
# Schemes whose "ordering" is a catch-all (any version, no version, plain text): not an ordering.
_NOT_ORDERINGS = frozenset({"all", "none", "lexicographic", "generic"})


def version_class(purl_type: str) -> type[Version] | None:
    """The univers version class of a purl type (`pypi`, `npm`, `maven`, `golang`, ...), or None
    when univers knows no ordering for it."""
    scheme = _SCHEME_OF_TYPE.get(purl_type.lower(), purl_type.lower())
    if scheme in _NOT_ORDERINGS:
        return None
    from univers.version_range import RANGE_CLASS_BY_SCHEMES

    ranges = RANGE_CLASS_BY_SCHEMES.get(scheme)
    return ranges.version_class if ranges is not None else None


def parse(purl_type: str, text: str) -> Version | None:
    """`text` as a version of the ecosystem, or None (unknown ecosystem, invalid version)."""
    cls = version_class(purl_type)
    if cls is None or not text:
        return None
    from univers.versions import InvalidVersion

    try:
        return cls(text)
    except (InvalidVersion, ValueError, TypeError):
        return None


def compare(purl_type: str, old: str, new: str) -> int | None:
    """-1, 0 or 1 as `old` is below, equal to or above `new` in the ecosystem's ordering; None when
    either cannot be read as one of its versions (then nothing can be said)."""
    a, b = parse(purl_type, old), parse(purl_type, new)
    if a is None or b is None:
        return None
    try:
        return -1 if a < b else 1 if a > b else 0
    except TypeError:  # a class whose comparison gives up on some pairs
        return None
