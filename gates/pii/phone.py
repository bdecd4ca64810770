"""Which regions of Presidio's phone recognizer can find a number in a piece of text at all.

`PhoneRecognizer` runs phonenumbers' matcher once per region (8 by default), and the matcher parses
candidate strings for each: that is most of the gate's time. Its results are kept only at leniency
VALID, where a match needs `is_valid_number()` (the national significant number, NSN, fully matches
a number description of a region sharing its country code, with a possible length) and, for a
number written without `+` or an international prefix, the national prefix where the number's
format writes it. What a region can match is narrow:

- the strings: the matcher hands `parse()` candidates of its pattern and their inner parts (split
  at slashes, brackets, spaced dashes, dots and spaces), trying the next only while none is a
  number. `parsed_strings()` runs phonenumbers' own matcher with parsing replaced by a recorder, so
  it lists every string any region tries before its first match; a region whose matcher parses no
  number from any of them finds nothing;
- default country (no `+`, no international prefix): `parse()` reads the string's digits from the
  first, strips the region's country code (only where the digits start with it) and national
  prefixes (once inside the country code's extraction and once after), and an extension from the
  end, so the NSN starts after one of those prefixes and ends where a run of digits ends. A prefix
  that is a pattern (Brazil's national prefix and carrier code) is matched as `parse()` matches
  it, and a transform rule that puts its last group before the rest (Brazil's `\\2`) starts the NSN
  there. Without a stripped prefix, a format that needs the national prefix makes the number
  invalid (`_is_national_prefix_present_if_required`);
- international prefix of the region (`00`, `011`...): then a country code (never starting with 0)
  and an NSN of that country, after at most its national prefix;
- `+` and a known country code: read the same way whatever the region, so a region that can match
  nothing else stands for all of them; a `+` before an unknown country code is dropped and the
  number read as a national one;
- three ASCII letters in a string: phonenumbers reads letters as keypad digits, so nothing is
  skipped; regions whose transform rule rearranges the digits are not narrowed by pattern.

Skipping a region that could not have matched leaves the union of the other regions' matches, so
the recognizer's own `analyze()` on the remaining regions returns exactly what it returns on all.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberMatch,
    PhoneNumberMatcher,
)

from gates.errors import GateError
from gates.pii.candidates import PLAIN_CLUSTER

_MIN_NSN = 2
"""phonenumbers' _MIN_LENGTH_FOR_NSN: no description's lengths means no bound but this one."""
_PLUS = ("+", "\uff0b")
_NUMBER_START = re.compile("[+\uff0b\\d]")
"""Where `parse()` starts reading a number (phonenumbers' _VALID_START_CHAR_PATTERN)."""
_THREE_LETTERS = re.compile("(?:[^A-Za-z]*[A-Za-z]){3}")
"""phonenumbers' _VALID_ALPHA_PHONE_PATTERN: then it reads letters as keypad digits."""
_SELF_CHECK = "call 030 1234567 (+49 30 901820)"  # pragma: allowlist pii
_FIRST_GROUP_ONLY = re.compile(r"\(?\\1\)?")
_BACKREFERENCE = re.compile(r"\\\d|\$\d")
_DIGIT_RUN = re.compile(r"\d+")
STRING_CACHE_SIZE = 100_000
_MAX_DIGITS = 40
"""More digits than any region's check tells apart by their number (the longest NSN has 17)."""
_DIGITS = tuple(map(str, range(10)))

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


@dataclass(frozen=True)
class _Strip:
    """Where the NSN may start once `parse()` has stripped a region's national prefix (and carrier
    code) at some place in the digits (phonenumbers' _maybe_strip_national_prefix_carrier_code)."""

    literal: tuple[str, ...] | None
    """The prefixes, when the pattern for parsing is digits or alternatives of digits ("": none)."""
    pattern: re.Pattern[str] | None
    """Otherwise the pattern, matched where the stripping starts."""
    kept_group: int | None
    """The group a transform rule `\\N` puts before the rest of the number."""

    def starts(self, digits: str, pos: int) -> list[int] | None:
        """None: the NSN is not a contiguous part of the digits."""
        if self.literal is not None:
            return [pos + len(p) for p in self.literal if digits.startswith(p, pos)]
        assert self.pattern is not None, "a prefix is literal or a pattern"
        match = self.pattern.match(digits, pos)
        if match is None:
            return [pos]
        groups = match.groups()
        if self.kept_group is None or not groups or groups[-1] is None:
            return [pos, match.end()]  # a plain prefix, or no transform applies
        # The transformed number is the kept group and what follows the match.
        if match.end(self.kept_group) != match.end():
            return None
        return [pos, match.start(self.kept_group)]


def _strip(metadata: PhoneMetadata | None) -> _Strip:
    parsing = (metadata.national_prefix_for_parsing if metadata else None) or ""
    rule = (metadata.national_prefix_transform_rule if metadata else None) or ""
    literal = _literal_prefixes(metadata)
    kept = int(rule[1:]) if _BACKREFERENCE.fullmatch(rule) else None
    return _Strip(literal, None if literal is not None else re.compile(parsing), kept)


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


@dataclass(frozen=True)
class _Country:
    """What `is_valid_number()` accepts for one country calling code, as far as the filter needs it."""

    national: re.Pattern[str]
    """Any number description of the country's regions, anchored at the end."""
    lengths: frozenset[int] | None
    """The lengths a valid NSN may have (None: any)."""
    shortest: int
    national_prefixes: tuple[str, ...] | None
    """The main region's national prefixes, when literal (None: a pattern)."""
    strip: _Strip
    """What `parse()` may strip after reading the country code."""
    keeps_digits: bool
    """Whether the NSN is a contiguous part of the digits after those prefixes."""
    code: int

    def needs_national_prefix(self, nsn: str) -> bool:
        """Whether the format phonenumbers chooses for `nsn` needs the national prefix."""
        for leading, pattern, needs_prefix in _formats(self.code):
            if (leading is None or leading.match(nsn)) and pattern.fullmatch(nsn):
                return needs_prefix
        return False


@functools.cache
def _country(country_code: int) -> _Country:
    main = _main_metadata(country_code)
    patterns = [p for m in _metadata(country_code) for desc in _TYPES if (p := _pattern(getattr(m, desc)))]
    literal = _literal_prefixes(main)
    # No description at all: nothing of this country is ever valid ("(?!)" never matches).
    return _Country(
        national=re.compile("(?:{})$".format("|".join(f"(?:{p})" for p in patterns) or "(?!)")),
        lengths=_lengths(country_code),
        shortest=max(_MIN_NSN, _shortest_nsn(country_code) - _added_digits(main)),
        national_prefixes=None if literal is None else tuple(p for p in literal if p),
        strip=_strip(main),
        keeps_digits=_keeps_digits(main),
        code=country_code,
    )


@functools.cache
def _formats(country_code: int) -> tuple[tuple[re.Pattern[str] | None, re.Pattern[str], bool], ...]:
    """The main region's formats, in order: leading digits, pattern, and whether a number written
    without `+` must carry the national prefix (compiled only for the countries that need them)."""
    return tuple(_format_rules(_main_metadata(country_code)))


def _format_rules(
    metadata: PhoneMetadata | None,
) -> Iterator[tuple[re.Pattern[str] | None, re.Pattern[str], bool]]:
    """phonenumbers chooses a number's format by the last leading-digits pattern and the format's
    own pattern; a formatting rule other than the first group alone (`$1`, `($1)`) writes the
    national prefix, and then a number written without it is not VALID unless it is optional
    (the matcher's `_is_national_prefix_present_if_required`)."""
    for number_format in metadata.number_format if metadata else ():
        if number_format.pattern is None:
            continue
        leading = number_format.leading_digits_pattern
        rule = number_format.national_prefix_formatting_rule or ""
        needs_prefix = (
            bool(rule)
            and not number_format.national_prefix_optional_when_formatting
            and not _FIRST_GROUP_ONLY.fullmatch(rule)
        )
        yield (re.compile(leading[-1]) if leading else None), re.compile(number_format.pattern), needs_prefix


@dataclass(frozen=True)
class _Region:
    name: str
    country: _Country
    narrow: bool
    """Whether the NSN is a contiguous part of the digits (no transform rule reorders them)."""
    shortest: int
    prefixes: tuple[str, ...] | None
    """The digits `parse()` may strip before the NSN of a number without `+` or international
    prefix, when all are literal: the country code and national prefixes."""
    strips: tuple[_Strip, _Strip]
    """Otherwise the region's own and its country's main region's stripping."""
    international_prefix: re.Pattern[str] | None

    def nsn_starts(self, digits: str) -> list[int] | None:
        """Where the NSN of a number without `+` or international prefix may start (None: the
        NSN is not a contiguous part of the digits): the region's national prefix is stripped
        from the digits, or inside the country code's extraction, after the country code where
        the digits start with it, and then the main region's once more."""
        if self.prefixes is not None:
            return [len(p) for p in self.prefixes if digits.startswith(p)]
        own, main = self.strips
        found = own.starts(digits, 0)
        cc = str(self.country.code)
        if found is None or not digits.startswith(cc):
            return found
        inner = own.starts(digits, len(cc))
        if inner is None:
            return None
        for pos in inner:
            outer = main.starts(digits, pos)
            if outer is None:
                return None
            found += outer
        return found


def _region(name: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(name)
    if metadata is None:
        return None  # unknown to phonenumbers: always run (it only finds `+` numbers there)
    cc = metadata.country_code
    assert cc is not None, "every region's metadata has its country code"
    main = _main_metadata(cc)
    prefix = metadata.international_prefix
    return _Region(
        name=name,
        country=_country(cc),
        narrow=_keeps_digits(metadata) and _keeps_digits(main),
        shortest=max(_MIN_NSN, _shortest_nsn(cc) - _added_digits(metadata) - _added_digits(main)),
        prefixes=_prefixes(str(cc), _literal_prefixes(metadata), _literal_prefixes(main)),
        strips=(_strip(metadata), _strip(main)),
        international_prefix=re.compile(prefix) if prefix else None,
    )


def _literal_prefixes(metadata: PhoneMetadata | None) -> tuple[str, ...] | None:
    """The national prefixes `parse()` may strip ("" for none), when the pattern for parsing is
    digits or alternatives of digits (None: anything else)."""
    parsing = (metadata.national_prefix_for_parsing if metadata else None) or ""
    alternatives = parsing.split("|") if parsing else []
    if not all(a.isdecimal() for a in alternatives):
        return None
    return ("", *alternatives)


def _prefixes(cc: str, own: tuple[str, ...] | None, main: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The region's country code (stripped only where the digits start with it) and national
    prefixes: the region's is stripped inside the country code's extraction, then the country's
    main region's (or the region's own, without a country code) once more."""
    if own is None or main is None:
        return None
    combined = {*own, *(cc + a + b for a in own for b in main)}
    return tuple(sorted(combined, key=len))


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


class _Recorder(PhoneNumberMatcher):
    """phonenumbers' own matcher, recording each string it would parse instead of parsing it. As
    no string passes, it tries them all in the order any region's matcher does until its first
    match: a region that can read a number from none of them fails on each in turn, exactly like
    the recorder, and finds nothing."""

    def __init__(self, text: str) -> None:
        super().__init__(text, None)
        self.tried: list[str] = []

    def _parse_and_verify(self, candidate: str, offset: int) -> None:
        self.tried.append(candidate)


class _RegionMatcher(PhoneNumberMatcher):
    """phonenumbers' matcher for one region, which does not parse the strings that region cannot
    read a number from: they would fail there anyway, so the matches are the same."""

    def __init__(self, text: str, region: str, leniency: int, readable: Callable[[str], bool]) -> None:
        super().__init__(text, region, leniency=leniency)
        self._readable = readable

    def _parse_and_verify(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        if not self._readable(candidate):
            return None
        match: PhoneNumberMatch | None = super()._parse_and_verify(candidate, offset)
        return match


def plain_strings(cluster: str) -> list[str] | None:
    """`parsed_strings(cluster)` for the commonest clusters, without running the matcher (None:
    not one of them). The matcher takes a plain cluster whole (`PLAIN_CLUSTER`); no date or time
    stamp check rejects it (they need a slash or a space), and of the places where it splits a
    rejected candidate only dots are in it (dashes count only next to a space, and an x is no
    place at all): the cluster, then the part before its first dot and the part after each dot."""
    if not PLAIN_CLUSTER.fullmatch(cluster):
        return None
    return [cluster, *cluster.split(".")] if "." in cluster else [cluster]


def parsed_strings(text: str) -> list[str]:
    """Every string phonenumbers' matcher hands to `parse()` in `text` when none is a number."""
    recorder = _Recorder(text)
    for _ in recorder:
        pass
    return recorder.tried


PRESIDIO_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
"""Presidio's PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS, which the candidate pre-filter reads
without importing Presidio (gates.pii.analyzer refuses a Presidio whose default differs)."""


class RegionFilter:
    """Built once per process (a few milliseconds over phonenumbers' metadata)."""

    def __init__(self, regions: Iterable[str]) -> None:
        self.regions = tuple(regions)
        if len(parsed_strings(_SELF_CHECK)) < 2:
            # A phonenumbers whose matcher no longer calls the recorder would skip every region.
            raise GateError(
                f"pii: phonenumbers {phonenumbers.__version__} no longer parses through "
                "PhoneNumberMatcher._parse_and_verify, which the region filter records (tested with 9.0)"
            )
        self._known = [r for r in (_region(name) for name in self.regions) if r]
        known = {r.name for r in self._known}
        # Regions that parse alike (the United States and Canada) are checked once.
        alike: dict[_Region, list[str]] = {}
        for region in self._known:
            alike.setdefault(dataclasses.replace(region, name=""), []).append(region.name)
        self._alike = [(region, frozenset(names)) for region, names in alike.items()]
        # For each number of digits, the regions that can read that many: a national number of
        # their shortest length, or an international prefix, a country code and an NSN.
        self._by_length = [
            [(r, names) for r, names in self._alike if n >= r.shortest or n > _idd_digits(r) + _MIN_NSN]
            for n in range(_MAX_DIGITS + 1)
        ]
        self._unknown = tuple(name for name in self.regions if name not in known)
        self._strings: dict[str, frozenset[str] | None] = {}
        self._alone: dict[str, tuple[str, ...]] = {}

    def possible(self, text: str, strings: Iterable[str] | None = None) -> tuple[str, ...]:
        """The regions, in the recognizer's order, whose matcher may find a number in `text`
        (`strings`: those the matcher parses in it, when known)."""
        kept: set[str] = set()
        plus = False
        for string in parsed_strings(text) if strings is None else strings:
            found = self._string_regions(string)
            if found is None:
                plus = True
            else:
                kept |= found
        if plus:
            # One region that can only find `+` numbers stands for all of them.
            kept.update(itertools.islice((r.name for r in self._known if r.name not in kept), 1))
        return tuple(name for name in self.regions if name in kept or name in self._unknown)

    def possible_alone(self, cluster: str) -> tuple[str, ...]:
        """`possible(cluster)`, cached: code repeats its numbers."""
        found = self._alone.get(cluster)
        if found is None:
            if len(self._alone) > STRING_CACHE_SIZE:
                self._alone.clear()
            found = self._alone[cluster] = self.possible(cluster, plain_strings(cluster))
        return found

    def reads_any(self, cluster: str) -> bool:
        return bool(self.possible_alone(cluster))

    def matches(self, text: str, region: str, leniency: int) -> Iterator[PhoneNumberMatch]:
        """What `PhoneNumberMatcher(text, region, leniency)` finds, parsing fewer strings."""

        def readable(string: str) -> bool:
            found = self._string_regions(string)
            return found is None or region in found

        return iter(_RegionMatcher(text, region, leniency, readable))

    def _string_regions(self, string: str) -> frozenset[str] | None:
        """The regions whose `parse()` may read a valid number from `string`; None: a number with
        `+` and a known country code, which every region reads alike. Cached: code repeats its
        numbers."""
        found = self._strings.get(string, _UNKNOWN)
        if found is _UNKNOWN:
            if len(self._strings) > STRING_CACHE_SIZE:
                self._strings.clear()
            found = self._strings[string] = self._read(string)
        return found

    def _read(self, string: str) -> frozenset[str] | None:
        if string.isdecimal() and string.isascii():
            # Most strings are one run of digits: no letters, no `+`, one place to end.
            digits, ends, plus = string, [len(string)], False
        elif _THREE_LETTERS.search(string):
            return frozenset(self.regions)  # read as keypad digits: anything goes
        else:
            start = _NUMBER_START.search(string)
            if start is None:
                return frozenset()
            runs = _DIGIT_RUN.findall(string)
            if not string.isascii():
                runs = [phonenumbers.normalize_digits_only(run) for run in runs]
            digits = "".join(runs)
            ends = list(itertools.accumulate(map(len, runs)))
            plus = start.group() in _PLUS
        if len(digits) <= _MIN_NSN:
            return frozenset()  # too short for a country code and an NSN
        if plus and _country_code(digits) is not None:
            return None if _international(digits, 0, ends) else frozenset()
        # A `+` before an unknown country code is dropped and the number read as national.
        regions = self._by_length[min(len(digits), _MAX_DIGITS)]
        return frozenset().union(*(names for r, names in regions if _may_match(r, digits, ends)))


_UNKNOWN = frozenset({"?"})
"""Not in the string cache yet (None is a cached answer)."""


def _idd_digits(region: _Region) -> int:
    """The fewest digits the region's international prefix takes (a lower bound: 4 when no
    string of up to 3 digits is one)."""
    idd = region.international_prefix
    if idd is None:
        return _MAX_DIGITS
    for n in range(4):
        if any(idd.fullmatch("".join(d)) for d in itertools.product(_DIGITS, repeat=n)):
            return n
    return 4


def _country_code(digits: str, start: int = 0) -> int | None:
    """The country code `parse()` reads at `start` (phonenumbers' _extract_country_code)."""
    if start >= len(digits) or digits[start] == "0":
        return None
    for n in range(1, 4):
        if start + n <= len(digits) and int(digits[start : start + n]) in COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[start : start + n])
    return None


def _may_match(region: _Region, digits: str, ends: Sequence[int]) -> bool:
    """`digits`: those of a string `parse()` reads, from its first; `ends`: where its runs of
    digits end (an extension may follow the number)."""
    country = region.country
    if len(digits) >= region.shortest and (
        not region.narrow
        or _national_part(country, region.nsn_starts(digits), digits, 0, ends, default_country=True)
    ):
        return True
    idd = region.international_prefix.match(digits) if region.international_prefix else None
    # After an international prefix, a country code (never starting with 0) and its NSN.
    return idd is not None and len(digits) - idd.end() > _MIN_NSN and _international(digits, idd.end(), ends)


def _international(digits: str, start: int, ends: Sequence[int]) -> bool:
    """Whether a country code at `start` and a valid NSN of that country may follow."""
    cc = _country_code(digits, start)
    if cc is None:
        return False
    country = _country(cc)
    start += len(str(cc))
    if not country.keeps_digits:
        return len(digits) - start >= country.shortest
    return _national_part(country, country.strip.starts(digits, start), digits, start, ends)


def _national_part(
    country: _Country,
    nsn_starts: Sequence[int] | None,
    digits: str,
    start: int,
    ends: Sequence[int],
    *,
    default_country: bool = False,
) -> bool:
    """Whether a part of `digits` that starts at one of `nsn_starts`, after what `parse()` may
    strip from `start` (None: anywhere), and ends where a run of digits ends, is a national number
    of the country. `default_country`: the number has no `+` or international prefix, so a format
    that needs the national prefix rules out a part that starts where the digits do unless they
    start with a national prefix."""
    national, lengths = country.national, country.lengths
    if nsn_starts is None:
        return any(national.search(digits, start, end) for end in ends if end > start)
    for nsn in nsn_starts:
        for end in ends:
            if end <= nsn or (lengths is not None and end - nsn not in lengths):
                continue
            if not national.match(digits, nsn, end):
                continue
            # Without any prefix stripped, the number's format may need the national prefix.
            bare = nsn == start and default_country and _bare(country, digits, start)
            if not (bare and country.needs_national_prefix(digits[nsn:end])):
                return True
    return False


def _bare(country: _Country, digits: str, start: int) -> bool:
    """Whether the digits at `start` do not start with a (literal) national prefix."""
    prefixes = country.national_prefixes
    return prefixes is not None and not digits.startswith(prefixes, start)


@functools.cache
def presidio_regions() -> RegionFilter:
    """The filter of Presidio's default regions, shared by the pre-filter and the analyzer (and
    the cache of the clusters it has read alone)."""
    return RegionFilter(PRESIDIO_REGIONS)
