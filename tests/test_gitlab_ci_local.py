"""The GitLab template end to end with the real gitlab-ci-local (shell executor): the shipped
.gitlab-ci-template.yml unmodified, included as pipelines/README.md says, the default policy (no
gates.yaml), and the child pipeline `gates plan --format gitlab` makes, triggered from it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import (
    CLEAN_CODE,
    GIT_ENV,
    REPO_ROOT,
    V1_TAG,
    VULNERABLE_CODE,
    Repo,
    assert_changed_since_v1,
    assert_first_release,
    git,
    next_release_requirements,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("gitlab-ci-local") is None or shutil.which("rsync") is None,
        reason="needs gitlab-ci-local (npm install -g gitlab-ci-local@4.60) and rsync (apt-get)",
    ),
]

SIGNING_KEY = "a-shared-secret-for-the-tests-0123456789"  # pragma: allowlist secret


def pipeline_file(remote: Path, tag: str) -> str:
    """The project's .gitlab-ci.yml as a user writes it: gates from the test's own environment
    (GATES_INSTALL empty), a release tag to cut, where to push it."""
    return (
        "include:\n  - local: .gitlab-ci-template.yml\n"
        f'variables:\n  GATES_INSTALL: ""\n  GATES_RELEASE_TAG: {tag}\n  GATES_PUSH_URL: {remote}\n'
    )


def run_local(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in {**os.environ, **GIT_ENV}.items()
        # A fresh runner: no git identity (the release job must set one).
        if not key.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))
    }
    # The jobs find the `gates` of the interpreter running the tests (this checkout). gitlab-ci-local
    # runs jobs in a bash that reads ~/.bashrc (its standard input is a socket), which may put another
    # `gates` first: a HOME of its own keeps the job's PATH as given.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env["HOME"] = str(repo.root.parent / "home")
    return subprocess.run(
        # The template names an image for real runners; here every job runs in the shell.
        ["gitlab-ci-local", "--force-shell-executor", "--no-color", *args],
        cwd=repo.root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def project(make_repo: Callable[..., Repo], code: str, tag: str) -> tuple[Repo, Path]:
    remote = make_repo().root.parent / "remote.git"
    git(remote.parent, "init", "-q", "--bare", str(remote))
    repo = make_repo({
        ".gitlab-ci-template.yml": (REPO_ROOT / ".gitlab-ci-template.yml").read_text(),
        ".gitlab-ci.yml": pipeline_file(remote, tag),
        # gitlab-ci-local's state folder and its file of CI/CD variables are no project content.
        ".gitignore": ".gitlab-ci-local/\n.gitlab-ci-local-variables.yml\n",
        "app.py": code,
    })  # fmt: skip
    (repo.root.parent / "home").mkdir(exist_ok=True)
    git(repo.root, "remote", "add", "origin", str(remote))
    git(repo.root, "push", "-q", "origin", "main")
    return repo, remote


def job_lines(result: subprocess.CompletedProcess[str], status: str) -> list[str]:
    """The jobs gitlab-ci-local's summary lists with `status` (PASS, WARN, FAIL); a child
    pipeline's as `[gates] -> NAME`."""
    summary = re.compile(rf"^ {status}  (?:\[\S+\] -> )?(\S+)")
    return [m[1] for m in map(summary.match, result.stdout.splitlines()) if m]


