"""The JSON Schemas of the policy and verdict formats, and validation against them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema
import pathspec

SCHEMA_NAMES = ("policy", "verdict")


@cache
def load_schema(name: str) -> Mapping[str, Any]:
    text = files("gates.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema


FORMATS = jsonschema.FormatChecker(formats=())
"""The formats schemas here assert: a pattern that would fail when first used is refused at load."""


@FORMATS.checks("regex", raises=re.error)
def _regex(value: object) -> bool:
    if isinstance(value, str):
        re.compile(value)
    return True


@FORMATS.checks("glob", raises=(re.error, ValueError))
def _glob(value: object) -> bool:
    """A gitignore-style glob, as gates.util.files matches paths with it."""
    if isinstance(value, str):
        pathspec.GitIgnoreSpec.from_lines([value])
    return True


def iter_errors(instance: Any, schema: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """Validation errors, the deepest and first-placed first, so the first one is the one to show."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    errors = sorted(
        validator.iter_errors(instance),
        key=lambda e: (-len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    yield from errors


def describe_path(path: Any) -> str:
    """`gates.sast.fail_on` for a jsonschema error path, `(top level)` for the root."""
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in path]
    return ".".join(parts).replace(".[", "[") or "(top level)"
