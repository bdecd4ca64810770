"""Cheap pre-filter: the regions of a text where Presidio's pattern recognizers could match.

What every match of each pre-filtered recognizer contains:

- e-mail address: `@` and a word character, after a character of the local part (never
  whitespace nor one of `"(),.:;<>@[\\]`: a decorator is no candidate);
- IBAN: two capital letters and two digits (the country code and check digits), then two groups
  of four capitals or digits, each after at most one space or dash;
- phone number, SSN, card number, IPv4 address: a cluster of at least four digits separated by
  phonenumbers' punctuation (which holds the separators of the SSN, card and IPv4 patterns);
  SSNs and card numbers one of their digit shapes between non-digits, IPv4 addresses three dots;
- IPv6 address: two colons with at most four hex digits between them, where 1-4 hex digits that
  follow no word character or colon (or a `::` that follows none) start it.

Regexes whose first character is a literal or a digit find them at tens of MB/s, and only the
windows around a recognizer's own candidates reach it (for the phone recognizer, the clusters that
can hold a number that some region reads). A file where no recognizer has any is not given to
Presidio at all: it would find nothing there.

A window is snapped outwards to whitespace, so that regex boundaries (`\\b`, look-behinds) and
phonenumbers' checks on the neighbouring characters see the same thing inside the window as in the
whole file. A match lies in the words around its candidate: a digit cluster holds a phone, SSN or
card number whole, with its spaces, and an e-mail or IPv6 address holds no whitespace; only an
IBAN runs on past the words of its candidate, whose window is first widened by a margin after it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

PREFILTERED_ENTITIES = frozenset(
    {"EMAIL_ADDRESS", "IBAN_CODE", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IP_ADDRESS"}
)
"""The entities whose predefined recognizers are only given their candidates' windows."""
IBAN_MARGIN = 64
"""Characters kept after an IBAN's candidate, which its match may reach past (an IBAN takes at most
43 with spaces)."""
SNAP = 160
"""How far a window edge may move to reach whitespace."""
EMAIL_SNAP = 224
"""The same around an `@` (the local part of an e-mail address)."""
GROUP_GAP = 128
"""Candidates closer than this share one window (fewer whitespace searches in dense text)."""
SEPARATOR = "\n\n"
"""Joins windows: no recognizer of the pre-filtered entities matches across a blank line."""
NUMBER_DIGITS = 9
"""The fewest digits of an SSN (a card number has at least 13)."""
_SSN_OR_CARD = re.compile(
    r"(?<!\d)(?:\d{3}[- .]?\d{2}[- .]?\d{4}|[13456]\d{3}[- ]?\d{3,4}[- ]?\d{3,4}[- ]?\d{3,5}"
    r"|2\d{3}(?:[- ]?\d{4}){3}|4\d{3}(?:[- ]?\d{4}){3}[- ]?\d{3})(?!\d)"
)
"""Presidio's SSN shapes (3-2-4 digits with or without separators, 5-4, 3-6) and card shape, which
its patterns bound by `\\b`: a run of ten digits holds neither; and the shapes of the card numbers
its pattern misses (gates.pii.analyzer.ISSUED_CARDS)."""

_WHITESPACE = " \t\n\r\f\v"
_EMAIL = re.compile(r"@\w")
_NO_LOCAL_END = frozenset(_WHITESPACE + '"(),.:;<>@[\\]')
"""Characters that never end the local part before an address's `@` (Presidio's pattern ends it
with a word character or one of ``!#$%&'*+-/=?^_`{|}~``)."""
# `[A-Z][A-Z]` spelled out: twice as fast as `[A-Z]{2}`.
_IBAN = re.compile(r"[A-Z][A-Z][0-9][0-9][ -]?[A-Z0-9]{4}[ -]?[A-Z0-9]{4}")
_IPV6_COLONS = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX = frozenset("0123456789abcdefABCDEF")
_ASCII_WORD_OR_COLON = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")
"""Characters that keep an IPv6 match from starting after them (ASCII only: Presidio's `regex`
module and `re` disagree on some other word characters, and a candidate may be too wide)."""


