"""The JSON Schemas of the policy and verdict formats, and validation against them.

jsonschema is imported when something is validated, not with this module: it imports every format
checker it ships (URI, date, duration, hostname libraries), a tenth of a second that commands which
validate nothing need not pay. Within `remembering_valid(folder)` (the pre-commit hook, which checks
the same policy on every commit) a document found valid is remembered in a sealed folder, keyed by
the document, the schema and the versions of gates, jsonschema, pathspec and Python, and is not
validated again: an unchanged policy costs no jsonschema at all; any other document is validated.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pathspec

from gates import __version__
from gates.util.sealed import SealedFolder, keep_newest

if TYPE_CHECKING:
    import jsonschema

SCHEMA_NAMES = ("policy", "verdict")


@cache
def load_schema(name: str) -> Mapping[str, Any]:
    text = files("gates.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema


@cache
def _format_checker() -> jsonschema.FormatChecker:
    """The formats schemas here assert: a pattern that would fail when first used is refused at load."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("regex", raises=re.error)(_regex)
    checker.checks("glob", raises=(re.error, ValueError))(_glob)
    return checker


def _regex(value: object) -> bool:
    if isinstance(value, str):
        re.compile(value)
    return True


def _glob(value: object) -> bool:
    """A gitignore-style glob, as gates.util.files matches paths with it."""
    if isinstance(value, str):
        pathspec.GitIgnoreSpec.from_lines([value])
    return True


_VALID = b"valid"
_KEEP_VALID = 64
"""Documents remembered as valid: a few policies' files and gate sections; the oldest go."""
_remembering: ContextVar[SealedFolder | None] = ContextVar("remembering_valid", default=None)


@contextmanager
def remembering_valid(folder: SealedFolder | None) -> Iterator[None]:
    """Within: documents validated without errors are remembered in `folder` (None: not at all)."""
    token = _remembering.set(folder)
    try:
        yield
    finally:
        _remembering.reset(token)


def _plain(value: object) -> bool:
    """Whether JSON text says `value` exactly: string keys and JSON's own types only (YAML's
    integer keys or dates would be written like strings and share a key with them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack += item.values()
        elif isinstance(item, list):
            stack += item
        elif not (item is None or isinstance(item, str | int | float)):
            return False
    return True


@cache
def _versions() -> list[str]:
    """What decides whether a document is valid besides the schema: gates (its format checks),
    jsonschema, pathspec (the glob format) and Python (the regex format)."""
    return [__version__, sys.version, *(importlib.metadata.version(d) for d in ("jsonschema", "pathspec"))]


def _remembered_entry(folder: SealedFolder, instance: Any, schema: Mapping[str, Any]) -> Path | None:
    """Where `folder` remembers that `instance` is valid against `schema` (None: not rememberable)."""
    if not (_plain(instance) and _plain(schema)):
        return None
    try:
        material = json.dumps([_versions(), schema, instance], sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return folder.folder / "valid" / hashlib.sha256(material.encode()).hexdigest()


def _remember(folder: SealedFolder, entry: Path) -> None:
    try:
        entry.parent.mkdir(exist_ok=True)
        folder.write_sealed(entry, _VALID)
        keep_newest(entry.parent.iterdir(), _KEEP_VALID)
    except OSError:
        pass  # remembering is an optimisation: the next run validates again


def iter_errors(instance: Any, schema: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """Validation errors, the deepest and first-placed first, so the first one is the one to show."""
    folder = _remembering.get()
    entry = _remembered_entry(folder, instance, schema) if folder is not None else None
    if folder is not None and entry is not None and folder.read_sealed(entry) == _VALID:
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=_format_checker())
    errors = sorted(
        validator.iter_errors(instance),
        key=lambda e: (-len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    if not errors and folder is not None and entry is not None:
        _remember(folder, entry)
    yield from errors


def describe_path(path: Any) -> str:
    """`gates.sast.fail_on` for a jsonschema error path, `(top level)` for the root."""
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in path]
    return ".".join(parts).replace(".[", "[") or "(top level)"
