"""The built-in report formats, as their `gates.reports` entry points name them.

Loading the entry points loads every format; a built-in one imports its module only when it first
renders: the HTML report brings jinja2, which a pre-commit hook or a JSON-only run never needs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from gates import verdict as verdicts
from gates.verdict import Verdict


@dataclass(frozen=True)
class BuiltinFormat:
    """`gates.report.<module>.render` under a format name and a file name."""

    name: str
    filename: str
    module: str

    def render(self, verdict: Verdict) -> str:
        text: str = importlib.import_module(f"gates.report.{self.module}").render(verdict)
        return text


@dataclass(frozen=True)
class VerdictJson:
    """verdict.json: the verdict document itself, checked against its schema before it is written."""

    name: str = "json"
    filename: str = "verdict.json"

    def render(self, verdict: Verdict) -> str:
        return verdicts.dump(verdict)


JSON = VerdictJson()
SARIF = BuiltinFormat("sarif", "gates.sarif", "sarif")
JUNIT = BuiltinFormat("junit", "junit.xml", "junit")
MARKDOWN = BuiltinFormat("md", "report.md", "markdown")
HTML = BuiltinFormat("html", "report.html", "html")
GITLAB_SAST = BuiltinFormat("gitlab-sast", "gl-sast-report.json", "gitlab_sast")
CODEQUALITY = BuiltinFormat("codequality", "gl-code-quality-report.json", "codequality")