# phonenumbers' _VALID_PUNCTUATION: the only characters its matcher allows between digit blocks.
PHONE_PUNCTUATION = (
    "\\-xX\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000"
    "()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e"
)


def _cluster_pattern(digit: str, punctuation: str) -> re.Pattern[str]:
    """A cluster of four digits or more, with at most four punctuation characters between digits,
    matched from its first digit: four digits start there exactly when the cluster holds four."""
    return re.compile(rf"{digit}(?:[{punctuation}]{{0,4}}{digit}){{3}}(?:[{punctuation}]{{0,4}}{digit})*")


_CLUSTER = _cluster_pattern(r"\d", PHONE_PUNCTUATION)
_ASCII_CLUSTER = _cluster_pattern(
    "[0-9]", re.escape("".join(c for c in map(chr, range(128)) if re.match(f"[{PHONE_PUNCTUATION}]", c)))
)
"""The same for an ASCII text, a quarter faster (a set of characters instead of Unicode's digits)."""
_DIGIT_RUN = re.compile(r"\d+")
PLAIN_CLUSTER = re.compile(r"[0-9]{1,20}(?:[-.xX][0-9]{1,20}){0,20}")
"""Runs of ASCII digits joined by single dots, dashes or x: versions, decimals, dates, addresses,
sizes. phonenumbers' matcher takes such a cluster whole (at most 21 blocks of at most 20 digits)."""
_OPENING_BRACKETS = "([\uff08\uff3b"
_LEAD_CLASS = re.compile(f"[{re.escape(_OPENING_BRACKETS)}+\uff0b]")
"""phonenumbers' matcher's _LEAD_CLASS: opening brackets and plus signs."""
_LEAD_REACH = 10
"""How far before its first digit a candidate of the matcher may start: two lead characters, each
followed by at most four punctuation characters."""
_PHONE_LEAD = re.compile(rf"[+\uff0b{PHONE_PUNCTUATION}]{{1,{_LEAD_REACH}}}$")
_EXTENSION_AHEAD = re.compile(
    r"[\s,:.-]*(?:e?xt|\uff45?\uff58\uff54|[x\uff58#\uff03~\uff5e;]|int|\uff49\uff4e\uff54|anexo|доб)[\s,:.=\uff0e-]*",
    re.IGNORECASE,
)
"""The separators and label of an extension after a number (phonenumbers' matcher's labels, with
any number of separators); the extension's digits follow (at most 20)."""
_EXTENSION_LEAD = (
    ";ext=|[ \u00a0\t,]*(?:e?xt(?:ensi(?:ó?|ó))?n?|\uff45?\uff58\uff54\uff4e?|доб|anexo"
    "|[x\uff58#\uff03~\uff5e]|int|\uff49\uff4e\uff54)[:.\uff0e]?[ \u00a0\t,-]*|[- ]+"
)
"""What phonenumbers' matcher pattern allows between a number's last digit and its extension's
digits (compiled with IGNORECASE)."""
_EXTENSION = re.compile(rf"(?:{_EXTENSION_LEAD})\d{{1,20}}#?", re.IGNORECASE)
_MATCHER_BLOCKS = 21
_BLOCK_DIGITS = 20
_INNER_SPLIT = frozenset("/(.\u2012\u2013\u2014\u2015\uff0d")


def _glue(c: str) -> bool:
    """A Latin letter next to a candidate makes phonenumbers reject it (it also rejects other
    Latin letters and some symbols: keeping those clusters only costs time)."""
    return c.isascii() and c.isalpha()


def digit_clusters(text: str) -> list[tuple[int, int]]:
    """The clusters of four digits or more: one regex pass that spares the many short numbers of
    code a match of their own."""
    return [m.span() for m in (_ASCII_CLUSTER if text.isascii() else _CLUSTER).finditer(text)]


