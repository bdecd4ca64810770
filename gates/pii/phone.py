"""Which regions of Presidio's phone recognizer can find a number in a piece of text at all.

`PhoneRecognizer` runs phonenumbers' matcher once per region (8 by default), and the matcher parses
every digit cluster for each: that is most of the gate's time. Its results are kept only at
leniency VALID, where a match needs `is_valid_number()`, and that needs the national significant
number (NSN) to fully match the `general_desc` pattern of one of the regions sharing its country
code, with a length among that description's possible lengths. Where the NSN can come from is
narrow (phonenumbers' `parse()` only ever drops characters, except in the cases excluded below):

- the digits `parse()` reads are those of one match of the matcher's pattern: runs of digits joined
  by punctuation, then an extension (`_SEGMENT`), so each such segment of the text is judged alone;
- default country (no `+`, no international prefix): the country code is the region's, and the NSN
  is a contiguous part of the segment's digits (`parse()` strips extensions, punctuation, the country
  code and national prefixes from the ends) that ends where a run of digits ends (every cut the
  matcher makes is at a non-digit, except that its pattern takes at most 20 digits in a row), so a
  region none of whose general patterns matches such a part cannot match. The part also starts
  where a run of digits starts (a candidate and its inner matches start after a non-digit), after
  at most the region's country code and its national prefix (stripped once while extracting the
  country code and once after): where that prefix is a literal, only those starts are tried;
- international prefix of the region (`00`, `011`...): the prefix itself, then a country code and
  an NSN of some country, which together take at least `_INTERNATIONAL_DIGITS` digits;
- `+`: a number written with `+` and a known country code is parsed the same way whatever the
  region (only a `+` before an unknown country code falls back to the region, and the other cases
  cover that): regions that can match nothing else all return the same matches, so one of them
  runs for all;
- three ASCII letters that the matcher lets into a candidate (`x` separators and extension words,
  in any case): phonenumbers then reads letters as keypad digits, so nothing is skipped;
- national prefix transform rules may add or reorder digits: regions whose rules are more than one
  group (Brazil's `\\2` keeps the digits just before the end of the prefix match, so the NSN stays
  a contiguous part) are never narrowed by pattern, and the lengths allow for what they add.

Skipping a region that could not have matched leaves the union of the other regions' matches, so
the recognizer's own `analyze()` on the remaining regions returns exactly what it returns on all.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

from gates.pii.candidates import PHONE_PUNCTUATION

_MIN_NSN = 2
"""phonenumbers' _MIN_LENGTH_FOR_NSN: no description's lengths means no bound but this one."""
_PLUS = ("+", "\uff0b")
_CANDIDATE_LETTERS = frozenset("aeinostxAEINOSTX")
"""The ASCII letters of phonenumbers' matcher pattern (compiled with IGNORECASE)."""
_BACKREFERENCE = re.compile(r"\\\d|\$\d")
_DIGIT_RUN = re.compile(r"\d+")
_GAP = (
    rf"[{PHONE_PUNCTUATION}]{{1,4}}|;ext=|[ \u00a0\t,]*(?:e?xt(?:ensi(?:ó?|ó))?n?|\uff45?\uff58\uff54\uff4e?"
    "|доб|anexo|[x\uff58#\uff03~\uff5e]|int|\uff49\uff4e\uff54)[:.\uff0e]?[ \u00a0\t,-]*"
)
_SEGMENT = re.compile(rf"\d+(?:(?:{_GAP})\d+)*", re.IGNORECASE)
"""Digits one match of phonenumbers' matcher may hold: its pattern (compiled with IGNORECASE)
allows only punctuation between digit blocks, then an extension's separator and label."""
_MATCHER_BLOCK = 20
"""The most digits in a row phonenumbers' matcher pattern takes (_DIGIT_BLOCK_LIMIT)."""


_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
    "pager", "uan", "voicemail", "fixed_line", "mobile",
)  # fmt: skip
"""The descriptions `is_valid_number()` tries after the general one: a valid number matches one."""


def _pattern(desc: PhoneNumberDesc | None) -> str | None:
    return desc.national_number_pattern if desc else None


def _metadata(country_code: int) -> list[PhoneMetadata]:
    found = (
        PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
        for region in COUNTRY_CODE_TO_REGION_CODE[country_code]
    )
    return [m for m in found if m is not None]


def _main_metadata(country_code: int) -> PhoneMetadata | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    return PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)


def _added_digits(metadata: PhoneMetadata | None) -> int:
    """Digits a national prefix transform rule writes besides the groups it copies."""
    rule = (metadata.national_prefix_transform_rule if metadata else None) or ""
    return sum(c.isdigit() for c in _BACKREFERENCE.sub("", rule))


def _keeps_digits(metadata: PhoneMetadata | None) -> bool:
    """Whether the national prefix transform rule (if any) leaves the NSN a contiguous part of the
    digits: a rule that is one group (Brazil's `\\2`) keeps the digits just before the end of the
    prefix match, and the rest of the number follows them."""
    rule = metadata.national_prefix_transform_rule if metadata else None
    return not rule or _BACKREFERENCE.fullmatch(rule) is not None


