"""Report formats: each renders a verdict (the validated JSON document) and nothing else.

A format's module is imported when it first renders: the HTML report brings jinja2, which a
pre-commit hook or a JSON-only run never needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gates.util.atomic import dump_json

Render = Callable[[Mapping[str, Any]], str]


def _rendered_by(module: str) -> Render:
    """`gates.report.<module>.render`, imported at the first call."""

    def render(verdict: Mapping[str, Any]) -> str:
        text: str = importlib.import_module(f"gates.report.{module}").render(verdict)
        return text

    return render


@dataclass(frozen=True)
class ReportFormat:
    name: str
    filename: str
    render: Render


FORMATS: Mapping[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("json", "verdict.json", dump_json),
        ReportFormat("sarif", "gates.sarif", _rendered_by("sarif")),
        ReportFormat("junit", "junit.xml", _rendered_by("junit")),
        ReportFormat("md", "report.md", _rendered_by("markdown")),
        ReportFormat("html", "report.html", _rendered_by("html")),
        ReportFormat("gitlab-sast", "gl-sast-report.json", _rendered_by("gitlab_sast")),
        ReportFormat("codequality", "gl-code-quality-report.json", _rendered_by("codequality")),
    )
}

# What `gates run` writes when no --format is given; the GitLab formats are asked for by name.
DEFAULT_FORMATS: tuple[str, ...] = ("json", "sarif", "junit", "md", "html")
