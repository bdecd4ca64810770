"""Loading YAML (and JSON, a subset of it) with the line of every value, for error messages that
name the file and line.

Dates stay strings (`expires: 2027-01-31` is validated by a schema pattern, not turned into a
`date` the JSON Schema cannot check), and a key given twice in one mapping is an error instead of
PyYAML's silent last-one-wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gates.errors import InputError

MAX_INPUT_BYTES = 16 * 1024 * 1024


class _Loader(yaml.SafeLoader):
    pass


# Keep timestamps as plain strings, and read booleans as YAML 1.2 does (only true/false), so that
# `mode: off` is the string "off", not YAML 1.1's False.
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedYaml:
    data: Any
    source: str
    lines: Mapping[Path_, int]

    def line_of(self, path: Path_) -> int | None:
        """The 1-based line of the value at `path`, or of its nearest ancestor."""
        path = tuple(path)
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)

    def where(self, path: Path_) -> str:
        line = self.line_of(path)
        return f"{self.source}:{line}" if line else self.source


def _record_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise InputError(
                    f"{source}:{key_node.start_mark.line + 1}: duplicate key {key!r} "
                    f"(first given on line {seen[key]})"
                )
            seen[key] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines, source)


def parse_yaml(text: str, source: str) -> LoadedYaml:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{source}{line}: invalid YAML: {e.problem or e.context}") from e
    except yaml.YAMLError as e:
        raise InputError(f"{source}: invalid YAML: {e}") from e
    lines: dict[Path_, int] = {}
    if node is not None:
        _record_lines(node, (), lines, source)
    return LoadedYaml(data=data, source=source, lines=lines)


def read_yaml(path: Path) -> LoadedYaml:
    """Parse a YAML or JSON file; any problem is an InputError naming the file (and line)."""
    return parse_yaml(read_input_text(path), str(path))


def read_input_text(path: Path) -> str:
    """The text of a user-given input file; InputError if unreadable, huge, binary or not UTF-8."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{source}: cannot read: {e.strerror or e}") from e
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{source}: too large ({len(raw)} bytes, limit {MAX_INPUT_BYTES})")
    if b"\0" in raw:
        raise InputError(f"{source}: binary file, expected YAML or JSON text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{source}:{line}: not UTF-8 text") from e
    return text