def _shortest_nsn(country_code: int) -> int:
    return min(
        (
            min(m.general_desc.possible_length or (), default=_MIN_NSN)
            for m in _metadata(country_code)
            if m.general_desc
        ),
        default=_MIN_NSN,
    )


def _shortest_match(pattern: str, limit: int = 4) -> int:
    """The fewest digits `pattern` accepts (at least `limit` if it accepts no shorter string)."""
    compiled = re.compile(pattern)
    digits = "0123456789"  # pragma: allowlist pii (the ten digits, not a phone number)
    for n in range(1, limit):
        if any(compiled.fullmatch("".join(d)) for d in itertools.product(digits, repeat=n)):
            return n
    return limit


def _international_digits() -> int:
    """The fewest digits a country code and a valid NSN of that country take together."""
    return min(
        len(str(cc)) + max(0, _shortest_nsn(cc) - _added_digits(_main_metadata(cc)))
        for cc in COUNTRY_CODE_TO_REGION_CODE
    )


@dataclass(frozen=True)
class _Region:
    name: str
    national: re.Pattern[str] | None
    """Any general description of the country's regions, at the end; None: no narrowing by pattern."""
    national_digits: int
    offsets: tuple[int, ...] | None
    """Where the NSN may start after the start of a run of digits (None: anywhere)."""
    international_prefix: re.Pattern[str] | None
    international_digits: int


def _region(name: str, international: int) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(name)
    if metadata is None:
        return None  # unknown to phonenumbers: always run (it only finds `+` numbers there)
    cc = metadata.country_code
    assert cc is not None, "every region's metadata has its country code"
    main = _main_metadata(cc)
    transforms = any(not _keeps_digits(m) for m in (metadata, main))
    patterns = [p for m in _metadata(cc) for desc in _TYPES if (p := _pattern(getattr(m, desc)))]
    # No description at all: nothing of this country is ever valid ("(?!)" never matches).
    national = (
        None if transforms else re.compile("(?:{})$".format("|".join(f"(?:{p})" for p in patterns) or "(?!)"))
    )
    prefix = metadata.international_prefix
    return _Region(
        name=name,
        national=national,
        national_digits=max(_MIN_NSN, _shortest_nsn(cc) - _added_digits(metadata) - _added_digits(main)),
        offsets=_offsets(metadata),
        international_prefix=re.compile(prefix) if prefix else None,
        international_digits=(_shortest_match(prefix) if prefix else 0) + international,
    )


def _offsets(metadata: PhoneMetadata) -> tuple[int, ...] | None:
    """The digits `parse()` may strip before the NSN when no `+` or international prefix is used:
    the region's country code, then its national prefix (stripped once inside the country code's
    extraction and once after it). Only a literal national prefix gives fixed lengths."""
    parsing = metadata.national_prefix_for_parsing or ""
    if not parsing.isdecimal() and parsing:
        return None
    cc, prefix = len(str(metadata.country_code)), len(parsing)
    return tuple(sorted({0, prefix, cc, cc + prefix, cc + 2 * prefix}))


class RegionFilter:
    """Built once per process (a few milliseconds over phonenumbers' metadata)."""

    def __init__(self, regions: Iterable[str]) -> None:
        self.regions = tuple(regions)
        international = _international_digits()
        self._known = [r for r in (_region(name, international) for name in self.regions) if r]
        known = {r.name for r in self._known}
        self._unknown = tuple(name for name in self.regions if name not in known)

    def possible(self, text: str) -> tuple[str, ...]:
        """The regions, in the recognizer's order, whose matcher may find a number in `text`."""
        if sum(c in _CANDIDATE_LETTERS for c in text) >= 3:
            return self.regions
        kept: set[str] = set()
        for segment in _SEGMENT.findall(text):
            runs = [phonenumbers.normalize_digits_only(run) for run in _DIGIT_RUN.findall(segment)]
            digits = "".join(runs)
            long_run = any(len(r) > _MATCHER_BLOCK for r in runs)
            ends = None if long_run else list(itertools.accumulate(map(len, runs)))
            kept.update(r.name for r in self._known if r.name not in kept and _may_match(r, digits, ends))
        if any(p in text for p in _PLUS):
            # One region that can only find `+` numbers stands for all of them.
            kept.update(itertools.islice((r.name for r in self._known if r.name not in kept), 1))
        return tuple(name for name in self.regions if name in kept or name in self._unknown)


def _may_match(region: _Region, digits: str, ends: list[int] | None) -> bool:
    """`ends`: where the runs of digits end in `digits` (None: anywhere)."""
    if len(digits) >= region.national_digits:
        if region.national is None or ends is None:
            return True
        # Anywhere first: the few parts that pass are then checked where the NSN may start.
        anywhere = [end for end in ends if region.national.search(digits, 0, end)]
        if anywhere and (
            region.offsets is None
            or any(
                region.national.match(digits, start + offset, end)
                for start in (0, *ends[:-1])
                for offset in region.offsets
                for end in anywhere
                if start + offset < end
            )
        ):
            return True
    idd = region.international_prefix.search(digits) if region.international_prefix else None
    return idd is not None and len(digits) - idd.start() >= region.international_digits
