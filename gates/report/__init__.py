"""Report formats: each renders a typed verdict (`gates.verdict.Verdict`) and nothing else.

A format's module is imported when it first renders: the HTML report brings jinja2, which a
pre-commit hook or a JSON-only run never needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gates import verdict as verdicts
from gates.verdict import Verdict

Render = Callable[[Verdict], str]


def _rendered_by(module: str) -> Render:
    """`gates.report.<module>.render`, imported at the first call."""

    def render(verdict: Verdict) -> str:
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
        ReportFormat("json", "verdict.json", verdicts.dump),
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