def test_clean_project_is_released_signed_and_pushed(
    make_repo: Callable[..., Repo], osv_fixture_mirror: str
) -> None:
    repo, remote = project(make_repo, CLEAN_CODE, V1_TAG)
    # A masked CI/CD variable in GitLab; gitlab-ci-local reads it from this file.
    (repo.root / ".gitlab-ci-local-variables.yml").write_text(f"GATES_SIGNING_KEY: {SIGNING_KEY}\n")
    result = run_local(repo)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # One job per gate the default policy enables, the secrets gate included.
    passed = job_lines(result, "PASS")
    for gate in ("licence", "pii", "sast", "sbom", "secrets", "vulnerabilities"):
        assert f"gates:{gate}" in passed, result.stdout[-4000:]
    assert {"gates:verdict", "gates:release"} <= set(passed)
    head = repo.git("rev-parse", "HEAD")
    assert git(remote, "rev-parse", "v1.0.0^{commit}") == head
    note = json.loads(git(remote, "notes", "--ref", "gates", "show", head))
    assert note["payloadType"] == "application/vnd.in-toto+json"  # the signed verdict
    verdict_dir = repo.root / ".gates/verdict"
    for report in ("junit.xml", "gl-sast-report.json", "gl-code-quality-report.json", "report.md"):
        assert (verdict_dir / report).is_file(), report
    assert json.loads((verdict_dir / "verdict.json").read_text())["status"] == "pass"
    assert (repo.root / ".gates/parts/sbom/sbom.cdx.json").is_file()  # the cyclonedx report
    assert "gates verdict: **PASS**" in result.stdout  # the Markdown report in the job log
    assert_first_release(json.loads((verdict_dir / "verdict.json").read_text()))

    # The next release adds a dependency. The gate jobs (GATES_SINCE: auto, the default) fetch the
    # tags and notes the first pipeline pushed and judge what changed since v1.0.0.
    repo.write("requirements.txt", next_release_requirements())
    repo.write(".gitlab-ci.yml", pipeline_file(remote, "v1.1.0"))
    # (the first pipeline's artefacts, copied back by gitlab-ci-local, are not committed)
    repo.git("add", "requirements.txt", ".gitlab-ci.yml")
    repo.git("commit", "-q", "-m", "a dependency for the next release")
    git(repo.root, "push", "-q", "origin", "main")
    (repo.root / ".gitlab-ci-local-variables.yml").write_text(
        f"GATES_SIGNING_KEY: {SIGNING_KEY}\nGATES_OSV_URL: {osv_fixture_mirror}\n"
    )
    second = run_local(repo)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    verdict = json.loads((verdict_dir / "verdict.json").read_text())
    assert_changed_since_v1(verdict, second.stdout)
    assert verdict["delta"]["signed_by"].startswith("hmac-sha256:")  # the signed note, verified
    assert git(remote, "rev-parse", "v1.1.0^{commit}") == repo.git("rev-parse", "HEAD")


def test_shell_true_fails_the_verdict_and_nothing_is_tagged(make_repo: Callable[..., Repo]) -> None:
    repo, remote = project(make_repo, VULNERABLE_CODE, "v1.0.0")
    result = run_local(repo)
    assert "gates:sast" in job_lines(result, "WARN"), result.stdout[-4000:]  # exit 1: the verdict decides
    assert "gates:verdict" in job_lines(result, "FAIL"), result.stdout[-4000:]
    assert "gates:release" not in result.stdout.split("gates:verdict")[-1]
    assert git(remote, "tag", "--list") == ""
    assert repo.git("tag", "--list") == ""
    verdict = json.loads((repo.root / ".gates/verdict/verdict.json").read_text())
    assert verdict["status"] == "fail"


def test_a_missing_gate_part_is_an_error_and_nothing_is_tagged(make_repo: Callable[..., Repo]) -> None:
    """The child pipeline with one gate job not run: the verdict job fails closed."""
    repo, remote = project(make_repo, CLEAN_CODE, "v1.0.0")
    child = subprocess.run(
        [sys.executable, "-m", "gates", "plan", "--format", "gitlab"],
        cwd=repo.root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (repo.root / ".gates").mkdir()
    (repo.root / ".gates/child.yml").write_text(child)
    result = run_local(
        repo, "--file", ".gates/child.yml", "--variable", "GATES_INSTALL=",
        "--variable", "GATES_RELEASE_TAG=v1.0.0", "--variable", f"GATES_PUSH_URL={remote}",
        "gates:sast", "gates:verdict", "gates:release",
    )  # fmt: skip
    assert "gates:verdict" in job_lines(result, "FAIL"), result.stdout[-4000:]
    verdict = json.loads((repo.root / ".gates/verdict/verdict.json").read_text())
    assert verdict["status"] == "error"
    missing = {g["name"] for g in verdict["gates"] if g["status"] == "error"}
    assert {"secrets", "pii", "sbom"} <= missing
    assert git(remote, "tag", "--list") == ""
