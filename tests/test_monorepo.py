"""Monorepos: per-project policy sections, per-project runs merged into one verdict, reports that
keep projects apart, and `gates plan` split by project and chunked under CI matrix limits.

Real bandit on real git repositories; no tool is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gates.verdict import validate
from tests.conftest import CLEAN_CODE, VULNERABLE_CODE, CliResult, Repo

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

# B404 (import subprocess) and B603/B607 (a partial path): low findings only.
LOW_ONLY_CODE = """\
import subprocess


def listing():
    return subprocess.run(["ls"], check=True)
"""

POLICY = """\
version: 1
gates:
  sast: {fail_on: high}
paths:
  services/api/**:
    name: api
    gates:
      sast: {fail_on: low}
  services/web/**:
    waivers:
      - gate: sast
        rule: B602
        path: services/web/**
        reason: the command is a constant
        owner: web-team
        expires: "2099-01-01"
"""

# api: low findings only, failing only under its stricter fail_on; web: a high finding its own
# waiver covers; tools/ (outside every project): clean code, judged by the top level.
FILES = {
    "services/api/app.py": LOW_ONLY_CODE,
    "services/web/app.py": VULNERABLE_CODE,
    "tools/helper.py": CLEAN_CODE,
    "gates.yaml": POLICY,
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    validate(data, str(path))
    return data


def entry(verdict: dict[str, Any], project: str | None, gate: str = "sast") -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g.get("project") == project and g["name"] == gate)


@pytest.fixture
def monorepo(make_repo: Callable[..., Repo]) -> Repo:
    return make_repo(FILES)


def run_parts(repo: Repo, run_cli: Callable[..., CliResult], scopes: list[str]) -> list[Path]:
    parts = []
    for index, scope in enumerate(scopes):
        out = repo.root / ".gates" / "parts" / f"{index:03d}"
        result = run_cli("run", repo.root, "--project", scope, "--out", out, "--format", "json")
        assert result.code in (0, 1), result.err
        parts.append(out / "verdict.json")
    return parts


# --- policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ("  services/*.py: {}\n", "gates.yaml:5: a project is a folder: write it as services/api/**"),
        ("  ../up/**: {}\n", "gates.yaml:5: a project is a folder"),
        ("  a/**:\n    paths: {}\n", "gates.yaml:6: a paths section cannot nest paths"),
        ("  a/**:\n    gates: {nosuch: {}}\n", "gates.yaml:6: unknown gate 'nosuch'"),
        ("  a/**:\n    gates: {sast: {fail_on: severe}}\n", "gates.yaml:6:"),
        ("  a/**: {name: x}\n  b/**: {name: x}\n", "a/** and b/** are both named 'x'"),
        ("  a/**: {}\n  a/b/**: {}\n", "a/b/** lies inside a/**: a file belongs to one project"),
        ("  a/**: {name: 'bad name'}\n", "gates.yaml:5: paths.a/**.name"),
    ],
)
def test_invalid_paths_sections_are_exit_2_naming_the_place(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], paths: str, message: str
) -> None:
    repo = make_repo({"gates.yaml": "version: 1\ngates:\n  sast: {}\npaths:\n" + paths})
    result = run_cli("policy", "validate", repo.root / "gates.yaml")
    assert result.code == 2
    assert message in result.err


def test_project_sections_merge_over_the_top_level_and_accumulate_waivers(
    monorepo: Repo, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("policy", "show", monorepo.root / "gates.yaml")
    assert result.code == 0, result.err
    shown = yaml.safe_load(result.out)
    assert shown["gates"]["sast"]["fail_on"] == "high"
    assert shown["projects"]["api"]["path"] == "services/api/**"
    assert shown["projects"]["api"]["gates"]["sast"]["fail_on"] == "low"
    # The default name is the folder; its waiver stays in its project.
    web = shown["projects"]["services-web"]
    assert web["gates"]["sast"]["fail_on"] == "high"
    assert [w["rule"] for w in web["waivers"]] == ["B602"]
    assert shown["waivers"] == [] and shown["projects"]["api"]["waivers"] == []


# --- running and merging -------------------------------------------------------------------------


def test_project_runs_judge_their_own_files_by_their_own_section(
    monorepo: Repo, run_cli: Callable[..., CliResult]
) -> None:
    top, api, web = (load(p) for p in run_parts(monorepo, run_cli, [".", "api", "services-web"]))
    assert "project" not in top and "project" not in top["gates"][0]
    assert entry(top, None)["status"] == "pass"
    assert entry(top, None)["stats"]["files"] == 1  # tools/helper.py only, not the projects' files
    assert api["project"] == "api" and api["status"] == "fail"
    api_sast = entry(api, "api")
    assert api_sast["reason"] == "3 finding(s) at or above low"
    assert {f["location"]["path"] for f in api_sast["findings"]} == {"services/api/app.py"}
    assert web["status"] == "pass"
    b602 = next(f for f in entry(web, "services-web")["findings"] if f["rule"] == "B602")
    assert b602["location"]["path"] == "services/web/app.py"  # repository-relative, for waivers and SARIF
    assert b602["waived"]["owner"] == "web-team" and not b602["counted"]
    assert [p["name"] for p in api["policy"]["projects"]] == ["api", "services-web"]
    assert api["policy"] == web["policy"] == top["policy"]


def test_merge_of_project_parts_is_one_verdict_that_fails_on_the_api_project(
    monorepo: Repo, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    parts = run_parts(monorepo, run_cli, [".", "api", "services-web"])
    out = tmp_path / "merged"
    formats = ("--format", "sarif", "--format", "junit", "--format", "md")
    result = run_cli("merge", *parts, "-o", out / "verdict.json", *formats)
    assert result.code == 1, result.err
    merged = load(out / "verdict.json")
    assert merged["status"] == "fail" and "project" not in merged
    assert [(g.get("project"), g["name"], g["status"]) for g in merged["gates"]] == [
        (None, "sast", "pass"),
        ("api", "sast", "fail"),
        ("services-web", "sast", "pass"),
    ]
    assert [w["status"] for w in merged["waivers"]] == ["active"]
    assert "api/sast" in result.out and "services-web/sast" in result.out

    sarif = json.loads((out / "gates.sarif").read_text())
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    runs = {r["automationDetails"]["id"]: r for r in sarif["runs"]}
    assert sorted(runs) == ["gates/api/sast/", "gates/sast/", "gates/services-web/sast/"]
    assert len({r["tool"]["driver"]["name"] for r in sarif["runs"]}) == 3
    assert {r["ruleId"] for r in runs["gates/api/sast/"]["results"]} == {"B404", "B603", "B607"}

    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["gates (gates)", "gates:api", "gates:services-web"]
    api_suite = suites[1]
    assert api_suite.get("failures") == "1"
    assert api_suite.find("testcase/failure") is not None
    assert "| api/sast |" in (out / "report.md").read_text()


def test_a_missing_project_part_is_an_error_not_a_pass(
    monorepo: Repo, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    parts = run_parts(monorepo, run_cli, [".", "services-web"])
    result = run_cli("merge", *parts, "-o", tmp_path / "verdict.json")
    assert result.code == 3
    merged = load(tmp_path / "verdict.json")
    missing = entry(merged, "api")
    assert missing["status"] == "error"
    assert "no merged part carried this gate (fail closed)" in missing["reason"]


def test_the_same_project_gate_in_two_parts_is_exit_2(
    monorepo: Repo, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    parts = run_parts(monorepo, run_cli, ["api", "api"])
    result = run_cli("merge", *parts, "-o", tmp_path / "verdict.json")
    assert result.code == 2
    assert "gate 'api/sast' is also in another part" in result.err


def test_run_without_project_runs_every_project_and_the_rest(
    monorepo: Repo, run_cli: Callable[..., CliResult]
) -> None:
    monorepo.write("tools/deploy.py", VULNERABLE_CODE)  # outside every project: the top level judges it
    monorepo.commit("a vulnerable tool")
    result = run_cli("run", monorepo.root, "--format", "junit")
    assert result.code == 1, result.err
    out = monorepo.root / ".gates"
    verdict = load(out / "verdict.json")
    assert entry(verdict, None)["status"] == "fail"
    assert {f["location"]["path"] for f in entry(verdict, None)["findings"]} == {"tools/deploy.py"}
    assert entry(verdict, "api")["status"] == "fail"
    assert entry(verdict, "services-web")["status"] == "pass"
    for scope in ("_top", "api", "services-web"):  # each project's own verdict and findings
        assert (out / "projects" / scope / "findings.json").is_file()
        assert load(out / "projects" / scope / "verdict.json")["status"] in ("pass", "fail")


def test_evaluate_judges_each_projects_findings_by_its_own_section(
    monorepo: Repo, run_cli: Callable[..., CliResult]
) -> None:
    assert run_cli("run", monorepo.root).code == 1  # api fails on its low findings
    out = monorepo.root / ".gates"
    parts = [out / "projects" / scope / "findings.json" for scope in ("_top", "api", "services-web")]
    assert json.loads(parts[1].read_text())["project"] == "api"
    # A what-if: the api section no longer fails on low findings; the code is not scanned again.
    lenient = monorepo.write("lenient.yaml", POLICY.replace("sast: {fail_on: low}", "sast: {fail_on: high}"))
    monorepo.write("services/api/app.py", "")
    result = run_cli("evaluate", *parts, "--policy", lenient, "--out", monorepo.root / "what-if")
    assert result.code == 0, result.err
    verdict = load(monorepo.root / "what-if" / "verdict.json")
    assert entry(verdict, "api")["status"] == "pass" and entry(verdict, "api")["counts"]["total"] >= 2
    assert entry(verdict, "services-web")["counts"]["waived"] >= 1  # its own section's waiver
    assert {g.get("project") for g in verdict["gates"]} == {None, "api", "services-web"}
    # The original policy still fails the api project on the same findings.
    assert (
        run_cli("evaluate", *parts, "--policy", monorepo.root / "gates.yaml", "--out", out / "again").code
        == 1
    )

    # --project judges findings recorded without a project by that section; a file recorded for
    # another project is refused.
    top = parts[0]
    result = run_cli(
        "evaluate", top, "--policy", monorepo.root / "gates.yaml", "--project", "api", "--out", out / "p"
    )
    assert result.code == 0, result.err
    assert load(out / "p" / "verdict.json")["project"] == "api"
    result = run_cli(
        "evaluate", parts[1], "--policy", monorepo.root / "gates.yaml", "--project", "services-web"
    )
    assert result.code == 2 and "collected for project 'api', not 'services-web'" in result.err
    flat = monorepo.write("flat.yaml", "version: 1\ngates:\n  sast: {fail_on: high}\n")
    result = run_cli("evaluate", parts[1], "--policy", flat)
    assert result.code == 2 and "collected for project 'api', which 'flat' has no section for" in result.err


def test_a_top_level_waiver_one_project_uses_is_not_unused_after_the_merge(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    policy = """\
version: 1
governance: {unused_waivers: fail}
gates:
  sast: {fail_on: high}
waivers:
  - {gate: sast, rule: B602, reason: constant command, owner: platform, expires: "2099-01-01"}
paths:
  a/**: {}
  b/**: {}
"""
    repo = make_repo({"a/run.py": VULNERABLE_CODE, "b/ok.py": CLEAN_CODE, "gates.yaml": policy})
    parts = run_parts(repo, run_cli, [".", "a", "b"])
    assert load(parts[2])["waivers"][0]["status"] == "unused"  # b alone cannot know
    result = run_cli("merge", *parts, "-o", tmp_path / "verdict.json")
    merged = load(tmp_path / "verdict.json")
    assert [(w["status"], w["matched"]) for w in merged["waivers"]] == [("active", 1)]
    assert merged["status"] == "pass" and result.code == 0


def test_run_only_and_several_projects_in_one_job(
    monorepo: Repo, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    out = tmp_path / "chunk"
    result = run_cli("run", monorepo.root, "--project", "api,services-web", "--only", "sast", "--out", out)
    assert result.code == 1, result.err
    chunk = load(out / "verdict.json")
    assert [(g.get("project"), g["name"]) for g in chunk["gates"]] == [
        ("api", "sast"),
        ("services-web", "sast"),
    ]
    top = run_parts(monorepo, run_cli, ["."])
    merged = run_cli("merge", out / "verdict.json", *top, "-o", tmp_path / "merged.json")
    assert merged.code == 1 and load(tmp_path / "merged.json")["summary"]["gates"]["error"] == 0
    unknown = run_cli("run", monorepo.root, "--project", "nope")
    assert unknown.code == 2
    assert "--project nope: the policy 'gates' has no such project (projects: api, services-web)" in (
        unknown.err
    )


def test_project_on_a_policy_without_paths_is_exit_2(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app.py": CLEAN_CODE, "gates.yaml": "version: 1\ngates:\n  sast: {}\n"})
    result = run_cli("run", repo.root, "--project", "api")
    assert result.code == 2
    assert "has no paths: sections" in result.err


def test_subprocess_run_of_one_project(monorepo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "api"
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "run", str(monorepo.root), "--project", "api", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "api/sast" in proc.stdout and "verdict: FAIL" in proc.stdout
    assert load(out / "verdict.json")["project"] == "api"


# --- plan ----------------------------------------------------------------------------------------


def test_plan_splits_by_project_and_gate(monorepo: Repo, run_cli: Callable[..., CliResult]) -> None:
    matrix = json.loads(run_cli("plan", monorepo.root).out)
    assert matrix["include"] == [
        {"id": "001", "project": ".", "gate": "sast"},
        {"id": "002", "project": "api", "gate": "sast"},
        {"id": "003", "project": "services-web", "gate": "sast"},
    ]
    by_gate = json.loads(run_cli("plan", monorepo.root, "--split", "gate").out)
    assert by_gate == {"include": [{"gate": "sast"}]}  # each job runs the gate in every project
    by_project = run_cli("plan", monorepo.root, "--split", "project", "--format", "list")
    assert by_project.out.splitlines() == ["001\t.\t", "002\tapi\t", "003\tservices-web\t"]
    child = yaml.safe_load(run_cli("plan", monorepo.root, "--format", "gitlab").out)
    job = child["gates:run"]
    assert [m["GATES_PROJECT"] for m in job["parallel"]["matrix"]] == [".", "api", "services-web"]
    assert "refs/notes/gates" in job["script"][1]  # fetched for --since auto
    assert '--project "$GATES_PROJECT" --only "$GATES_GATE"' in job["script"][2]


def test_plan_jobs_run_end_to_end_and_merge(
    monorepo: Repo, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """What a CI matrix does: each entry's command, then one merge."""
    matrix = json.loads(run_cli("plan", monorepo.root, "--max-jobs", "2").out)["include"]
    assert len(matrix) == 2
    parts = []
    for job in matrix:
        out = tmp_path / "parts" / job["id"]
        args = ["run", monorepo.root, "--project", job.get("project", ""), "--only", job.get("gate", "")]
        assert run_cli(*args, "--out", out, "--format", "json").code in (0, 1)
        parts.append(out / "verdict.json")
    result = run_cli("merge", *parts, "-o", tmp_path / "verdict.json")
    merged = load(tmp_path / "verdict.json")
    assert result.code == 1 and merged["summary"]["gates"] == {
        "pass": 2,
        "warn": 0,
        "fail": 1,
        "error": 0,
        "skipped": 0,
    }


def _many_projects(count: int) -> str:
    lines = ["version: 1", "gates:", "  sast: {}", "  secrets: {}", "  pii: {mode: 'off'}", "paths:"]
    for i in range(count):
        section = []
        if i % 3 == 0:
            section.append("gates: {pii: {mode: enforce}}")
        if i % 7 == 0:
            section.append("gates: {secrets: {mode: 'off'}}" if i % 3 else "defaults: {fail_on: low}")
        lines.append(f"  services/s{i:03d}/**: {{{', '.join(section)}}}")
    return "\n".join(lines) + "\n"


def _enabled(repo: Repo, run_cli: Callable[..., CliResult]) -> dict[str, list[str]]:
    """Per scope, the gates the policy enables, as `gates policy show` tells them."""
    shown = yaml.safe_load(run_cli("policy", "show", repo.root / "gates.yaml").out)
    projects = {
        name: sorted(g for g, s in p["gates"].items() if s["mode"] != "off")
        for name, p in shown["projects"].items()
    }
    top = sorted(g for g, s in shown["gates"].items() if s["mode"] != "off")
    return {".": top, **projects}


def _expand(matrix: list[dict[str, str]], enabled: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Every (project, gate) the matrix runs, as `gates run --project P --only G` would."""
    covered = []
    for job in matrix:
        projects = job["project"].split(",") if "project" in job else list(enabled)
        for project in projects:
            gates = job["gate"].split(",") if "gate" in job else enabled[project]
            covered += [(project, gate) for gate in gates if gate in enabled[project]]
    return covered


@pytest.mark.parametrize(("fmt", "limit"), [("json", 256), ("gitlab", 200)])
def test_plan_of_300_projects_stays_under_the_matrix_limit(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], fmt: str, limit: int
) -> None:
    repo = make_repo({"gates.yaml": _many_projects(300)})
    enabled = _enabled(repo, run_cli)
    expected = sorted((p, g) for p, gates in enabled.items() for g in gates)
    assert len(expected) > 600
    result = run_cli("plan", repo.root, "--format", fmt)
    assert result.code == 0, result.err
    if fmt == "json":
        matrix = json.loads(result.out)["include"]
    else:
        matrix = [
            {k.removeprefix("GATES_").lower(): v for k, v in m.items()}
            for m in yaml.safe_load(result.out)["gates:run"]["parallel"]["matrix"]
        ]
    assert len(matrix) <= limit
    assert len({m["id"] for m in matrix}) == len(matrix)
    assert sorted(_expand(matrix, enabled)) == expected  # every (project, gate) exactly once


@pytest.mark.parametrize("max_jobs", [1, 5, 40, 1000])
def test_chunked_plans_cover_every_project_gate_exactly_once(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], max_jobs: int
) -> None:
    repo = make_repo({"gates.yaml": _many_projects(12)})
    enabled = _enabled(repo, run_cli)
    expected = sorted((p, g) for p, gates in enabled.items() for g in gates)
    for split in ("both", "project", "gate"):
        result = run_cli("plan", repo.root, "--split", split, "--max-jobs", str(max_jobs))
        matrix = json.loads(result.out)["include"]
        assert len(matrix) <= max_jobs
        assert sorted(_expand(matrix, enabled)) == expected, split


def test_a_verdict_of_one_project_cannot_release_the_repository(
    monorepo: Repo, run_cli: Callable[..., CliResult]
) -> None:
    (web_part,) = run_parts(monorepo, run_cli, ["services-web"])
    assert load(web_part)["status"] == "pass"
    result = run_cli("verify", web_part, "--repo", monorepo.root)
    assert result.code == 1
    assert "the verdict does not cover the gates api/sast, sast" in result.err


def _gate_script(document: Any) -> str:
    """The shell of the step that runs `gates run` in a CI definition's gate job."""
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("run", "script") and isinstance(value, str) and "gates run" in value:
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("max_jobs", ["256", "2"])
@pytest.mark.parametrize("ci", ["github", "azure"])
def test_shipped_ci_gate_steps_run_a_monorepo_plan(
    monorepo: Repo, run_cli: Callable[..., CliResult], ci: str, max_jobs: str
) -> None:
    """The gate step's own shell, fed each entry of `gates plan` as the CI system would, then the
    verdict job's merge: every (project, gate) is judged once."""
    root = Path(__file__).resolve().parents[1]
    if ci == "github":
        script = _gate_script(yaml.safe_load((root / "pipelines/github/gates.yml").read_text()))
        plan = json.loads(run_cli("plan", monorepo.root, "--max-jobs", max_jobs).out)["include"]
        # `${{ matrix.id || matrix.gate }}` and absent matrix values, as Actions evaluates them.
        envs = [
            {"GATES_PATH": ".", "GATES_POLICY": "", "PART": e.get("id") or e["gate"],
             "PROJECT": e.get("project", ""), "GATE": e.get("gate", "")}
            for e in plan
        ]  # fmt: skip
    else:
        script = _gate_script(yaml.safe_load((root / "pipelines/azure/azure-pipelines.yml").read_text()))
        plan = json.loads(run_cli("plan", monorepo.root, "--max-jobs", max_jobs, "--format", "azure").out)
        envs = [{"GATES_POLICY": "", **{k: v for k, v in e.items() if v}} for e in plan.values()]
    parts = monorepo.root / ("parts" if ci == "azure" else ".gates/parts")
    for env in envs:
        proc = subprocess.run(
            ["bash", "-e", "-c", script], cwd=monorepo.root, env={**os.environ, **env},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    verdicts = sorted(parts.glob("*/verdict.json"))
    assert len(verdicts) == len(envs)
    result = run_cli("merge", *verdicts, "-o", monorepo.root / "merged" / "verdict.json")
    assert result.code == 1, result.err  # the api project fails, as in a single run
    merged = load(monorepo.root / "merged" / "verdict.json")
    assert sorted((g.get("project", "."), g["name"]) for g in merged["gates"]) == [
        (".", "sast"),
        ("api", "sast"),
        ("services-web", "sast"),
    ]
