"""`gates plan`: the enabled gates as a GitHub, Azure or GitLab job matrix, and `gates hook`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
import yaml

from tests.conftest import CLEAN_CODE, VULNERABLE_CODE, CliResult, Repo

POLICY = """\
version: 1
gates:
  sast: {fail_on: high}
  pii: {mode: "off"}
overrides:
  - when: {branch: ["release/*"]}
    gates:
      pii: {mode: warn}
"""


def test_json_is_a_github_matrix_of_the_enabled_gates(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"gates.yaml": POLICY})
    result = run_cli("plan", repo.root)
    assert result.code == 0, result.err
    assert result.out == '{"include":[{"gate":"sast"}]}\n'


def test_overrides_of_the_branch_change_the_plan(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"gates.yaml": POLICY})
    result = run_cli("plan", repo.root, "--branch", "release/1.0", "--format", "list")
    assert result.out.splitlines() == ["pii", "sast"]
    azure = run_cli("plan", repo.root, "--branch", "release/1.0", "--format", "azure")
    assert json.loads(azure.out) == {"pii": {"GATE": "pii"}, "sast": {"GATE": "sast"}}


def test_gitlab_child_pipeline_has_a_job_per_gate_then_verdict_and_release(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"gates.yaml": POLICY})
    result = run_cli("plan", repo.root, "--format", "gitlab", "--policy", repo.root / "gates.yaml")
    child = yaml.safe_load(result.out)
    assert child["stages"] == ["gate", "verdict", "release"]
    jobs = sorted(k for k in child if k.startswith("gates:"))
    assert jobs == ["gates:release", "gates:sast", "gates:verdict"]
    # Each job starts from nothing: an earlier run's part never counts.
    assert child["gates:sast"]["script"][0] == 'rm -rf ".gates/parts/sast"'
    # On the whole history with tags and notes, judged on what changed since the last release.
    assert child["variables"]["GIT_DEPTH"] == "0" and child["variables"]["GATES_SINCE"] == "auto"
    assert "git fetch -q origin refs/notes/gates:refs/notes/gates" in child["gates:sast"]["script"][1]
    assert child["gates:sast"]["script"][2].startswith("gates run")
    assert (
        '--only sast --out .gates/parts/sast --format json ${GATES_SINCE:+--since "$GATES_SINCE"}'
        in (child["gates:sast"]["script"][2])
    )
    assert child["gates:sast"]["allow_failure"] == {"exit_codes": [1]}
    assert "gates merge .gates/parts/*/verdict.json" in child["gates:verdict"]["script"][0]
    reports = child["gates:verdict"]["artifacts"]["reports"]
    assert set(reports) == {"junit", "sast", "codequality", "cyclonedx"}
    assert child["gates:release"]["rules"] == [{"if": "$GATES_RELEASE_TAG"}]
    assert f"--policy {repo.root / 'gates.yaml'}" in child["gates:release"]["script"][0]


def test_a_broken_policy_is_exit_2(make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]) -> None:
    repo = make_repo({"gates.yaml": "version: 1\ngates:\n  sast: {fail_on: sometimes}\n"})
    result = run_cli("plan", repo.root)
    assert result.code == 2
    assert "gates.yaml:3" in result.err


def test_hook_fails_on_a_staged_violation_and_names_it(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"gates.yaml": POLICY, "ok.py": CLEAN_CODE, "bad.py": VULNERABLE_CODE})
    monkeypatch.chdir(repo.root)
    passing = run_cli("hook", "--only", "sast", "ok.py")
    assert (passing.code, passing.out) == (0, "")
    failing = run_cli("hook", "--only", "sast", "ok.py", "bad.py")
    assert failing.code == 1
    assert "bad.py:5: sast B602 (high)" in failing.out
    assert not (repo.root / ".gates").exists()  # nothing written into the repository
    # A gate the policy leaves off passes without running; an unknown one is a usage error.
    assert run_cli("hook", "--only", "pii", "bad.py").code == 0
    assert run_cli("hook", "--only", "nosuch", "bad.py").code == 2


def test_hook_as_a_subprocess_on_a_file_in_a_package(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo({"gates.yaml": POLICY, "pkg/bad.py": VULNERABLE_CODE})
    result = subprocess.run(
        [sys.executable, "-m", "gates", "hook", "--only", "sast", "pkg/bad.py"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("pkg/bad.py:5: sast B602 (high)")
