"""The policy keys the sbom and licence gates declare, apart from the machinery that generates and
reads SBOMs and judges licences: every command checks the whole policy and so loads every gate, and
only a gate that runs imports its machinery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KINDS = ("auto", "environment", "requirements", "poetry", "pipenv", "pyproject")

SBOM_SETTINGS_SCHEMA: Mapping[str, Any] = {
    "sbom": {
        "type": "object",
        "additionalProperties": False,
        "description": "Where the SBOM comes from: generated from a source, or an existing file.",
        "properties": {
            "source": {"enum": list(KINDS)},
            "path": {"type": "string", "minLength": 1},
            "python": {"type": "string", "minLength": 1},
            "file": {"type": "string", "minLength": 1},
            "spec_version": {"enum": ["1.4", "1.5", "1.6", "1.7"]},
        },
    }
}


CATEGORIES = (
    "CLA",
    "Commercial",
    "Copyleft",
    "Copyleft Limited",
    "Free Restricted",
    "Patent License",
    "Permissive",
    "Proprietary Free",
    "Public Domain",
    "Source-available",
    "Unstated License",
)
"""ScanCode's licence categories, the values of the licence gate's `deny_categories`."""
