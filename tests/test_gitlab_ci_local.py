"""The GitLab template end to end with the real gitlab-ci-local (shell executor) on throwaway
repositories: a passing project gets its release tag, a failing one does not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CLEAN_CODE, GIT_ENV, REPO_ROOT, VULNERABLE_CODE, Repo

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("gitlab-ci-local") is None or shutil.which("rsync") is None,
        reason="needs gitlab-ci-local (npm install -g gitlab-ci-local@4.60) and rsync (apt-get)",
    ),
]

POLICY = "version: 1\ngates:\n  sast: {fail_on: high}\n"
# The project's pipeline: the template included as a local file, gates from the test's own
# environment (GATES_INSTALL empty), a release tag to cut, one gate enabled and one not.
PIPELINE = """\
include:
  - local: .gitlab-ci-template.yml
variables:
  GATES_INSTALL: ""
  GATES_RELEASE_TAG: v1.0.0
gates:gate:
  parallel:
    matrix:
      - GATE: [sast, pii]
"""


def run_pipeline(repo: Repo) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **GIT_ENV,
        # The jobs find the `gates` of the interpreter running the tests (this checkout).
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        # The template names an image for real runners; here every job runs in the shell.
        ["gitlab-ci-local", "--force-shell-executor", "--no-color"],
        cwd=repo.root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def project(make_repo: Callable[..., Repo], code: str) -> Repo:
    return make_repo({
        ".gitlab-ci-template.yml": (REPO_ROOT / ".gitlab-ci-template.yml").read_text(),
        ".gitlab-ci.yml": PIPELINE,
        ".gitignore": ".gitlab-ci-local/\n",
        "gates.yaml": POLICY,
        "app.py": code,
    })


def test_passing_project_is_tagged_with_the_verdict_as_note(make_repo: Callable[..., Repo]) -> None:
    repo = project(make_repo, CLEAN_CODE)
    result = run_pipeline(repo)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "gate pii: not enabled by the policy" in result.stdout
    assert repo.git("tag", "--list") == "v1.0.0"
    head = repo.git("rev-parse", "HEAD")
    assert repo.git("rev-parse", "v1.0.0^{commit}") == head
    assert '"status": "pass"' in repo.git("notes", "--ref", "gates", "show", head)
    assert (repo.root / ".gates/verdict/junit.xml").is_file()


def test_failing_project_gets_no_tag_and_the_verdict_job_fails(make_repo: Callable[..., Repo]) -> None:
    repo = project(make_repo, VULNERABLE_CODE)
    result = run_pipeline(repo)
    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert any("FAIL" in line and "gates:verdict" in line for line in lines), result.stdout[-3000:]
    assert not any("gates:release" in line and "starting" in line for line in lines)
    assert repo.git("tag", "--list") == ""
