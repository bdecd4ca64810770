"""Mapping character offsets to 1-based line numbers."""

from __future__ import annotations


class LineIndex:
    """The line numbers of one text's offsets, asked in increasing order (a file's findings,
    sorted): the newlines between one offset and the next are counted, and none past the last.
    An offset before the previous one is counted from the start again."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = 0
        self._line = 1

    def line(self, offset: int) -> int:
        if offset < self._offset:
            self._offset, self._line = 0, 1
        self._line += self._text.count("\n", self._offset, offset)
        self._offset = offset
        return self._line
