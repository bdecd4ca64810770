"""Report formats: each renders a verdict (the validated JSON document) and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gates.report import codequality, gitlab_sast, html, junit, markdown, sarif
from gates.util.atomic import dump_json


@dataclass(frozen=True)
class ReportFormat:
    name: str
    filename: str
    render: Callable[[Mapping[str, Any]], str]


FORMATS: Mapping[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("json", "verdict.json", dump_json),
        ReportFormat("sarif", "gates.sarif", sarif.render),
        ReportFormat("junit", "junit.xml", junit.render),
        ReportFormat("md", "report.md", markdown.render),
        ReportFormat("html", "report.html", html.render),
        ReportFormat("gitlab-sast", "gl-sast-report.json", gitlab_sast.render),
        ReportFormat("codequality", "gl-code-quality-report.json", codequality.render),
    )
}

# What `gates run` writes when no --format is given; the GitLab formats are asked for by name.
DEFAULT_FORMATS: tuple[str, ...] = ("json", "sarif", "junit", "md", "html")
