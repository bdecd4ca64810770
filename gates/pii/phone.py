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
  country code and once after), each stripped only where the digits start with it: where that
  prefix is a literal, only those starts are tried; its length must be one of the general
  descriptions' possible lengths;
- international prefix of the region (`00`, `011`...): the prefix itself where a run starts, then
  a country code and an NSN of some country, which together take at least `_INTERNATIONAL_DIGITS`
  digits;
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

from gates.pii.candidates import EXTENSION_LEAD, PHONE_PUNCTUATION

_MIN_NSN = 2
"""phonenumbers' _MIN_LENGTH_FOR_NSN: no description's lengths means no bound but this one."""
_PLUS = ("+", "\uff0b")
_THREE_LETTERS = re.compile("(?:[^aeinostx]*[aeinostx]){3}", re.IGNORECASE | re.ASCII)
"""Three of the ASCII letters of phonenumbers' matcher pattern (compiled with IGNORECASE)."""
_BACKREFERENCE = re.compile(r"\\\d|\$\d")
_DIGIT_RUN = re.compile(r"\d+")
_GAP = rf"[{PHONE_PUNCTUATION}]{{1,4}}|{EXTENSION_LEAD}"
_SEGMENT = re.compile(rf"\d+(?:(?:{_GAP})\d+)*", re.IGNORECASE)
"""Digits one match of phonenumbers' matcher may hold: its pattern (compiled with IGNORECASE)
allows only punctuation between digit blocks, then an extension's separator and label."""
SEGMENT_CACHE_SIZE = 100_000
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


def _lengths(country_code: int) -> frozenset[int] | None:
    """`is_valid_number()` needs the NSN's length among the general description's possible
    lengths (when it lists any) of a region of the country."""
    found: set[int] = set()
    for metadata in _metadata(country_code):
        lengths = metadata.general_desc.possible_length if metadata.general_desc else ()
        if not lengths:
            return None
        found.update(lengths)
    return frozenset(found)


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
    lengths: frozenset[int] | None
    """The lengths a valid NSN of the country may have (None: any)."""
    prefixes: tuple[str, ...] | None
    """The digits `parse()` may strip from the start of a run before the NSN (None: any digits)."""
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
        lengths=_lengths(cc),
        prefixes=_prefixes(metadata),
        international_prefix=re.compile(prefix) if prefix else None,
        international_digits=(_shortest_match(prefix) if prefix else 0) + international,
    )


def _prefixes(metadata: PhoneMetadata) -> tuple[str, ...] | None:
    """The digits `parse()` may strip before the NSN when no `+` or international prefix is used:
    the region's country code (only where the digits start with it), then its national prefix
    (stripped once inside the country code's extraction and once after it). Only a literal national
    prefix is known in advance."""
    parsing = metadata.national_prefix_for_parsing or ""
    if not parsing.isdecimal() and parsing:
        return None
    cc = str(metadata.country_code)
    return tuple(sorted({"", parsing, cc, cc + parsing, cc + 2 * parsing}, key=len))


_MATCH_START = re.compile(r"[(\[\uff08\uff3b+\uff0b]|\d")
_MATCH_END = re.compile(r"[\d#\uff03][^\d#\uff03]*$")


def reach(text: str) -> tuple[int, int] | None:
    """Where every match of phonenumbers' matcher in `text` lies (None: there can be none).

    A match lies within a candidate of the matcher's pattern, which starts at an opening bracket,
    a plus sign or a digit, and ends at a digit or an extension's `#`. A match that covers this
    span in one region therefore contains every match any region can find: Presidio's
    de-duplication keeps that one match alone, and the other regions need not run."""
    start = _MATCH_START.search(text)
    end = _MATCH_END.search(text)
    return (start.start(), end.start() + 1) if start and end else None


class RegionFilter:
    """Built once per process (a few milliseconds over phonenumbers' metadata)."""

    def __init__(self, regions: Iterable[str]) -> None:
        self.regions = tuple(regions)
        international = _international_digits()
        self._known = [r for r in (_region(name, international) for name in self.regions) if r]
        known = {r.name for r in self._known}
        self._unknown = tuple(name for name in self.regions if name not in known)
        self._segments: dict[str, frozenset[str]] = {}

    def possible(self, text: str) -> tuple[str, ...]:
        """The regions, in the recognizer's order, whose matcher may find a number in `text`."""
        span = reach(text)
        if span is None:
            return ()
        if _THREE_LETTERS.search(text, *span):
            return self.regions
        kept: set[str] = set()
        for segment in _SEGMENT.findall(text):
            kept |= self._segment_regions(segment)
        if any(p in text for p in _PLUS):
            # One region that can only find `+` numbers stands for all of them.
            kept.update(itertools.islice((r.name for r in self._known if r.name not in kept), 1))
        return tuple(name for name in self.regions if name in kept or name in self._unknown)

    def _segment_regions(self, segment: str) -> frozenset[str]:
        """The known regions that may find a number in the digits of one segment (cached: code
        repeats its numbers)."""
        found = self._segments.get(segment)
        if found is None:
            if len(self._segments) > SEGMENT_CACHE_SIZE:
                self._segments.clear()
            runs = [phonenumbers.normalize_digits_only(run) for run in _DIGIT_RUN.findall(segment)]
            digits = "".join(runs)
            long_run = any(len(r) > _MATCHER_BLOCK for r in runs)
            ends = None if long_run else list(itertools.accumulate(map(len, runs)))
            found = frozenset(r.name for r in self._known if _may_match(r, digits, ends))
            self._segments[segment] = found
        return found


def _may_match(region: _Region, digits: str, ends: list[int] | None) -> bool:
    """`ends`: where the runs of digits end in `digits` (None: anywhere)."""
    starts = (0,) if ends is None else (0, *ends[:-1])
    national = region.national
    if len(digits) >= region.national_digits and (
        national is None or ends is None or _national_part(region, national, digits, starts, ends)
    ):
        return True
    if region.international_prefix is None:
        return False
    # The international prefix starts a number: where a run starts (anywhere within a long run).
    if ends is None:
        idd = region.international_prefix.search(digits)
        return idd is not None and len(digits) - idd.start() >= region.international_digits
    idd_pattern, idd_digits = region.international_prefix, region.international_digits
    return any(idd_pattern.match(digits, start) and len(digits) - start >= idd_digits for start in starts)


def _national_part(
    region: _Region, national: re.Pattern[str], digits: str, starts: Sequence[int], ends: list[int]
) -> bool:
    """Whether a part of `digits` that ends where a run ends, and starts where one starts after
    digits `parse()` may strip, is a national number of the region's country."""
    if region.prefixes is None:
        return any(national.search(digits, 0, end) for end in ends)
    nsn_starts = {s + len(p) for s in starts for p in region.prefixes if digits.startswith(p, s)}
    lengths = region.lengths
    return any(
        national.match(digits, start, end)
        for start in nsn_starts
        for end in ends
        if end > start and (lengths is None or end - start in lengths)
    )