class PhoneUnit(NamedTuple):
    """A cluster that can hold a phone number, with the text phonenumbers needs to judge it the
    way it would in the whole file (`_phone_unit`)."""

    start: int
    end: int
    offset: int
    """Where `text` starts in the file."""
    text: str
    core_end: int
    """Where in `text` the cluster or its extension ends: no match that overlaps the cluster
    ends after it."""
    alone: bool
    """Whether the matcher reads the cluster alone as in the file (`_lead_leaves_alone`)."""

    @property
    def cluster(self) -> str:
        return self.text[self.start - self.offset : self.end - self.offset]


def phone_units(
    text: str, clusters: Iterable[tuple[int, int]], readable: Callable[[str], bool]
) -> Iterator[PhoneUnit]:
    """The clusters that can hold a phone number.

    phonenumbers (at leniency VALID) starts a match at a digit run not preceded by a Latin letter,
    ends it at one not followed by one, and needs four digits: runs glued to letters at the edges
    of a cluster (hex literals, hashes, identifiers) cannot start or end a number. A cluster the
    matcher reads alone as in the text is kept only if `readable(cluster)`."""
    kept_end = -1
    for start, end in clusters:
        cluster = text[start:end]
        if _holds_number(text, start, end, cluster):
            previous_kept, kept_end = kept_end, end
            lead = _PHONE_LEAD.search(text, max(0, start - _LEAD_REACH), start)
            extension = _EXTENSION.match(text, end)
            alone = extension is None and _lead_leaves_alone(text, start, end, lead)
            if alone and not readable(cluster):
                continue
            yield _phone_unit(text, start, end, lead, extension, previous_kept, alone)


def _lead_leaves_alone(text: str, start: int, end: int, lead: re.Match[str] | None) -> bool:
    """Whether phonenumbers' matcher finds the same candidates in the cluster alone as in the
    text, as far as the numbers `parse()` reads from them go, given the `lead` before it (the run
    of plus signs and punctuation, at most _LEAD_REACH characters) and no extension after it: its
    pattern starts a candidate at a digit, or at a bracket or plus sign followed by nothing but
    those up to the digit (none in the lead, or one opening bracket right before a plain
    cluster: `parse()` starts reading at the digit, and the bracket splits the candidate nowhere
    else), and only an extension takes it past the cluster's last digit."""
    if lead is None or not (leads := _LEAD_CLASS.findall(lead.group())):
        return True
    bracket = leads == [text[start - 1]] and text[start - 1] in _OPENING_BRACKETS
    return bracket and PLAIN_CLUSTER.fullmatch(text, start, end) is not None


def _holds_number(text: str, start: int, end: int, cluster: str) -> bool:
    first_glued = start > 0 and _glue(text[start - 1])
    last_glued = end < len(text) and _glue(text[end])
    if cluster.isdecimal():
        # Most clusters are one run of digits, which a letter on either side leaves no digit
        # to start or end a number at.
        return not (first_glued or last_glued)
    runs = [len(r) for r in _DIGIT_RUN.findall(cluster)]
    if (first_glued or (last_glued and not _EXTENSION_AHEAD.match(text, end))) and _one_match(cluster, runs):
        return False
    return sum(runs[int(first_glued) : len(runs) - last_glued]) >= 4


def _one_match(cluster: str, runs: list[int]) -> bool:
    """Whether phonenumbers' matcher can only take the cluster whole: its pattern takes at most
    21 blocks of at most 20 digits, and it only tries parts of a rejected match at the characters
    of its inner-match patterns (slash, bracket, dot, dashes, spaces). A match glued to a letter is
    rejected at leniency VALID (unless an extension label follows it)."""
    return (
        len(runs) <= _MATCHER_BLOCKS
        and max(runs) <= _BLOCK_DIGITS
        and not any(c in _INNER_SPLIT or c.isspace() for c in cluster)
    )


