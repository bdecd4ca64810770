"""Loading large JSON inputs (benchmark results, scanner reports) fast, with file:line errors.

The json module parses a 3.3 MB pytest-benchmark file at 58 MB/s where the line-tracking YAML
loader manages 0.30 MB/s (benchmarks/json_inputs.py), so the data is parsed with json and the text
is re-read with line tracking only when an error has to name the line of a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from gates.errors import InputError
from gates.util.yamlfile import (
    MAX_INPUT_BYTES,
    MAX_NESTING,
    MAX_YAML_BYTES,
    LoadedYaml,
    Path_,
    parse_yaml,
    read_input_text,
)


@dataclass(frozen=True)
class LoadedJson:
    data: Any
    source: str
    text: str

    @cached_property
    def _lines(self) -> LoadedYaml | None:
        if len(self.text) > MAX_YAML_BYTES:
            return None  # too slow to track lines of: the error names the file alone
        try:
            return parse_yaml(self.text, self.source)  # JSON is YAML; only on the error path
        except InputError:
            return None  # valid JSON the YAML loader rejects (tab indentation, duplicate keys)

    def line_of(self, path: Path_) -> int | None:
        """The 1-based line of the value at `path` (or of its nearest ancestor), if known."""
        return self._lines.line_of(path) if self._lines is not None else None

    def where(self, path: Path_) -> str:
        """`file:line` of the value at `path` (or of its nearest ancestor), else just `file`."""
        return self._lines.where(path) if self._lines is not None else self.source

    def error(self, path: Path_, message: str) -> InputError:
        return InputError(f"{self.where(path)}: {message}")


def parse_json(text: str, source: str) -> Any:
    """JSON text as data, nested at most MAX_NESTING deep (a file nested 10^5 deep would overflow
    the parser, then every recursive walk after it); any problem is an InputError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{source}:{e.lineno}: invalid JSON: {e.msg}") from e
    except RecursionError as e:
        raise InputError(f"{source}: nested deeper than {MAX_NESTING} levels") from e
    level: list[Any] = [data]
    for _ in range(MAX_NESTING):
        level = [
            child
            for value in level
            if isinstance(value, dict | list)
            for child in (value.values() if isinstance(value, dict) else value)
        ]
        if not level:
            return data
    raise InputError(f"{source}: nested deeper than {MAX_NESTING} levels")


def read_json(path: Path, limit: int = MAX_INPUT_BYTES) -> LoadedJson:
    """Parse a JSON file the user gave; any problem is an InputError naming the file and line."""
    text = read_input_text(path, limit)
    return LoadedJson(data=parse_json(text, str(path)), source=str(path), text=text)


_BLANK = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _step(text: str, at: int, step: str | int) -> int:
    """Offset of the member `step` of the object or array starting at `at`; siblings are skipped
    with the json module's C scanner, so finding a path is linear in the text."""
    opener, found = text[at], -1
    at = _BLANK.match(text, at + 1).end()  # type: ignore[union-attr]  # always matches
    index = 0
    while text[at] not in "}]":
        if opener == "{":
            key, at = _DECODER.raw_decode(text, at)
            at = _BLANK.match(text, at).end() + 1  # type: ignore[union-attr]  # past the colon
            at = _BLANK.match(text, at).end()  # type: ignore[union-attr]
            if key == step:
                found = at  # the last of duplicate keys is the one json.loads keeps
        elif index == step:
            return at
        _, at = _DECODER.raw_decode(text, at)
        at = _BLANK.match(text, at).end()  # type: ignore[union-attr]
        if text[at] == ",":
            at = _BLANK.match(text, at + 1).end()  # type: ignore[union-attr]
        index += 1
    if found < 0:
        raise ValueError(f"no member {step!r}")
    return found


def line_at(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line where the value at `path` starts in the JSON `text`, None if it has none."""
    try:
        at = _BLANK.match(text).end()  # type: ignore[union-attr]
        for step in path:
            at = _step(text, at, step)
    except (ValueError, IndexError, RecursionError):
        return None
    return text.count("\n", 0, at) + 1
