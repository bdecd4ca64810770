"""The file a finding is shown at, for formats that require one (SARIF for GitHub, GitLab's)."""

from __future__ import annotations

from pathlib import Path

from gates.model import Finding
from gates.verdict import Verdict


def file_of(finding: Finding, verdict: Verdict) -> str:
    """The finding's path, else a file to anchor it at. GitHub code scanning rejects a whole upload
    when one result has no file location, so findings about a component or a URL are anchored to
    the manifest the gate names (`Finding.manifest`), else to the policy file that made them count."""
    if finding.location.path:
        return finding.location.path
    if finding.manifest:
        return finding.manifest
    source = verdict.policy.source
    if source.startswith("builtin:"):
        return "gates.yaml"
    root = Path(verdict.subject.path)
    policy = Path(source)
    if policy.is_absolute():
        return policy.relative_to(root).as_posix() if root in policy.parents else policy.name
    return policy.as_posix()
