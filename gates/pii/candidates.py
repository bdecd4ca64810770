"""Cheap pre-filter: the regions of a text where Presidio's pattern recognizers could match.

Every e-mail address contains `@`, every IPv6 address two colons with at most four hex digits
between them, and every phone number, IPv4 address, SSN, card number and IBAN a cluster of at least
four digits separated by punctuation or spaces (phonenumbers accepts German numbers of four digits,
such as "#1645"; pragma: allowlist pii). One compiled regex whose first character is `@`, `:` or a
digit finds them at tens of MB/s; only the windows around them reach Presidio.

A window is widened by a margin and snapped outwards to whitespace, so that regex boundaries (`\\b`,
look-behinds) and phonenumbers' checks on the neighbouring characters see the same thing inside the
window as in the whole file, and a match that starts before the candidate (the local part of an
e-mail, an IBAN's country code) is inside it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

CANDIDATE = re.compile(r"@\w|:[0-9A-Fa-f]{0,4}:|\d(?:[^\w\n]{0,4}\d){3}")
EMAIL_CANDIDATE = re.compile(r"@\w")
IP_CANDIDATE = re.compile(r":[0-9A-Fa-f]{0,4}:|\d\.\d{1,3}\.\d{1,3}\.\d")
"""What every match of Presidio's e-mail and IP recognizers contains (`@`; an IPv4 address's four
dotted groups, or two colons of an IPv6 address): their own windows, smaller than the shared ones."""
MARGIN = 64
"""Characters kept on each side of a candidate before snapping (an IBAN is at most 42 with spaces)."""
SNAP = 160
"""How far a window edge may move to reach whitespace (the local part of an e-mail address)."""
SEPARATOR = "\n\n"
"""Joins windows: no recognizer of the pre-filtered entities matches across a blank line."""

_WHITESPACE = " \t\n\r\f\v"


# phonenumbers' _VALID_PUNCTUATION: the only characters its matcher allows between digit blocks.
PHONE_PUNCTUATION = (
    "\\-xX\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000"
    "()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e"
)
_DIGIT_CLUSTER = re.compile(rf"\d+(?:[{PHONE_PUNCTUATION}]{{1,4}}\d+)*")
_FOUR_DIGITS = re.compile(rf"\d(?:[{PHONE_PUNCTUATION}]{{0,4}}\d){{3}}")
_DIGIT_RUN = re.compile(r"\d+")
_PHONE_LEAD = re.compile(rf"[+\uff0b{PHONE_PUNCTUATION}]{{1,8}}$")
_EXTENSION_AHEAD = re.compile(
    r"[\s,:.-]*(?:e?xt|\uff45?\uff58\uff54|[x\uff58#\uff03~\uff5e;]|int|\uff49\uff4e\uff54|anexo|доб)[\s,:.=\uff0e-]*",
    re.IGNORECASE,
)
"""The separators and label of an extension after a number (phonenumbers' matcher's labels, with
any number of separators); the extension's digits follow (at most 20)."""
_EXTENSION_DIGITS = 30
_MATCHER_BLOCKS = 21
_BLOCK_DIGITS = 20
_INNER_SPLIT = frozenset("/(.\u2012\u2013\u2014\u2015\uff0d")


def _glue(c: str) -> bool:
    """A Latin letter next to a candidate makes phonenumbers reject it (it also rejects other
    Latin letters and some symbols: keeping those clusters only costs time)."""
    return c.isascii() and c.isalpha()


