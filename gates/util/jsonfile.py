"""Loading large JSON inputs (benchmark results, scanner reports) fast, with file:line errors.

The json module parses a 3.3 MB pytest-benchmark file at 58 MB/s where the line-tracking YAML
loader manages 0.30 MB/s (benchmarks/json_inputs.py), so the data is parsed with json and the text
is re-read with line tracking only when an error has to name the line of a value.
"""

from __future__ import annotations

import json
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
