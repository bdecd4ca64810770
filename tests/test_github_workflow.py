"""pipelines/github/gates.yml (the reusable workflow) as shipped, its jobs run in order by the small
runner in tests/github_runner.py with the default policy: plan, one gate job per matrix entry,
verdict, release. The `uses:` steps it calls are done here: checkout clones the project's bare
repository, artefacts are folders, setup-python and the SARIF upload only check their input."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import (
    CLEAN_CODE,
    GIT_ENV,
    REPO_ROOT,
    VULNERABLE_CODE,
    Repo,
    assert_changed_since_v1,
    assert_first_release,
    git,
    next_release_requirements,
)
from tests.github_runner import EXPRESSION, Expressions, run_step

WORKFLOW = yaml.safe_load((REPO_ROOT / "pipelines/github/gates.yml").read_text())
SIGNING_KEY = "a-shared-secret-for-the-tests-0123456789"  # pragma: allowlist secret


@dataclass
class WorkflowRun:
    remote: Path
    tmp: Path
    contexts: dict[str, Any]
    runner_env: Mapping[str, str] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)  # job -> success, failure, skipped
    summary: str = ""
    log: str = ""

    @property
    def artifacts(self) -> Path:
        return self.tmp / "artifacts"

    def env(self, workspace: Path) -> dict[str, str]:
        env = {
            k: v
            for k, v in {**os.environ, **GIT_ENV}.items()
            if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_", "GATES_"))  # a fresh runner
        }
        env.update(self.runner_env)
        summary = self.tmp / "summary.md"
        summary.touch()
        return {
            **env,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.tmp),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_STEP_SUMMARY": str(summary),
            "CI": "true",
        }

    def uses(self, action: str, given: Mapping[str, str], workspace: Path) -> None:
        name = action.split("@")[0]
        if name == "actions/checkout":
            # fetch-depth 1 (the default): that commit alone, no tags; 0: all history and tags.
            depth = given.get("fetch-depth", "1")
            shallow = [] if depth == "0" else ["--depth", depth, "--no-tags"]
            git(self.tmp, "clone", "-q", *shallow, f"file://{self.remote}", str(workspace))
        elif name == "actions/setup-python":
            assert given["python-version"]
        elif name == "actions/upload-artifact":
            shutil.copytree(workspace / given["path"], self.artifacts / given["name"])
        elif name == "actions/download-artifact" and "pattern" in given:
            for artifact in sorted(self.artifacts.glob(given["pattern"])):
                shutil.copytree(artifact, workspace / given["path"] / artifact.name)
        elif name == "actions/download-artifact":
            shutil.copytree(self.artifacts / given["name"], workspace / given["path"])
        elif name == "github/codeql-action/upload-sarif":
            assert json.loads((workspace / given["sarif_file"]).read_text())["version"] == "2.1.0"
        else:
            raise AssertionError(f"the runner does not know the action {action}")

    def job(self, name: str, spec: Mapping[str, Any], matrix: Mapping[str, str]) -> dict[str, str]:
        """Run one job (one matrix entry); its outputs. Sets self.jobs[name] to failure on a failed step."""
        workspace = self.tmp / "ws" / f"{name}-{len(list((self.tmp / 'ws').glob('*')))}"
        workspace.parent.mkdir(exist_ok=True)
        contexts = {**self.contexts, **{f"matrix.{k}": v for k, v in matrix.items()}}
        failed = False
        for index, step in enumerate(spec["steps"]):
            expressions = Expressions(contexts, workspace)
            if not expressions.condition(step.get("if"), failed):
                continue
            given = {k: expressions.fill(str(v)) for k, v in step.get("with", {}).items()}
            if "uses" in step:
                self.uses(step["uses"], given, workspace)
                continue
            env = self.env(workspace)
            env.update({k: expressions.fill(str(v)) for k, v in step.get("env", {}).items()})
            script = expressions.fill(step["run"])
            done, outputs = run_step(script, step.get("shell"), workspace, env, self.tmp / f"steps/{index}")
            self.log += done.stdout + done.stderr
            contexts.update({f"steps.{step.get('id')}.outputs.{k}": v for k, v in outputs.items()})
            failed = failed or done.returncode != 0
        if failed or self.jobs.get(name) == "failure":
            self.jobs[name] = "failure"
        else:
            self.jobs[name] = "success"
        job_expressions = Expressions(contexts, workspace)
        return {k: job_expressions.fill(v) for k, v in spec.get("outputs", {}).items()}

    def run(self) -> None:
        for name, spec in WORKFLOW["jobs"].items():
            needs = [spec["needs"]] if isinstance(spec.get("needs"), str) else spec.get("needs", [])
            failed = any(self.jobs[n] != "success" for n in needs)
            if not Expressions(self.contexts).condition(spec.get("if"), failed):
                self.jobs[name] = "skipped"
                continue
            strategy = EXPRESSION.fullmatch(spec.get("strategy", {}).get("matrix", "${{ null }}"))
            matrix = Expressions(self.contexts).evaluate(strategy[1]) if strategy else None
            for entry in (matrix or {}).get("include", [{}]):
                outputs = self.job(name, spec, entry)
            self.contexts.update({f"needs.{name}.outputs.{k}": v for k, v in outputs.items()})
        self.summary = (self.tmp / "summary.md").read_text()


def run_workflow(
    make_repo: Callable[..., Repo], tmp: Path, code: str, **inputs: str
) -> tuple[WorkflowRun, Path]:
    repo = make_repo({"app.py": code})
    remote = repo.root.parent / "remote.git"
    git(repo.root.parent, "clone", "-q", "--bare", str(repo.root), str(remote))
    return run_on(remote, tmp, inputs), remote


def run_on(
    remote: Path, tmp: Path, inputs: Mapping[str, str], runner_env: Mapping[str, str] = {}
) -> WorkflowRun:
    declared = WORKFLOW[True]["workflow_call"]["inputs"]  # YAML 1.1 reads the key `on` as true
    assert set(inputs) - {"secret"} <= set(declared)
    contexts: dict[str, Any] = {f"inputs.{k}": v.get("default", "") for k, v in declared.items()}
    contexts.update({f"inputs.{k}": v for k, v in inputs.items() if k != "secret"})
    contexts.update({"github.ref": "refs/heads/main", "github.ref_name": "main"})
    contexts["secrets.signing-key"] = inputs.get("secret", "")
    run = WorkflowRun(remote, tmp, contexts, runner_env or {})
    run.artifacts.mkdir(parents=True)
    run.run()
    return run


def test_clean_project_is_released_signed_and_pushed(
    make_repo: Callable[..., Repo], tmp_path: Path, osv_fixture_mirror: str
) -> None:
    run, remote = run_workflow(
        make_repo, tmp_path, CLEAN_CODE, install="", **{"release-tag": "v1.0.0", "secret": SIGNING_KEY}
    )
    assert run.jobs == {"plan": "success", "gate": "success", "verdict": "success", "release": "success"}, (
        run.log[-3000:]
    )
    gates = {e["gate"] for e in json.loads(run.contexts["needs.plan.outputs.matrix"])["include"]}
    assert gates == {"licence", "pii", "sast", "sbom", "secrets", "vulnerabilities"}
    assert run.contexts["needs.verdict.outputs.status"] == "pass"
    assert "gates verdict: **PASS**" in run.summary
    commit = git(remote, "rev-parse", "main")
    assert git(remote, "rev-parse", "v1.0.0^{commit}") == commit
    note = json.loads(git(remote, "notes", "--ref", "gates", "show", commit))
    assert note["payloadType"] == "application/vnd.in-toto+json"
    assert_first_release(json.loads((run.artifacts / "gates-verdict/verdict.json").read_text()))

    # The next release adds a dependency: each gate job (`since: auto`, the default) judges what
    # changed since v1.0.0, the signed note on its tag; the merged verdict and summary say so.
    clone = tmp_path / "next"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    (clone / "requirements.txt").write_text(next_release_requirements())
    git(clone, "add", "requirements.txt")
    git(clone, "commit", "-q", "-m", "a dependency for the next release")
    git(clone, "push", "-q", "origin", "main")
    inputs = {"install": "", "release-tag": "v1.1.0", "secret": SIGNING_KEY}
    second = run_on(remote, tmp_path / "second", inputs, {"GATES_OSV_URL": osv_fixture_mirror})
    assert second.jobs == {
        "plan": "success",
        "gate": "success",
        "verdict": "success",
        "release": "success",
    }, second.log[-3000:]
    verdict = json.loads((second.artifacts / "gates-verdict/verdict.json").read_text())
    assert_changed_since_v1(verdict, second.summary)
    # The gate jobs hold no signing secret (they run the repository's tools): the signed note is
    # taken as unsigned, which a policy without `require_signature` accepts.
    assert verdict["delta"]["signed_by"] is None
    assert git(remote, "rev-parse", "v1.1.0^{commit}") == git(remote, "rev-parse", "main")


def test_shell_true_fails_the_verdict_and_nothing_is_released(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    run, remote = run_workflow(make_repo, tmp_path, VULNERABLE_CODE, install="", **{"release-tag": "v1.0.0"})
    assert run.jobs == {"plan": "success", "gate": "success", "verdict": "failure", "release": "skipped"}, (
        run.log[-3000:]
    )
    assert run.contexts["needs.verdict.outputs.status"] == "fail"
    assert git(remote, "tag", "--list") == ""
