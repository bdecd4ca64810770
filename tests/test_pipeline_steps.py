"""The Azure Pipelines template and the Jenkinsfile as shipped: their shell steps run in order, the
way each system runs them, with the default policy on throwaway repositories whose `origin` is a
local bare repository. What the CI system itself does between the steps (checkout, matrix,
artefacts, conditions) is done here by plain code, kept as small as the files need."""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
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

SIGNING_KEY = "a-shared-secret-for-the-tests-0123456789"  # pragma: allowlist secret


def base_env(tmp: Path) -> dict[str, str]:
    """A fresh agent: no git identity, the gates of this checkout on PATH."""
    env = {
        k: v
        for k, v in {**os.environ, **GIT_ENV}.items()
        if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_", "GATES_"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env["HOME"] = str(tmp / "home")
    (tmp / "home").mkdir(exist_ok=True)
    return env


def project(make_repo: Callable[..., Repo], code: str) -> Path:
    """A bare repository holding the project: what the CI system checks out."""
    repo = make_repo({"app.py": code})
    remote = repo.root.parent / "remote.git"
    git(repo.root.parent, "clone", "-q", "--bare", str(repo.root), str(remote))
    return remote


def checkout(remote: Path, into: Path, *options: str) -> Path:
    git(into.parent, "clone", "-q", *options, f"file://{remote}", str(into))
    return into


def push_next_release(remote: Path, tmp: Path) -> None:
    """The project's next commit, pushed: it adds a dependency."""
    clone = checkout(remote, tmp / "next")
    (clone / "requirements.txt").write_text(next_release_requirements())
    git(clone, "add", "requirements.txt")
    git(clone, "commit", "-q", "-m", "a dependency for the next release")
    git(clone, "push", "-q", "origin", "HEAD")


# --- Azure Pipelines -------------------------------------------------------------------------------

AZURE = yaml.safe_load((REPO_ROOT / "pipelines/azure/azure-pipelines.yml").read_text())
TEMPLATE_EXPRESSION = re.compile(r"\$\{\{\s*parameters\.(\w+)\s*\}\}")
MACRO = re.compile(r"\$\((\w+(?:\.\w+)*)\)")
LOGGING_COMMAND = re.compile(r"^##vso\[([\w.]+)(?: ([^\]]*))?\](.*)$", re.M)


@dataclass
class AzureRun:
    parameters: Mapping[str, str]
    secrets: Mapping[str, str]
    artifacts: Path
    env: Mapping[str, str]
    outputs: dict[str, str] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)
    published_tests: list[Path] = field(default_factory=list)
    log: str = ""

    def fill(self, value: Any, variables: Mapping[str, str]) -> str:
        """Template expressions at compile time, then macros at run time (an undefined one stays)."""
        text = TEMPLATE_EXPRESSION.sub(lambda m: self.parameters[m[1]], str(value))
        known = {**self.secrets, **variables}
        return MACRO.sub(lambda m: known.get(m[1], m[0]), text)

    def job(self, job: Mapping[str, Any], remote: Path, workspace: Path, matrix: Mapping[str, str]) -> bool:
        """Run one job's steps; False when a step failed."""
        workspace.mkdir(parents=True)
        sources = workspace / "s"
        variables = dict(matrix)
        ok = True
        for step in job["steps"]:
            if not ok and step.get("condition") != "succeededOrFailed()":
                continue
            if "checkout" in step:
                # fetchDepth 1 and no tags are the defaults of a new pipeline; 0: all history.
                depth = str(step.get("fetchDepth", "1"))
                shallow = [] if depth == "0" else ["--depth", depth]
                tags = [] if str(step.get("fetchTags", "false")) == "true" else ["--no-tags"]
                checkout(remote, sources, *shallow, *tags)
            elif "script" in step:
                ok = self._script(step, sources, workspace, variables) and ok
            elif "publish" in step:
                name = self.fill(step["artifact"], variables)
                shutil.copytree(sources / step["publish"], self.artifacts / name)
            elif "download" in step:
                wanted = step.get("artifact") or step["patterns"].split("/")[0]
                for artifact in sorted(self.artifacts.iterdir()):
                    if fnmatch.fnmatch(artifact.name, wanted):
                        shutil.copytree(artifact, workspace / artifact.name)
            elif step.get("task") == "PublishTestResults@2":
                self.published_tests.append(sources / step["inputs"]["testResultsFiles"])
            else:
                raise AssertionError(f"the simulated agent does not know the step {step}")
        return ok

    def _script(
        self, step: Mapping[str, Any], sources: Path, workspace: Path, variables: dict[str, str]
    ) -> bool:
        env = {**self.env, **variables, "PIPELINE_WORKSPACE": str(workspace)}
        env.update({k: self.fill(v, variables) for k, v in step.get("env", {}).items()})
        script = workspace / "step.sh"
        script.write_text(self.fill(step["script"], variables))
        # The agent runs a script step as a bash file, without -e: its last command decides.
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", str(script)], cwd=sources, env=env,
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        for command, properties, value in LOGGING_COMMAND.findall(done.stdout):
            settings = dict(p.split("=", 1) for p in properties.split(";") if "=" in p)
            if command == "task.setvariable":
                variables[settings["variable"]] = value
                if settings.get("isOutput") == "true":
                    self.outputs[f"{step['name']}.{settings['variable']}"] = value
            elif command == "task.uploadsummary":
                self.summaries.append(Path(value).read_text())
        self.log += done.stdout + done.stderr
        return done.returncode == 0


