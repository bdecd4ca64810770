"""Mapping character offsets to 1-based line numbers."""

from __future__ import annotations

import bisect
import re

_NEWLINE = re.compile("\n")


class LineIndex:
    """Built lazily by the caller, only for files that have findings."""

    def __init__(self, text: str) -> None:
        self._starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset)
