"""The JSON Schemas of the policy and verdict formats, and validation against them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema

SCHEMA_NAMES = ("policy", "verdict")


@cache
def load_schema(name: str) -> Mapping[str, Any]:
    text = files("gates.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema


def iter_errors(instance: Any, schema: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """Validation errors, the deepest and first-placed first, so the first one is the one to show."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(instance),
        key=lambda e: (-len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    yield from errors


def describe_path(path: Any) -> str:
    """`gates.sast.fail_on` for a jsonschema error path, `(top level)` for the root."""
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in path]
    return ".".join(parts).replace(".[", "[") or "(top level)"
