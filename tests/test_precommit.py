"""The hooks with the real pre-commit: `pre-commit try-repo` this repository on a throwaway
repository with a staged violation (the hook fails) or a clean staged file (it passes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CLEAN_CODE, GIT_ENV, REPO_ROOT, VULNERABLE_CODE, Repo

pytestmark = pytest.mark.skipif(shutil.which("pre-commit") is None, reason="needs pre-commit")

POLICY = "version: 1\ngates:\n  sast: {fail_on: high}\n"


def try_repo(repo: Repo, hook: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(home),
        # `-system` hooks find the `gates` of the interpreter running the tests (this checkout).
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        ["pre-commit", "try-repo", str(REPO_ROOT), hook],
        cwd=repo.root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def stage(repo: Repo, rel: str, code: str) -> None:
    repo.write(rel, code)
    repo.git("add", rel)


@pytest.mark.parametrize("hook", ["gates-sast-system", pytest.param("gates-sast", marks=pytest.mark.slow)])
def test_staged_violation_fails_and_clean_change_passes(
    hook: str, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo({"gates.yaml": POLICY, "old.py": VULNERABLE_CODE})  # committed: not checked
    stage(repo, "app.py", CLEAN_CODE)
    clean = try_repo(repo, hook, tmp_path / "home")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    stage(repo, "pkg/run.py", VULNERABLE_CODE)
    dirty = try_repo(repo, hook, tmp_path / "home")
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "pkg/run.py:5: sast B602 (high)" in dirty.stdout
    assert "old.py" not in dirty.stdout
    assert not (repo.root / ".gates").exists()


def test_licence_hook_runs_only_when_a_lock_file_is_staged(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo({"gates.yaml": POLICY})
    stage(repo, "app.py", CLEAN_CODE)
    result = try_repo(repo, "gates-licence-system", tmp_path / "home")
    assert result.returncode == 0
    assert "(no files to check)Skipped" in result.stdout
