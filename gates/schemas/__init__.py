"""The JSON Schemas of the policy and verdict formats, and validation against them.

jsonschema is imported when something is validated, not with this module: it imports every format
checker it ships (URI, date, duration, hostname libraries), a tenth of a second that commands which
validate nothing (and reports) need not pay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import pathspec

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


def iter_errors(instance: Any, schema: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """Validation errors, the deepest and first-placed first, so the first one is the one to show."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=_format_checker())
    errors = sorted(
        validator.iter_errors(instance),
        key=lambda e: (-len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    yield from errors


def describe_path(path: Any) -> str:
    """`gates.sast.fail_on` for a jsonschema error path, `(top level)` for the root."""
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in path]
    return ".".join(parts).replace(".[", "[") or "(top level)"
