"""The progress lines of `gates run` count what the verdict's table counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable

from tests.conftest import Repo


def test_progress_counts_the_findings_the_table_counts(make_repo: Callable[..., Repo]) -> None:
    # The SBOM gate collects one inventory record per pinned component; none is a finding.
    repo = make_repo({"requirements.txt": "click==8.1.7\n"})
    result = subprocess.run(
        [sys.executable, "-m", "gates", "run", "--only", "sbom", "--no-cache"],
        cwd=repo.root, capture_output=True, text=True, check=False, env={**os.environ, "CI": "true"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    collected = re.search(r"^sbom: collected, (\d+) finding\(s\)", result.stderr, re.M)
    table = re.search(r"^  sbom +PASS +\d+ counted, \d+ waived, (\d+) total", result.stdout, re.M)
    assert collected and table, result.stdout + result.stderr
    assert collected[1] == table[1] == "0"
    findings = (repo.root / ".gates/findings.json").read_text()
    assert '"rule": "component"' in findings  # the record was collected, and is no finding
