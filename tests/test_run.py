"""`gates run` end to end with the real bandit on repositories the tests build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.verdict import validate
from tests.conftest import CLEAN_CODE, VULNERABLE_CODE, CliResult, Repo

SAST_ONLY = """\
version: 1
gates:
  sast: {fail_on: high}
"""


def verdict_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "verdict.json").read_text())
    validate(data, "test")
    return data


def sast(verdict: dict[str, Any]) -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g["name"] == "sast")


def test_clean_repository_passes_with_exit_0_and_writes_every_output(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app.py": CLEAN_CODE, "gates.yaml": SAST_ONLY})
    result = run_cli("run", repo.root)
    assert result.code == 0, result.err
    out = repo.root / ".gates"
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        ".gitignore",
        "findings.json",
        "gates.sarif",
        "junit.xml",
        "report.html",
        "report.md",
        "verdict.json",
    ]
    verdict = verdict_of(out)
    assert verdict["status"] == "pass"
    assert verdict["subject"]["commit"] == repo.git("rev-parse", "HEAD")
    assert verdict["subject"]["tree"] == repo.git("rev-parse", "HEAD^{tree}")
    assert verdict["subject"]["branch"] == "main"
    assert verdict["subject"]["dirty"] is False  # the output folder is not a change
    assert verdict["policy"]["source"].endswith("gates.yaml")
    assert sast(verdict)["tool_versions"]["bandit"] != "missing"
    assert "verdict: PASS" in result.out


def test_vulnerable_code_fails_with_exit_1_and_a_located_finding(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"pkg/run.py": VULNERABLE_CODE, "gates.yaml": SAST_ONLY})
    result = run_cli("run", repo.root, "--format", "json")
    assert result.code == 1
    gate = sast(verdict_of(repo.root / ".gates"))
    assert gate["status"] == "fail"
    b602 = next(f for f in gate["findings"] if f["rule"] == "B602")
    assert b602["severity"] == "high"
    assert b602["location"] == {"path": "pkg/run.py", "line": 5, "logical": None}
    assert b602["counted"] and b602["new"] and b602["waived"] is None
    assert "CWE-78" in b602["aliases"]
    assert gate["counts"]["by_severity"]["high"] == 1


def test_modes_warn_and_off(make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE})
    warn = repo.write("warn.yaml", "version: 1\ngates:\n  sast: {mode: warn}\n")
    result = run_cli("run", repo.root, "--policy", warn)
    assert result.code == 0
    assert sast(verdict_of(repo.root / ".gates"))["status"] == "warn"
    off = repo.write("off.yaml", "version: 1\nmode: off\ngates:\n  sast: {}\n")
    result = run_cli("run", repo.root, "--policy", off)
    assert result.code == 0
    verdict = verdict_of(repo.root / ".gates")
    assert sast(verdict)["status"] == "skipped"
    assert verdict["policy"]["enabled_gates"] == []


def test_max_findings_and_warn_on_thresholds(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE})
    # B404 (import subprocess) is low: one low finding is allowed, the high one is ignored here.
    allowed = repo.write(
        "p.yaml", "version: 1\ngates:\n  sast: {fail_on: none, warn_on: low, max_findings: {low: 1}}\n"
    )
    assert run_cli("run", repo.root, "--policy", allowed).code == 0
    assert sast(verdict_of(repo.root / ".gates"))["status"] == "warn"
    strict = repo.write("q.yaml", "version: 1\ngates:\n  sast: {fail_on: none, max_findings: {low: 0}}\n")
    assert run_cli("run", repo.root, "--policy", strict).code == 1
    assert "1 low finding(s), at most 0 allowed" in sast(verdict_of(repo.root / ".gates"))["reason"]


def test_waivers_valid_expired_and_wrong_path(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"scripts/run.py": VULNERABLE_CODE})

    def policy(path: str, expires: str) -> Path:
        return repo.write(
            "gates.yaml",
            f"""\
            version: 1
            gates:
              sast: {{fail_on: high}}
            waivers:
              - gate: sast
                rule: B602
                path: "{path}"
                reason: commands come from our own config
                owner: platform-team
                expires: {expires}
            """,
        )

    policy("scripts/**", "2099-12-31")
    assert run_cli("run", repo.root).code == 0
    verdict = verdict_of(repo.root / ".gates")
    b602 = next(f for f in sast(verdict)["findings"] if f["rule"] == "B602")
    assert b602["waived"]["owner"] == "platform-team" and not b602["counted"]
    assert verdict["waivers"][0]["status"] == "active" and verdict["waivers"][0]["matched"] == 1

    policy("scripts/**", "2020-01-01")
    result = run_cli("run", repo.root)
    assert result.code == 1
    verdict = verdict_of(repo.root / ".gates")
    assert verdict["waivers"][0]["status"] == "expired"
    assert "expired waiver: sast B602" in result.out

    policy("other/**", "2099-12-31")
    assert run_cli("run", repo.root).code == 1


def test_overrides_are_stricter_on_release_branches(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE.replace("shell=True", "shell=False")}, branch="feature/x")
    repo.write(
        "gates.yaml",
        """\
        version: 1
        gates:
          sast: {fail_on: high}
        overrides:
          - name: release
            when: {branch: ["main", "release/*"]}
            gates:
              sast: {fail_on: low}
        """,
    )
    assert run_cli("run", repo.root).code == 0
    assert run_cli("run", repo.root, "--branch", "release/2.0").code == 1
    assert verdict_of(repo.root / ".gates")["policy"]["applied_overrides"] == ["release"]
    repo.git("checkout", "-q", "-b", "main")
    assert run_cli("run", repo.root).code == 1


def test_cache_makes_a_second_run_reuse_collected_findings(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE, "gates.yaml": SAST_ONLY})
    run_cli("run", repo.root)
    first = sast(verdict_of(repo.root / ".gates"))
    run_cli("run", repo.root)
    second = sast(verdict_of(repo.root / ".gates"))
    assert not first["cached"] and second["cached"]
    assert second["findings"] == first["findings"]
    run_cli("run", repo.root, "--no-cache")
    assert not sast(verdict_of(repo.root / ".gates"))["cached"]
    repo.write("more.py", "import pickle\n")
    run_cli("run", repo.root)
    changed = sast(verdict_of(repo.root / ".gates"))
    assert not changed["cached"]
    assert any(f["location"]["path"] == "more.py" for f in changed["findings"])


def test_baseline_marks_new_findings_and_new_only_ignores_old_ones(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"old.py": VULNERABLE_CODE})
    policy = repo.write("gates.yaml", "version: 1\ngates:\n  sast: {fail_on: high, new_only: true}\n")
    assert run_cli("run", repo.root, "--out", repo.root / "base").code == 1  # no baseline: all new
    baseline = repo.root / "base" / "verdict.json"
    # Code above the finding moves: its fingerprint must not change.
    repo.write("old.py", "# a comment\n\n" + VULNERABLE_CODE)
    assert run_cli("run", repo.root, "--baseline", baseline, "--policy", policy).code == 0
    verdict = verdict_of(repo.root / ".gates")
    assert verdict["baseline"]["path"] == str(baseline)
    assert not any(f["new"] for f in sast(verdict)["findings"])
    repo.write("new.py", VULNERABLE_CODE)
    assert run_cli("run", repo.root, "--baseline", baseline).code == 1
    new = [f for f in sast(verdict_of(repo.root / ".gates"))["findings"] if f["new"]]
    assert {f["location"]["path"] for f in new} == {"new.py"}


def test_merge_of_parts_and_fail_closed_on_a_missing_part(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE, "gates.yaml": SAST_ONLY})
    assert run_cli("run", repo.root, "--only", "sast", "--out", repo.root / "part-sast").code == 1
    part = repo.root / "part-sast" / "verdict.json"
    assert verdict_of(repo.root / "part-sast")["scope"] == ["sast"]
    merged = repo.root / "merged" / "verdict.json"
    result = run_cli("merge", part, "-o", merged, "--format", "md")
    assert result.code == 1
    assert json.loads(merged.read_text())["status"] == "fail"
    assert (repo.root / "merged" / "report.md").exists()

    # A part that does not carry an enabled gate: that gate is an error, never a pass.
    data = json.loads(part.read_text())
    data["gates"] = []
    data["status"] = "pass"
    empty = repo.root / "empty.json"
    empty.write_text(json.dumps(data))
    assert run_cli("merge", empty, "-o", repo.root / "m2.json").code == 3
    gate = sast(json.loads((repo.root / "m2.json").read_text()))
    assert gate["status"] == "error" and "fail closed" in gate["reason"]

    # Parts from different commits cannot be merged.
    data["subject"]["commit"] = "0" * 40
    other = repo.root / "other.json"
    other.write_text(json.dumps(data))
    result = run_cli("merge", part, other, "-o", repo.root / "m3.json")
    assert result.code == 2 and "made for commit" in result.err
    assert not (repo.root / "m3.json").exists()


def test_evaluate_reuses_findings_under_another_policy(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE, "gates.yaml": SAST_ONLY})
    assert run_cli("run", repo.root).code == 1
    findings = repo.root / ".gates" / "findings.json"
    lenient = repo.write("lenient.yaml", "version: 1\ngates:\n  sast: {fail_on: critical}\n")
    repo.write("run.py", "")  # the code is gone: only the collected findings are evaluated
    out = repo.root / "what-if"
    result = run_cli("evaluate", findings, "--policy", lenient, "--out", out)
    assert result.code == 0
    verdict = verdict_of(out)
    assert sast(verdict)["counts"]["total"] >= 2
    assert verdict["status"] == "pass"


def test_invalid_inputs_exit_2_with_one_line_and_write_nothing(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE})
    bad = repo.write("bad.yaml", "version: 1\ngates:\n  sast:\n    fail_on: loud\n")
    out = repo.root / "out"
    result = run_cli("run", repo.root, "--policy", bad, "--out", out)
    assert result.code == 2
    assert result.err.strip().count("\n") == 0
    assert f"{bad}:4: gates.sast.fail_on" in result.err
    assert not out.exists()

    corrupt = repo.write("findings.json", '{"findings_version": 1, "collections": [{"gate": ')
    result = run_cli("evaluate", corrupt, "--policy", "default", "--out", out)
    assert result.code == 2 and f"{corrupt}:1: invalid JSON" in result.err
    wrong = repo.write("wrong.json", '{"findings_version": 1, "subject": {}, "collections": [{"x": 1}]}')
    result = run_cli("evaluate", wrong, "--policy", "default", "--out", out)
    assert result.code == 2 and "corrupt findings file" in result.err
    assert not out.exists()

    result = run_cli("run", repo.root, "--only", "nosuch", "--out", out)
    assert result.code == 2 and "unknown gate" in result.err
    result = run_cli("run", repo.root, "--baseline", corrupt, "--out", out)
    assert result.code == 2
    assert not out.exists()
    assert run_cli("run", repo.root, "--format", "pdf").code == 2


def test_missing_bandit_is_an_error_with_exit_3(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bandit" else real_find_spec(name, *a)
    )
    repo = make_repo({"run.py": CLEAN_CODE, "gates.yaml": SAST_ONLY})
    result = run_cli("run", repo.root, "--no-cache")
    assert result.code == 3
    gate = sast(verdict_of(repo.root / ".gates"))
    assert gate["status"] == "error"
    assert "bandit is not installed" in gate["reason"]


def test_policy_commands_schema_and_list(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result = run_cli("policy", "validate", "strict")
    assert result.code == 0 and "valid policy 'strict'" in result.out
    result = run_cli("policy", "show", "strict", "--branch", "main")
    assert result.code == 0
    assert "fail_on: medium" in result.out and "protected-branches" in result.out
    schema = json.loads(run_cli("schema", "policy").out)
    assert "confidence" in schema["properties"]["gates"]["properties"]["sast"]["properties"]
    assert json.loads(run_cli("schema", "verdict").out)["title"] == "gates verdict"
    listing = json.loads(run_cli("list", "--json").out)
    assert any(g["name"] == "sast" and g["tools"]["bandit"] != "missing" for g in listing["gates"])


def test_console_script_runs_as_a_subprocess(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE, "gates.yaml": SAST_ONLY})
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "run", str(repo.root), "--format", "sarif"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CI": "true", "HOME": str(repo.root)},
    )
    assert proc.returncode == 1, proc.stderr
    assert "sast: started" in proc.stderr  # plain progress lines in CI
    assert "verdict: FAIL" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "gates", "--help"], capture_output=True, text=True)
    assert "3  error: a gate could not run" in proc.stdout


def test_cache_keeps_a_bounded_number_of_entries_per_gate(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    from gates.engine.cache import KEEP_PER_GATE

    repo = make_repo({"gates.yaml": SAST_ONLY})
    for i in range(KEEP_PER_GATE + 2):
        repo.write("app.py", f"VALUE = {i}\n")
        assert run_cli("run", repo.root, "--format", "json").code == 0
    assert len(list(Path(os.environ["GATES_CACHE_DIR"]).glob("sast-*.json"))) == KEEP_PER_GATE


def test_an_internal_error_exits_3_not_1(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gates.engine import pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in gates")

    monkeypatch.setattr(pipeline, "decide", broken)
    repo = make_repo({"app.py": CLEAN_CODE, "gates.yaml": SAST_ONLY})
    result = run_cli("run", repo.root)
    assert result.code == 3
    assert "gates: internal error: RuntimeError: a bug in gates" in result.err
    assert not (repo.root / ".gates" / "verdict.json").exists()