def _phone_unit(
    text: str,
    start: int,
    end: int,
    lead: re.Match[str] | None,
    extension: re.Match[str] | None,
    previous_kept: int,
    alone: bool,
) -> PhoneUnit:
    """The text phonenumbers needs to judge one cluster the way it would in the whole file: the
    `lead` (plus signs, brackets, punctuation) and the character before it, the `extension`, and
    three characters after (a letter, or the `:00` that marks a time stamp). The character before
    is normalised, so that equal units share one result: letters and spaces, and the digits of a
    cluster that cannot hold a number (`_`), which phonenumbers must not read as part of this
    one; `previous_kept` is the end of the last cluster that can."""
    lo = lead.start() if lead else start
    core_end = extension.end() if extension else end
    unit = text[lo : core_end + 3]
    if lo > 0:
        before = text[lo - 1]
        if before.isascii() and before.isalpha():
            before = "a"
        elif before.isspace():
            before = " "
        elif before.isdecimal() and lo != previous_kept:
            before = "_"
        lo -= 1
        unit = before + unit
    return PhoneUnit(start, end, lo, unit, core_end - lo, alone)


def _ipv6_may_start(text: str, colon: int) -> bool:
    """Whether an IPv6 match may hold the colon pair at `colon`: it starts at the 1-4 hex digits
    before it, or at a first colon of `::`, after no word character or colon. A `::` with no hex
    digit on either side can only be the unspecified address, which is never reported
    (`gates.pii.allow.own_interface`)."""
    start = colon
    while start > max(0, colon - 4) and text[start - 1] in _HEX:
        start -= 1
    if start == colon and not (text.startswith("::", colon) and text[colon + 2 : colon + 3] in _HEX):
        return False
    return start == 0 or text[start - 1] not in _ASCII_WORD_OR_COLON


class Candidates:
    """The candidates of one text for each pre-filtered recognizer, and their windows, found on
    first use. `readable(cluster)`: whether some phone region reads a cluster alone
    (gates.pii.phone.RegionFilter.reads_any)."""

    def __init__(self, text: str, readable: Callable[[str], bool]) -> None:
        self.text = text
        self._readable = readable
        self._windows: dict[Windows, list[tuple[int, int]]] = {}

    def needed_by(self, entities: Iterable[str]) -> bool:
        """Whether the recognizers of `entities` have anything to look at: the analyzer's fast
        path gives each only its own windows (or phone units), so without any it finds nothing
        and the text need not reach Presidio. The cheap searches first, phone units last."""
        wanted = set(entities)
        if any(self.windows(ENTITY_WINDOWS[e]) for e in ENTITY_WINDOWS if e in wanted):
            return True
        return "PHONE_NUMBER" in wanted and bool(self.phones)

    def find_all(self, entities: Iterable[str]) -> Candidates:
        """Every window and phone unit the recognizers of `entities` ask for, found now: a process
        with time to spare finds them for the one that runs Presidio."""
        wanted = set(entities)
        for entity, of in ENTITY_WINDOWS.items():
            if entity in wanted:
                self.windows(of)
        if "PHONE_NUMBER" in wanted:
            self.phones  # noqa: B018 (computed and kept)
        return self

    def windows(self, of: Windows) -> list[tuple[int, int]]:
        """`of(self)`, computed once."""
        found = self._windows.get(of)
        if found is None:
            found = self._windows[of] = of(self)
        return found

    @cached_property
    def clusters(self) -> list[tuple[int, int]]:
        return digit_clusters(self.text)

    @cached_property
    def phones(self) -> list[PhoneUnit]:
        """The clusters that can hold a phone number (`phone_units`)."""
        return list(phone_units(self.text, self.clusters, self._readable))

    @cached_property
    def _emails(self) -> list[tuple[int, int]]:
        text = self.text
        return [
            m.span() for m in _EMAIL.finditer(text) if m.start() and text[m.start() - 1] not in _NO_LOCAL_END
        ]

    @cached_property
    def _ibans(self) -> list[tuple[int, int]]:
        return [m.span() for m in _IBAN.finditer(self.text)]

    @cached_property
    def _ipv6(self) -> list[tuple[int, int]]:
        text = self.text
        return [m.span() for m in _IPV6_COLONS.finditer(text) if _ipv6_may_start(text, m.start())]

    def email(self) -> list[tuple[int, int]]:
        """The whitespace-delimited word around each `@`: an address holds no whitespace, and at a
        window's edge the regex's `\\b` sees whitespace too (SEPARATOR)."""
        return windows(self.text, self._emails, snap=EMAIL_SNAP)

    def iban(self) -> list[tuple[int, int]]:
        """An IBAN starts at its candidate and takes at most 43 characters."""
        return windows(self.text, [(start, end + IBAN_MARGIN) for start, end in self._ibans])

    def numbers(self) -> list[tuple[int, int]]:
        """SSNs and card numbers: clusters holding one of their shapes between non-digits."""
        text = self.text
        spans = [
            (start, end)
            for start, end in self.clusters
            if end - start >= NUMBER_DIGITS and _SSN_OR_CARD.search(text, start, end)
        ]
        return windows(text, spans)

    def ip(self) -> list[tuple[int, int]]:
        """IPv4 addresses: clusters with three dots; IPv6 addresses: their colon pairs."""
        text = self.text
        spans = [(start, end) for start, end in self.clusters if text.count(".", start, end) >= 3]
        return windows(text, spans + self._ipv6)


