"""Report formats: each renders a typed verdict (`gates.verdict.Verdict`) and nothing else.

A format is registered like a gate, in the `gates.reports` entry-point group under its name, the
built-in ones included (`builtin.py`, found through `registry.py`); the entry point names an object
or a class (made without arguments) with `name`, `filename` and `render`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gates.verdict import Verdict


@runtime_checkable
class ReportFormat(Protocol):
    name: str
    """The key of `--format` and of the entry point."""
    filename: str
    """The file `gates run` writes in its output folder: a plain name, unique among the formats."""

    def render(self, verdict: Verdict) -> str: ...


# What `gates run` writes when no --format is given; the GitLab formats are asked for by name.
DEFAULT_FORMATS: tuple[str, ...] = ("json", "sarif", "junit", "md", "html")
