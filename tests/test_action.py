"""action.yml as shipped, its steps run the way a GitHub runner runs a composite action: each `run`
in `bash --noprofile --norc -eo pipefail`, `${{ inputs.* }}` filled in, outputs through the
GITHUB_OUTPUT file and the job summary through GITHUB_STEP_SUMMARY. Default policy throughout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

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

ACTION = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
CONDITION = re.compile(r"^inputs\.([\w-]+) (==|!=) '([^']*)'$")


@dataclass
class ActionRun:
    outputs: dict[str, str]
    summary: str
    failed_step: str | None
    log: str


def _inputs(given: Mapping[str, str]) -> dict[str, str]:
    unknown = set(given) - set(ACTION["inputs"])
    assert not unknown, f"action.yml has no input {unknown}"
    return {name: given.get(name, spec.get("default", "")) for name, spec in ACTION["inputs"].items()}


def _fill(text: str, context: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        assert match[1] in context, f"the simulated runner does not know {match[1]!r}"
        return context[match[1]]

    return EXPRESSION.sub(value, text)


def _runs(condition: str | None, inputs: Mapping[str, str]) -> bool:
    if condition is None:
        return True
    match = CONDITION.match(condition)
    assert match, f"the simulated runner does not know the condition {condition!r}"
    return (inputs[match[1]] == match[3]) == (match[2] == "==")


def _read_outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_action(workspace: Path, tmp: Path, **given: str) -> ActionRun:
    inputs = _inputs({"install": "none", **given})  # the gates of this checkout, on PATH
    context = {f"inputs.{k}": v for k, v in inputs.items()}
    summary = tmp / "step_summary.md"
    summary.write_text("")
    base_env = {
        **os.environ,
        **GIT_ENV,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTION_PATH": str(REPO_ROOT),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "CI": "true",
    }
    step_outputs: dict[str, dict[str, str]] = {}
    log = []
    for index, step in enumerate(ACTION["runs"]["steps"]):
        if not _runs(step.get("if"), inputs):
            continue
        assert step["shell"] == "bash"
        output_file = tmp / f"output_{index}"
        output_file.write_text("")
        env = {k: _fill(str(v), context) for k, v in step.get("env", {}).items()}
        script = tmp / f"step_{index}.sh"
        script.write_text(_fill(step["run"], context))
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace, env={**base_env, **env, "GITHUB_OUTPUT": str(output_file)},
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        log.append(done.stdout + done.stderr)
        step_outputs[step.get("id", str(index))] = _read_outputs(output_file)
        if done.returncode != 0:
            return ActionRun({}, summary.read_text(), step.get("name"), "".join(log))
    context.update(
        {f"steps.{sid}.outputs.{k}": v for sid, outputs in step_outputs.items() for k, v in outputs.items()}
    )
    outputs = {name: _fill(spec["value"], context) for name, spec in ACTION["outputs"].items()}
    return ActionRun(outputs, summary.read_text(), None, "".join(log))


def test_passing_project(make_repo: Callable[..., Repo], tmp_path: Path) -> None:
    repo = make_repo({"app.py": CLEAN_CODE})
    result = run_action(repo.root, tmp_path)
    assert result.failed_step is None, result.log
    assert result.outputs["status"] == "pass"
    assert result.outputs["exit-code"] == "0"
    assert json.loads(Path(repo.root, result.outputs["verdict"]).read_text())["status"] == "pass"
    assert json.loads(Path(repo.root, result.outputs["sarif"]).read_text())["version"] == "2.1.0"
    assert "gates verdict: **PASS**" in result.summary


def test_failing_project_in_report_mode_sets_the_status_and_lets_the_job_go_on(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo({"app.py": VULNERABLE_CODE})
    result = run_action(repo.root, tmp_path, **{"fail-mode": "report", "gates": "sast"})
    assert result.failed_step is None, result.log
    assert (result.outputs["status"], result.outputs["exit-code"]) == ("fail", "1")
    assert "B602" in result.summary

    enforced = run_action(repo.root, tmp_path, gates="sast")
    assert enforced.failed_step == "Run the gates"


def test_an_earlier_verdict_is_never_reported_again(make_repo: Callable[..., Repo], tmp_path: Path) -> None:
    """A workspace holding a passing verdict, then a run that exits 2 (a broken policy): the status
    is error, no SARIF is offered, the summary says error, and the step fails even in report mode."""
    repo = make_repo({"app.py": CLEAN_CODE})
    first = run_action(repo.root, tmp_path, gates="sast")
    assert first.failed_step is None and first.outputs["status"] == "pass", first.log
    repo.write("gates.yaml", "version: 1\ngates:\n  sast: {fail_on: sometimes}\n")

    outputs_file = tmp_path / "outputs"
    outputs_file.mkdir()
    second = run_action(repo.root, outputs_file, gates="sast", **{"fail-mode": "report"})
    assert second.failed_step == "Run the gates"
    step = _read_outputs(outputs_file / "output_1")  # the outputs the runner keeps after the failure
    assert step == {"status": "error", "exit-code": "2", "verdict": "", "sarif": ""}
    assert "PASS" not in second.summary
    assert "gates: ERROR" in second.summary
    assert "gates.yaml:3" in second.log
    assert not (repo.root / ".gates/out/verdict.json").exists()


def test_a_second_release_is_judged_on_what_changed_since_the_first(
    make_repo: Callable[..., Repo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, osv_fixture_mirror: str
) -> None:
    """Two releases, each job in a shallow checkout as actions/checkout makes by default: the action
    (default inputs: `since: auto`) fetches the history, tags and notes itself. The first run has no
    earlier release and says so; v1.0.0 is released (tag + note, pushed); a dependency is added;
    the second run's verdict and job summary say what changed since v1.0.0."""
    monkeypatch.setenv("GATES_OSV_URL", osv_fixture_mirror)  # the runner's way to OSV, offline here
    repo = make_repo({"app.py": CLEAN_CODE})
    remote = repo.root.parent / "remote.git"
    git(repo.root.parent, "clone", "-q", "--bare", str(repo.root), str(remote))

    def checkout(name: str) -> Path:
        workspace = tmp_path / name
        git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", f"file://{remote}", str(workspace))
        return workspace

    first_ws = checkout("first")
    (tmp_path / "run1").mkdir()
    first = run_action(first_ws, tmp_path / "run1")
    assert first.failed_step is None and first.outputs["status"] == "pass", first.log
    verdict = first_ws / first.outputs["verdict"]
    assert_first_release(json.loads(verdict.read_text()))
    released = subprocess.run(
        [sys.executable, "-m", "gates", "release", str(verdict), "--tag", V1_TAG], cwd=first_ws,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert released.returncode == 0, released.stderr
    git(first_ws, "push", "-q", "origin", f"refs/tags/{V1_TAG}", "refs/notes/gates")

    repo.write("requirements.txt", next_release_requirements())
    repo.commit("a dependency for the next release")
    git(repo.root, "push", "-q", str(remote), "main")
    second_ws = checkout("second")
    (tmp_path / "run2").mkdir()
    second = run_action(second_ws, tmp_path / "run2")

    assert second.outputs["status"] == "pass", second.log
    assert_changed_since_v1(json.loads((second_ws / second.outputs["verdict"]).read_text()), second.summary)