Windows = Callable[[Candidates], list[tuple[int, int]]]
ENTITY_WINDOWS: dict[str, Windows] = {
    "EMAIL_ADDRESS": Candidates.email,
    "IBAN_CODE": Candidates.iban,
    "IP_ADDRESS": Candidates.ip,
    "US_SSN": Candidates.numbers,
    "CREDIT_CARD": Candidates.numbers,
}
"""The windows each pre-filtered entity's recognizer is given (the phone recognizer is given the
phone units instead)."""


def snap_back(text: str, pos: int, limit: int = SNAP) -> int:
    """The start of the whitespace-delimited word at or before `pos` (at most `limit` back)."""
    lo = max(0, pos - limit)
    return max((text.rfind(c, lo, pos) + 1 for c in _WHITESPACE), default=0) or lo


def snap_forward(text: str, pos: int, limit: int = SNAP) -> int:
    """The end of the whitespace-delimited word at or after `pos` (at most `limit` ahead)."""
    hi = min(len(text), pos + limit)
    found = [i for i in (text.find(c, pos, hi) for c in _WHITESPACE) if i != -1]
    return min(found) if found else hi


def windows(text: str, spans: Iterable[tuple[int, int]], snap: int = SNAP) -> list[tuple[int, int]]:
    """Merged windows covering every span, snapped outwards to whitespace at most `snap`
    characters away.

    Spans less than GROUP_GAP apart are grouped first and only the group's edges are snapped
    (snapping costs a search for whitespace; a dense file has one span every few characters): a
    window of whole words may hold more words than its spans need."""
    groups: list[list[int]] = []
    for start, end in sorted(spans):
        if groups and start <= groups[-1][1] + GROUP_GAP:
            groups[-1][1] = max(groups[-1][1], end)
        else:
            groups.append([start, end])
    merged: list[tuple[int, int]] = []
    for start, end in groups:
        lo = snap_back(text, start, snap) if start > 0 else 0
        hi = snap_forward(text, end, snap)
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


@dataclass(frozen=True)
class SparseText:
    """The windows of a text joined by SEPARATOR, with the way back to the original offsets."""

    text: str
    sparse_starts: Sequence[int]
    original_starts: Sequence[int]

    @classmethod
    def build(cls, text: str, spans: Sequence[tuple[int, int]]) -> SparseText:
        parts: list[str] = []
        sparse_starts: list[int] = []
        original_starts: list[int] = []
        pos = 0
        for lo, hi in spans:
            sparse_starts.append(pos)
            original_starts.append(lo)
            parts.append(text[lo:hi])
            pos += hi - lo + len(SEPARATOR)
        return cls(SEPARATOR.join(parts), sparse_starts, original_starts)

    def original(self, offset: int) -> int:
        i = bisect.bisect_right(self.sparse_starts, offset) - 1
        return self.original_starts[i] + offset - self.sparse_starts[i]
