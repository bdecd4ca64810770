"""The hooks with the real pre-commit, as shipped (.pre-commit-hooks.yaml unmodified) and under the
default policy (no gates.yaml): `git commit` in a throwaway repository whose .pre-commit-config.yaml
uses them, and `pre-commit try-repo` for the hooks that build their own environment."""

from __future__ import annotations

import os
import secrets
import shutil
import string
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CLEAN_CODE, GIT_ENV, REPO_ROOT, VULNERABLE_CODE, Repo, git

pytestmark = pytest.mark.skipif(shutil.which("pre-commit") is None, reason="needs pre-commit (pip)")

SYSTEM_HOOKS = ("gates-sast-system", "gates-secrets-system", "gates-pii-system", "gates-licence-system")


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(home),
        # The hooks find the `gates` of the interpreter running the tests (this checkout).
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A repository holding the shipped manifest, as pre-commit fetches it: (path, rev).
    `language: system` hooks need nothing else from this project."""
    root = tmp_path_factory.mktemp("hooks")
    git(root, "init", "-q", "-b", "main")
    shutil.copy(REPO_ROOT / ".pre-commit-hooks.yaml", root / ".pre-commit-hooks.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hooks")
    yield root, git(root, "rev-parse", "HEAD")


@pytest.fixture
def project(
    make_repo: Callable[..., Repo], hooks_repo: tuple[Path, str], tmp_path: Path
) -> Iterator[Repo]:
    """A repository with the system hooks installed as a user would, and no gates.yaml."""
    path, rev = hooks_repo
    hooks = "".join(f"      - id: {h}\n" for h in SYSTEM_HOOKS)
    config = f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n{hooks}"
    repo = make_repo({".pre-commit-config.yaml": config, "README.md": "# app\n"})
    done = subprocess.run(
        ["pre-commit", "install"], cwd=repo.root, env=_env(tmp_path / "home"),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    yield repo


def commit(repo: Repo, files: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    for rel, text in files.items():
        repo.write(rel, text)
        repo.git("add", rel)
    # git shows what the hooks print on its standard error: one stream, in order.
    return subprocess.run(
        ["git", "commit", "-m", "change"], cwd=repo.root, env=_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False,
    )  # fmt: skip


def fake_aws_key() -> str:
    """A key in AWS's format, made at run time: this repository holds no key literal."""
    alphabet = string.ascii_uppercase + string.digits
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def test_clean_commit_passes(project: Repo, tmp_path: Path) -> None:
    before = project.git("rev-parse", "HEAD")
    result = commit(project, {"app.py": CLEAN_CODE}, tmp_path / "home")
    assert result.returncode == 0, result.stdout
    assert "gates secrets (detect-secrets)" in result.stdout
    assert "Failed" not in result.stdout
    # The licence hook runs only when a requirements or lock file is staged.
    assert "gates licence" in result.stdout and "(no files to check)Skipped" in result.stdout
    assert project.git("rev-parse", "HEAD") != before


def test_staged_aws_key_is_blocked_and_not_printed(project: Repo, tmp_path: Path) -> None:
    key = fake_aws_key()
    before = project.git("rev-parse", "HEAD")
    result = commit(project, {"settings.py": f'AWS_ACCESS_KEY_ID = "{key}"\n'}, tmp_path / "home")
    assert result.returncode == 1, result.stdout
    assert "settings.py:1: secrets aws-access-key (high)" in result.stdout
    assert key not in result.stdout
    assert project.git("rev-parse", "HEAD") == before


def test_staged_shell_true_is_blocked(project: Repo, tmp_path: Path) -> None:
    before = project.git("rev-parse", "HEAD")
    result = commit(project, {"pkg/run.py": VULNERABLE_CODE}, tmp_path / "home")
    assert result.returncode == 1, result.stdout
    assert "pkg/run.py:5: sast B602 (high)" in result.stdout
    assert project.git("rev-parse", "HEAD") == before
    assert not (project.root / ".gates").exists()  # hooks write nothing into the repository


def test_warnings_show_without_verbose_and_the_commit_goes_through(project: Repo, tmp_path: Path) -> None:
    before = project.git("rev-parse", "HEAD")
    export = "id,name,email\n17,Maria Gonzalez,maria.gonzalez@telefonica.es\n"
    result = commit(project, {"contact.txt": export}, tmp_path / "home")
    assert result.returncode == 0, result.stdout
    assert "contact.txt:2: pii EMAIL_ADDRESS (medium)" in result.stdout
    assert "pii: WARN" in result.stdout
    assert "maria.gonzalez@telefonica.es" not in result.stdout
    assert project.git("rev-parse", "HEAD") != before


def try_repo(repo: Repo, hook: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pre-commit", "try-repo", str(REPO_ROOT), hook],
        cwd=repo.root, env=_env(home), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("hook", ["gates-sast", "gates-secrets"])
def test_hooks_with_their_own_environment(hook: str, make_repo: Callable[..., Repo], tmp_path: Path) -> None:
    """`language: python`: pre-commit builds an environment from this repository (PyPI for the
    dependencies) and the hook runs in it."""
    repo = make_repo({"old.py": VULNERABLE_CODE})  # committed: not checked
    repo.write("app.py", CLEAN_CODE)
    repo.git("add", "app.py")
    clean = try_repo(repo, hook, tmp_path / "home")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    violation = {"gates-sast": VULNERABLE_CODE, "gates-secrets": f'KEY = "{fake_aws_key()}"\n'}[hook]
    repo.write("pkg/run.py", violation)
    repo.git("add", "pkg/run.py")
    dirty = try_repo(repo, hook, tmp_path / "home")
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "pkg/run.py:" in dirty.stdout and "old.py" not in dirty.stdout
