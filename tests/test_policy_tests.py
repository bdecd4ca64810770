"""`gates policy test DIR`: policy unit tests evaluated by the engine, like `opa test`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

POLICY = """\
version: 1
gates:
  sast: {fail_on: high, required: true}
  secrets: {fail_on: high}
waivers:
  - {gate: sast, rule: B602, path: "scripts/**", reason: trusted input, owner: platform, expires: 2026-12-31}
overrides:
  - when: {branch: ["release/*"]}
    gates:
      sast: {fail_on: medium}
"""

CASES = """\
cases:
  - name: waived finding passes
    policy: ../gates.yaml
    today: 2026-06-01
    findings:
      - {gate: sast, rule: B602, severity: high, path: scripts/run.py, line: 3}
    expect: {status: pass, gates: {sast: pass}}
  - name: the waiver expires
    policy: ../gates.yaml
    today: 2027-01-01
    findings:
      - {gate: sast, rule: B602, severity: high, path: scripts/run.py, line: 3}
    expect: {status: fail, gates: {sast: fail}}
  - name: release branches fail on medium
    policy: ../gates.yaml
    branch: release/2.0
    today: 2026-06-01
    findings:
      - {gate: sast, rule: B105, severity: medium, path: app.py}
    expect: {status: fail}
  - name: a required gate that errored
    policy: ../gates.yaml
    today: 2026-06-01
    errors: {sast: bandit crashed}
    expect: {status: error, gates: {sast: error, secrets: pass}}
  - name: unused waiver warns
    policy: ../gates.yaml
    today: 2026-06-01
    expect: {status: warn}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_passing_and_failing_cases(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    write(tmp_path / "gates.yaml", POLICY)
    write(tmp_path / "policy_tests" / "test_sast.yaml", CASES)
    write(tmp_path / "policy_tests" / "notes.yaml", "not: a test file\n")
    result = run_cli("policy", "test", tmp_path / "policy_tests")
    assert result.code == 0, result.out
    lines = result.out.splitlines()
    assert lines[0] == f"PASSED {tmp_path / 'policy_tests' / 'test_sast.yaml'}::waived finding passes"
    assert lines[-1] == "5 passed, 0 failed"

    write(
        tmp_path / "policy_tests" / "strict_test.json",
        '{"policy": "strict", "today": "2026-06-01",'
        ' "findings": [{"gate": "sast", "rule": "B101", "severity": "low"}],'
        ' "expect": {"status": "pass", "gates": {"sast": "pass"}}}',
    )
    result = run_cli("policy", "test", tmp_path / "policy_tests")
    assert result.code == 1
    assert f"FAILED {tmp_path / 'policy_tests' / 'strict_test.json'}::line 1" in result.out
    assert "    status warn, expected pass" in result.out
    assert "    gate sast warn, expected pass (1 finding(s) at or above low)" in result.out
    assert result.out.splitlines()[-1] == "5 passed, 1 failed"


def test_malformed_case_is_exit_2_with_file_and_line(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    write(tmp_path / "gates.yaml", POLICY)
    case = write(
        tmp_path / "test_bad.yaml",
        """\
        policy: gates.yaml
        findings:
          - {gate: sast, rule: B602, severity: severe}
        expect: {status: fail}
        """,
    )
    result = run_cli("policy", "test", tmp_path)
    assert result.code == 2
    assert f"{case}:3: findings[0].severity: 'severe' is not one of" in result.err
    assert run_cli("policy", "test", tmp_path / "empty").code == 2


def test_policy_test_runs_as_a_subprocess(tmp_path: Path) -> None:
    write(tmp_path / "gates.yaml", POLICY)
    write(tmp_path / "test_one.yaml", "policy: gates.yaml\ntoday: 2026-06-01\nexpect: {status: warn}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "policy", "test", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("1 passed, 0 failed\n")