def phone_units(text: str) -> Iterator[tuple[int, int, int, str]]:
    """The clusters of digits that can hold a phone number, as (start, end, offset, unit): the unit
    is the text phonenumbers needs to judge the cluster the way it would in the whole file
    (`phone_unit`).

    phonenumbers (at leniency VALID) starts a match at a digit run not preceded by a Latin letter,
    ends it at one not followed by one, and needs four digits: clusters of fewer digits, and runs
    glued to letters at the edges of a cluster (hex literals, hashes, identifiers), cannot start
    or end a number. The others are found from their first digit (a cluster holds four digits
    exactly when four digits with at most four punctuation characters between them start there),
    which spares the many short numbers of code a pass of their own."""
    pos = 0
    kept_end = -1
    while found := _FOUR_DIGITS.search(text, pos):
        start = found.start()
        cluster = _DIGIT_CLUSTER.match(text, start)
        assert cluster is not None, "four digits start a cluster"
        end = pos = cluster.end()
        if _holds_number(text, start, end, cluster.group()):
            offset, unit = phone_unit(text, start, end, previous_kept=kept_end)
            kept_end = end
            yield start, end, offset, unit


def _holds_number(text: str, start: int, end: int, cluster: str) -> bool:
    # Most clusters are one run of digits: no second regex pass for them.
    runs = [len(cluster)] if cluster.isdecimal() else [len(r) for r in _DIGIT_RUN.findall(cluster)]
    first_glued = start > 0 and _glue(text[start - 1])
    last_glued = end < len(text) and _glue(text[end])
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


def phone_unit(text: str, start: int, end: int, *, previous_kept: int = -1) -> tuple[int, str]:
    """The text phonenumbers needs to judge one cluster the way it would in the whole file, as
    (offset, text): leading `+`/brackets/punctuation and the character before them, three
    characters after (a letter, or the `:00` that marks a time stamp), more when an extension may
    follow. The character before is normalised, so that equal units share one result: letters and
    spaces, and the digits of a cluster that cannot hold a number (`_`), which phonenumbers must
    not read as part of this one; `previous_kept` is the end of the last cluster that can."""
    lead = _PHONE_LEAD.search(text, max(0, start - 8), start)
    lo = lead.start() if lead else start
    extension = _EXTENSION_AHEAD.match(text, end)
    ahead = extension.end() - end + _EXTENSION_DIGITS if extension else 3
    unit = text[lo : end + ahead]
    if lo == 0:
        return lo, unit
    before = text[lo - 1]
    if before.isascii() and before.isalpha():
        before = "a"
    elif before.isspace():
        before = " "
    elif before.isdecimal() and lo != previous_kept:
        before = "_"
    return lo - 1, before + unit


def candidate_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in CANDIDATE.finditer(text)]


def sparse_around(text: str, candidate: re.Pattern[str]) -> SparseText | None:
    """The windows around `candidate`'s matches (None: there are none)."""
    spans = [m.span() for m in candidate.finditer(text)]
    return SparseText.build(text, windows(text, spans)) if spans else None


def has_candidates(text: str) -> bool:
    return CANDIDATE.search(text) is not None


def snap_back(text: str, pos: int, limit: int = SNAP) -> int:
    """The start of the whitespace-delimited word at or before `pos` (at most `limit` back)."""
    lo = max(0, pos - limit)
    return max((text.rfind(c, lo, pos) + 1 for c in _WHITESPACE), default=0) or lo


def snap_forward(text: str, pos: int, limit: int = SNAP) -> int:
    """The end of the whitespace-delimited word at or after `pos` (at most `limit` ahead)."""
    hi = min(len(text), pos + limit)
    found = [i for i in (text.find(c, pos, hi) for c in _WHITESPACE) if i != -1]
    return min(found) if found else hi


def windows(text: str, spans: Iterable[tuple[int, int]], margin: int = MARGIN) -> list[tuple[int, int]]:
    """Merged, snapped windows covering every span with `margin` characters of context.

    Spans whose margins touch are grouped first and only the group's edges are snapped (snapping
    costs a search for whitespace; a dense file has one span every few characters): snapping
    never moves an edge inwards, so this covers the same text as snapping every span."""
    groups: list[list[int]] = []
    for start, end in sorted(spans):
        if groups and start - margin <= groups[-1][1] + margin:
            groups[-1][1] = max(groups[-1][1], end)
        else:
            groups.append([start, end])
    merged: list[tuple[int, int]] = []
    for start, end in groups:
        lo = snap_back(text, start - margin) if start > margin else 0
        hi = snap_forward(text, end + margin)
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