def run_azure(
    remote: Path, tmp: Path, agent_env: Mapping[str, str] | None = None, **parameters: str
) -> tuple[AzureRun, dict[str, bool]]:
    defaults = {p["name"]: p.get("default", "") for p in AZURE["parameters"]}
    assert set(parameters) <= set(defaults)
    run = AzureRun({**defaults, **parameters}, {}, tmp / "artifacts", {**base_env(tmp), **(agent_env or {})})
    run.artifacts.mkdir(parents=True)
    stages = {s["stage"]: s for s in AZURE["stages"]}
    passed: dict[str, bool] = {}
    plan, gate = stages["gate"]["jobs"]
    assert gate["strategy"]["matrix"] == "$[ dependencies.plan.outputs['plan.matrix'] ]"
    ok = run.job(plan, remote, tmp / "ws/plan", {})
    for name, entry in json.loads(run.outputs["plan.matrix"]).items() if ok else ():
        ok = run.job(gate, remote, tmp / f"ws/gate-{name}", entry) and ok
    passed["gate"] = ok
    passed["verdict"] = ok and run.job(stages["verdict"]["jobs"][0], remote, tmp / "ws/verdict", {})
    condition = run.fill(stages["release"]["condition"], {})
    assert condition.startswith("and(succeeded(), ne('") and condition.endswith("', ''))")
    if passed["verdict"] and condition != "and(succeeded(), ne('', ''))":
        passed["release"] = run.job(stages["release"]["jobs"][0], remote, tmp / "ws/release", {})
    return run, passed


def test_azure_clean_project_is_released_and_pushed(
    make_repo: Callable[..., Repo], tmp_path: Path, osv_fixture_mirror: str
) -> None:
    remote = project(make_repo, CLEAN_CODE)
    run, passed = run_azure(remote, tmp_path, install="", releaseTag="v1.0.0")
    assert passed == {"gate": True, "verdict": True, "release": True}, run.log[-3000:]
    gates = set(json.loads(run.outputs["plan.matrix"]))
    assert {"licence", "pii", "sast", "sbom", "secrets", "vulnerabilities"} == gates
    assert "gates verdict: **PASS**" in run.summaries[0]
    assert all(p.is_file() for p in run.published_tests) and run.published_tests
    commit = git(remote, "rev-parse", "main")
    assert git(remote, "rev-parse", "v1.0.0^{commit}") == commit
    # No secret variable is defined: the macro stays as text, and nothing is signed.
    note = json.loads(git(remote, "notes", "--ref", "gates", "show", commit))
    assert note["status"] == "pass"
    assert_first_release(note)

    # The next release: each gate job (parameter since: auto, the default) judges what changed
    # since v1.0.0 on a full clone with tags, and fetches the notes.
    push_next_release(remote, tmp_path)
    (tmp_path / "second").mkdir()
    second, passed = run_azure(
        remote, tmp_path / "second", {"GATES_OSV_URL": osv_fixture_mirror}, install="", releaseTag="v1.1.0"
    )
    assert passed == {"gate": True, "verdict": True, "release": True}, second.log[-3000:]
    verdict = json.loads(git(remote, "notes", "--ref", "gates", "show", "v1.1.0^{commit}"))
    assert_changed_since_v1(verdict, second.summaries[0])


