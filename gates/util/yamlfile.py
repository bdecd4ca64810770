"""Loading YAML (and JSON, a subset of it) with the line of every value, for error messages that
name the file and line.

Hostile input is refused fast and in bounded memory: only regular files are opened (a FIFO or
/dev/zero would block or never end), their size is checked before they are read, YAML text over
MAX_YAML_BYTES is refused (line tracking reads 0.3 MB/s), and a document whose aliases expand to
more than MAX_YAML_VALUES values (a "billion laughs") or refer to themselves is refused before
anything walks it.

Dates stay strings (`expires: 2027-01-31` is validated by a schema pattern, not turned into a
`date` the JSON Schema cannot check), and a key given twice in one mapping is an error instead of
PyYAML's silent last-one-wins.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gates.errors import InputError

MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_VALUES = 100_000
MAX_NESTING = 200


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(top: yaml.Node, source: str) -> None:
    """InputError when aliases make the document larger than MAX_YAML_VALUES values once expanded,
    or make a value contain itself. Iterative: a hostile document decides the depth."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(top, False)]
    while stack:
        node, children_done = stack.pop()
        line = node.start_mark.line + 1
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[id(node)] > MAX_YAML_VALUES:
                raise InputError(
                    f"{source}:{line}: aliases expand this value to more than {MAX_YAML_VALUES} values"
                )
            continue
        if id(node) in sizes:
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise InputError(f"{source}:{line}: an alias refers to a value containing it")
            stack.append((child, False))


def _check_flow_nesting(text: str, source: str) -> None:
    """InputError when `[` and `{` nest deeper than MAX_NESTING (quotes are not told apart: no
    policy needs hundreds of unclosed brackets). PyYAML takes minutes to refuse 10^5 of them."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return
    depth = 0
    for index, char in enumerate(text):
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, index) + 1
                raise InputError(f"{source}:{line}: nested deeper than {MAX_NESTING} levels")
        elif char in "]}":
            depth = max(0, depth - 1)


_ANCHOR_OR_ALIAS = re.compile(r"[&*][^\s,\[\]{}]")
# Indentation and compact `- `/`? ` indicators at the start of a line: what block nesting costs.
_BLOCK_PREFIX = re.compile(r"^[ \-?]*", re.MULTILINE)


def _may_nest_deeply(text: str) -> bool:
    """Whether block indentation or `- - - ...` could nest deeper than MAX_NESTING levels (the
    C loader overflows its stack on 10^5 of them instead of raising)."""
    return max((len(m) for m in _BLOCK_PREFIX.findall(text)), default=0) > 2 * MAX_NESTING


def check_hostile_yaml(text: str, source: str) -> None:
    """InputError for YAML too large, nested too deeply or expanding past its limits by aliases,
    before a loader is let loose on it (a fast loader, for many small trusted-shape files: only
    a document with anchors or aliases, or deep block nesting, is composed here first)."""
    if len(text) > MAX_YAML_BYTES:
        raise InputError(f"{source}: too large for YAML ({len(text)} characters, limit {MAX_YAML_BYTES})")
    _check_flow_nesting(text, source)
    if _ANCHOR_OR_ALIAS.search(text) or _may_nest_deeply(text):
        try:
            node = yaml.compose(text, Loader=_Loader)
        except yaml.YAMLError:
            return  # the loader says what is wrong with it
        except RecursionError as e:
            raise InputError(f"{source}: invalid YAML: nested too deeply") from e
        if node is not None:
            _check_aliases(node, source)


def parse_yaml(text: str, source: str) -> LoadedYaml:
    if len(text) > MAX_YAML_BYTES:
        raise InputError(f"{source}: too large for YAML ({len(text)} characters, limit {MAX_YAML_BYTES})")
    _check_flow_nesting(text, source)
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is not None:
            _check_aliases(node, source)
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{source}{line}: invalid YAML: {e.problem or e.context}") from e
    except yaml.YAMLError as e:
        raise InputError(f"{source}: invalid YAML: {e}") from e
    except RecursionError as e:
        raise InputError(f"{source}: invalid YAML: nested too deeply") from e
    lines: dict[Path_, int] = {}
    if node is not None:
        _record_lines(node, (), lines, source)
    return LoadedYaml(data=data, source=source, lines=lines)


def read_yaml(path: Path) -> LoadedYaml:
    """Parse a YAML or JSON file; any problem is an InputError naming the file (and line)."""
    return parse_yaml(read_input_text(path, MAX_YAML_BYTES), str(path))


def _read_at_most(fd: int, expected: int, most: int) -> bytes:
    """Up to `most` bytes of `fd`, asked for in reads of the size fstat gave: reading into a
    buffer of `most` bytes made every small input file cost a 16 MB allocation."""
    chunks: list[bytes] = []
    left = most
    while left > 0:
        chunk = os.read(fd, min(left, expected + 1 if not chunks else 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_input_bytes(path: Path | str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a user-given input file: a regular file of at most `limit` bytes, checked
    before reading, else InputError."""
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below refuses it anyway.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise InputError(f"{source}: cannot read: {e.strerror or e}") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{source}: not a regular file")
        if info.st_size > limit:
            raise InputError(f"{source}: too large ({info.st_size} bytes, limit {limit})")
        raw = _read_at_most(fd, info.st_size, limit + 1)
    except OSError as e:
        raise InputError(f"{source}: cannot read: {e.strerror or e}") from e
    finally:
        os.close(fd)
    if len(raw) > limit:  # grew since fstat
        raise InputError(f"{source}: too large (over {limit} bytes)")
    return raw


def read_input_text(path: Path, limit: int = MAX_INPUT_BYTES) -> str:
    """The text of a user-given input file; InputError if unreadable, huge, binary or not UTF-8."""
    source = str(path)
    raw = read_input_bytes(path, limit)
    if b"\0" in raw:
        raise InputError(f"{source}: binary file, expected YAML or JSON text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{source}:{line}: not UTF-8 text") from e
    return text