def test_azure_shell_true_fails_the_verdict_and_nothing_is_released(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    remote = project(make_repo, VULNERABLE_CODE)
    run, passed = run_azure(remote, tmp_path, install="", releaseTag="v1.0.0")
    assert passed == {"gate": True, "verdict": False}, run.log[-3000:]
    assert "B602" in run.summaries[0]
    assert git(remote, "tag", "--list") == ""


# --- Jenkins --------------------------------------------------------------------------------------

JENKINSFILE = (REPO_ROOT / "pipelines/jenkins/Jenkinsfile").read_text()
# Groovy's ''' strings: no interpolation, a doubled backslash is one.
SH_BLOCKS = [b.replace("\\\\", "\\") for b in re.findall(r"'''\n(.*?)'''", JENKINSFILE, re.S)]


def jenkins_sh(script: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    # Jenkins runs an `sh` step as `sh -xe` on the script.
    return subprocess.run(
        ["sh", "-xe", "-c", script], cwd=cwd, env=dict(env), capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


JENKINS_PARAMETERS = dict(re.findall(r"string\(name: '(\w+)', defaultValue: '([^']*)'", JENKINSFILE))


def run_jenkins(
    remote: Path, tmp: Path, params: Mapping[str, str], agent_env: Mapping[str, str] | None = None
) -> tuple[dict[str, bool], str]:
    setup, plan, gate, verdict, release = SH_BLOCKS
    # A shallow checkout (the git plugin's "shallow clone" option): the setup step fetches the
    # history, tags and notes `--since auto` needs.
    workspace = checkout(remote, tmp / "workspace", "--depth", "1", "--no-tags")
    # Build parameters are environment variables, their defaults where the build gives none.
    env = {**base_env(tmp), **(agent_env or {}), "GATES_INSTALL": "", **JENKINS_PARAMETERS, **params}
    log, passed = "", {}
    done = jenkins_sh(setup, workspace, env)
    planned = jenkins_sh(plan, workspace, env)
    log += done.stderr + planned.stderr
    ok = done.returncode == 0 and planned.returncode == 0
    for line in planned.stdout.strip().split("\n") if ok else ():
        fields = line.split("\t")
        part, project_name, gate_name = fields if len(fields) == 3 else (line, "", line)
        names = {"PART": part, "PROJECT": project_name, "GATE": gate_name}  # the branch's withEnv
        branch = jenkins_sh(gate, workspace, {**env, **names})
        log += branch.stdout + branch.stderr
        ok = branch.returncode == 0 and ok
    passed["gate"] = ok
    merged = jenkins_sh(verdict, workspace, env)
    log += merged.stdout + merged.stderr
    passed["verdict"] = ok and merged.returncode == 0
    if passed["verdict"] and params.get("RELEASE_TAG"):
        released = jenkins_sh(release, workspace, env)
        log += released.stdout + released.stderr
        passed["release"] = released.returncode == 0
    return passed, log


def test_jenkins_steps_are_the_five_this_test_runs() -> None:
    assert len(SH_BLOCKS) == 5
    assert "gates plan" in SH_BLOCKS[1] and "gates release" in SH_BLOCKS[4]


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_jenkins_clean_project_is_released_and_pushed(
    signed: bool, make_repo: Callable[..., Repo], tmp_path: Path, osv_fixture_mirror: str
) -> None:
    remote = project(make_repo, CLEAN_CODE)
    params = {"RELEASE_TAG": "v1.0.0", "GATES_POLICY": "", "PUBLISH_COMMAND": "", "GATES_PUSH_URL": ""}
    if signed:
        params["GATES_SIGNING_KEY"] = SIGNING_KEY  # a bound secret text credential
    passed, log = run_jenkins(remote, tmp_path, params)
    assert passed == {"gate": True, "verdict": True, "release": True}, log[-3000:]
    commit = git(remote, "rev-parse", "main")
    assert git(remote, "rev-parse", "v1.0.0^{commit}") == commit
    note = json.loads(git(remote, "notes", "--ref", "gates", "show", commit))
    if not signed:
        assert note["status"] == "pass"
        return
    assert note["payloadType"] == "application/vnd.in-toto+json"
    assert_first_release(json.loads(base64.b64decode(note["payload"]))["predicate"])

    # The next release: each gate branch (GATES_SINCE: auto, the default) judges what changed since
    # v1.0.0, whose signed note the bound credential verifies.
    push_next_release(remote, tmp_path)
    second = tmp_path / "second"
    second.mkdir()
    passed, log = run_jenkins(
        remote, second, {**params, "RELEASE_TAG": "v1.1.0"}, {"GATES_OSV_URL": osv_fixture_mirror}
    )
    assert passed == {"gate": True, "verdict": True, "release": True}, log[-3000:]
    verdict = json.loads((second / "workspace/.gates/verdict/verdict.json").read_text())
    assert_changed_since_v1(verdict, (second / "workspace/.gates/verdict/report.md").read_text())
    assert verdict["delta"]["signed_by"].startswith("hmac-sha256:")


def test_jenkins_shell_true_fails_the_verdict_and_nothing_is_released(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    remote = project(make_repo, VULNERABLE_CODE)
    passed, log = run_jenkins(remote, tmp_path, {"RELEASE_TAG": "v1.0.0"})
    assert passed == {"gate": True, "verdict": False}, log[-3000:]
    assert git(remote, "tag", "--list") == ""
