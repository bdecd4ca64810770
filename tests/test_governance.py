"""Governance: the waiver ledger, inline suppressions, required gates (fail closed), SARIF limits.

Real bandit on real git repositories; the date is pinned with SOURCE_DATE_EPOCH (2026-06-01).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gates.report import sarif
from gates.verdict import Verdict, validate
from tests.conftest import VULNERABLE_CODE, CliResult, Repo

TODAY_EPOCH = "1780272000"  # pragma: allowlist pii; 2026-06-01T00:00:00Z
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(autouse=True)
def _pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", TODAY_EPOCH)


def verdict_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    validate(data, str(path))
    return data


def waiver(rule: str, expires: str, gate: str = "sast", path: str | None = None) -> str:
    where = f", path: '{path}'" if path else ""
    return (
        f"  - {{gate: {gate}, rule: {rule}{where}, reason: reviewed, owner: platform, expires: {expires}}}\n"
    )


def test_ledger_reports_expiring_unused_too_long_and_expired_waivers(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE})
    repo.write(
        "gates.yaml",
        "version: 1\n"
        "governance: {max_waiver_days: 180, expiring_within_days: 14}\n"
        "gates:\n  sast: {fail_on: high}\n"
        "waivers:\n"
        + waiver("B602", "2026-06-10")  # in force, expiring in 9 days
        + waiver("B101", "2026-09-01")  # in force, matches nothing
        + waiver("B404", "2027-06-01")  # a year ahead: more than 180 days, not applied
        + waiver("B999", "2026-01-01"),  # expired
    )
    result = run_cli("run", repo.root)
    verdict = verdict_of(repo.root / ".gates" / "verdict.json")
    ledger = {w["rule"]: (w["status"], w["matched"]) for w in verdict["waivers"]}
    assert ledger == {
        "B602": ("expiring", 1),
        "B101": ("unused", 0),
        "B404": ("too_long", 1),
        "B999": ("expired", 0),
    }
    findings = {f["rule"]: f for f in verdict["gates"][0]["findings"]}
    assert findings["B602"]["waived"] is not None and findings["B404"]["waived"] is None
    # The gate passes (B602 waived, B404 is low) but the ledger makes the verdict a warning.
    assert verdict["gates"][0]["status"] == "pass"
    assert verdict["governance"]["status"] == "warn" and verdict["status"] == "warn"
    assert len(verdict["governance"]["reasons"]) == 4
    assert result.code == 0
    assert "unused waiver: sast B101" in result.out and "too long waiver: sast B404" in result.out
    report = (repo.root / ".gates" / "report.md").read_text()
    assert "Waiver ledger (warn)" in report and "B101" in report and "matched no finding" in report


def test_unused_waivers_can_fail_or_be_ignored(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE.replace("shell=True", "shell=False")})
    for setting, code, status in (("fail", 1, "fail"), ("ignore", 0, "pass")):
        repo.write(
            "gates.yaml",
            f"version: 1\ngovernance: {{unused_waivers: {setting}}}\ngates:\n  sast: {{fail_on: high}}\n"
            "waivers:\n" + waiver("B602", "2026-12-31"),
        )
        assert run_cli("run", repo.root).code == code
        verdict = verdict_of(repo.root / ".gates" / "verdict.json")
        assert verdict["waivers"][0]["status"] == "unused" and verdict["status"] == status


def test_waiver_for_a_gate_out_of_scope_is_not_evaluated_and_merge_resolves_it(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE, "config.py": 'PASSWORD = "hunter2-very-secret-value"\n'})
    repo.write(
        "gates.yaml",
        "version: 1\ngates:\n  sast: {fail_on: high}\n  secrets: {fail_on: high}\nwaivers:\n"
        + waiver("B602", "2026-12-31")
        + waiver("secret-keyword", "2026-12-31", gate="secrets", path="config.py"),
    )
    assert run_cli("run", repo.root, "--only", "sast", "--out", tmp_path / "a").code == 0
    assert run_cli("run", repo.root, "--only", "secrets", "--out", tmp_path / "b").code == 0
    part_a = verdict_of(tmp_path / "a" / "verdict.json")
    assert [w["status"] for w in part_a["waivers"]] == ["active", "not_evaluated"]
    assert part_a["governance"] == {"status": "pass", "reasons": []}
    merged = run_cli(
        "merge",
        tmp_path / "a" / "verdict.json",
        tmp_path / "b" / "verdict.json",
        "-o",
        tmp_path / "m" / "verdict.json",
    )
    assert merged.code == 0, merged.out
    ledger = verdict_of(tmp_path / "m" / "verdict.json")["waivers"]
    assert [(w["gate"], w["status"], w["matched"]) for w in ledger] == [
        ("sast", "active", 1),
        ("secrets", "active", 1),
    ]


def test_inline_suppressions_off_makes_bandit_ignore_nosec(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    code = VULNERABLE_CODE.replace("shell=True)", "shell=True)  # nosec B602")
    repo = make_repo({"run.py": code})
    repo.write("gates.yaml", "version: 1\ngates:\n  sast: {fail_on: high}\n")
    assert run_cli("run", repo.root, "--no-cache").code == 0
    repo.write(
        "gates.yaml",
        "version: 1\ngovernance: {inline_suppressions: false}\n"
        "gates:\n  sast: {fail_on: high, allow_nosec: true}\n",
    )
    assert run_cli("run", repo.root, "--no-cache").code == 1
    rules = [f["rule"] for f in verdict_of(repo.root / ".gates" / "verdict.json")["gates"][0]["findings"]]
    assert "B602" in rules


def test_a_required_gate_switched_off_by_an_override_is_an_error(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE}, branch="feature/x")
    repo.write(
        "gates.yaml",
        """\
        version: 1
        gates:
          sast: {fail_on: high, required: true}
        overrides:
          - when: {branch: ["feature/*"]}
            gates:
              sast: {mode: "off"}
        """,
    )
    result = run_cli("run", repo.root)
    assert result.code == 3, result.out
    verdict = verdict_of(repo.root / ".gates" / "verdict.json")
    assert verdict["status"] == "error"
    assert verdict["gates"][0]["reason"] == "required gate did not run: mode is off (fail closed)"
    assert verdict["policy"]["required_gates"] == ["sast"]
    # Without `required` the same override merely skips the gate.
    repo.write("gates.yaml", (repo.root / "gates.yaml").read_text().replace(", required: true", ""))
    assert run_cli("run", repo.root).code == 0
    assert verdict_of(repo.root / ".gates" / "verdict.json")["gates"][0]["status"] == "skipped"


def test_merge_fails_closed_when_a_required_gate_is_missing(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE.replace("shell=True", "shell=False"), "x.txt": "hello\n"})
    repo.write(
        "gates.yaml", "version: 1\ngates:\n  sast: {fail_on: high}\n  secrets: {required: true, mode: warn}\n"
    )
    assert run_cli("run", repo.root, "--only", "sast", "--out", tmp_path / "a").code == 0
    result = run_cli("merge", tmp_path / "a" / "verdict.json", "-o", tmp_path / "m.json")
    assert result.code == 3
    gates = {g["name"]: g for g in verdict_of(tmp_path / "m.json")["gates"]}
    assert gates["secrets"]["reason"] == "no result: no merged part carried this required gate (fail closed)"
    assert gates["sast"]["status"] == "pass"


def test_waivers_list_and_check(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE})
    repo.write(
        "gates.yaml",
        "version: 1\ngates:\n  sast: {fail_on: high}\nwaivers:\n"
        + waiver("B602", "2026-12-31")
        + waiver("B101", "2026-12-31"),
    )
    monkeypatch.chdir(repo.root)
    listing = run_cli("waivers", "list")
    assert listing.code == 0
    assert listing.out.splitlines()[0].split() == [
        "STATUS",
        "GATE",
        "RULE",
        "PATH",
        "EXPIRES",
        "OWNER",
        "MATCHED",
        "SOURCE",
    ]
    assert [line.split()[:3] for line in listing.out.splitlines()[1:]] == [
        ["active", "sast", "B602"],
        ["active", "sast", "B101"],
    ]
    assert run_cli("waivers", "check").code == 0  # by date alone nothing is wrong yet
    run_cli("run", repo.root)
    verdict = repo.root / ".gates" / "verdict.json"
    check = run_cli("waivers", "check", "--verdict", verdict)
    assert check.code == 1
    assert check.out.splitlines()[0].startswith("unused: sast B101 (owner platform, expires 2026-12-31, ")
    as_json = json.loads(run_cli("waivers", "list", "--verdict", verdict, "--json").out)
    assert [(w["rule"], w["matched"]) for w in as_json] == [("B602", 1), ("B101", 0)]
    repo.write("gates.yaml", "version: 1\ngates:\n  sast: {}\nwaivers:\n" + waiver("B602", "2026-01-01"))
    assert run_cli("waivers", "check").code == 1


def _synthetic_verdict(findings: int, gates: int = 1) -> dict[str, Any]:
    severities = ["info", "low", "medium", "high", "critical"]

    def finding(i: int) -> dict[str, Any]:
        severity = severities[i % 5]
        return {
            "rule": f"R{i % 7}",
            "severity": severity,
            "message": f"finding {i}",
            "location": {"path": f"src/m{i % 100}.py", "line": i % 500 + 1, "logical": None},
            "fingerprint": f"fp{i}",
            "aliases": [],
            "properties": {},
            "new": True,
            "counted": severity in ("high", "critical") or i == 7,  # one counted low finding
            "waived": None,
        }

    def gate(n: int) -> dict[str, Any]:
        items = [finding(i) for i in range(findings)] if n == 0 else [finding(i) for i in range(3)]
        return {
            "name": f"gate{n:02d}",
            "status": "fail",
            "mode": "enforce",
            "reason": "r",
            "version": "1",
            "tool_versions": {},
            "duration_s": 0.0,
            "cached": False,
            "stats": {},
            "counts": {"total": len(items), "counted": 0, "new": 0, "waived": 0, "by_severity": {}},
            "findings": items,
        }

    policy = {
        "name": "default",
        "source": "builtin:default",
        "digest": "sha256:" + "0" * 64,
        "branch": None,
        "environment": None,
        "applied_overrides": [],
        "enabled_gates": [f"gate{n:02d}" for n in range(gates)],
    }
    return {
        "status": "fail",
        "subject": {"path": "/repo", "commit": None, "tree": None, "branch": None, "dirty": None},
        "policy": policy,
        "tool": {"name": "governance-gates", "version": "0"},
        "started_at": "2026-01-01T00:00:00Z",
        "duration_s": 0.0,
        "scope": None,
        "baseline": None,
        "gates": [gate(n) for n in range(gates)],
        "waivers": [],
    }


def test_sarif_truncates_a_run_to_25000_results_keeping_counted_and_severe_first() -> None:
    verdict = _synthetic_verdict(25_010)
    document = json.loads(sarif.render(Verdict.from_json(verdict)))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(document)
    (run,) = document["runs"]
    assert len(run["results"]) == 25_000
    assert run["properties"]["truncated"]["omitted"] == 10
    assert (
        "verdict.json has them all"
        in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    )
    kept = {r["partialFingerprints"]["gatesFingerprint/v1"] for r in run["results"]}
    counted = {f["fingerprint"] for f in verdict["gates"][0]["findings"] if f["counted"]}
    assert counted <= kept and "fp7" in kept  # the counted low finding survives
    dropped = [f for f in verdict["gates"][0]["findings"] if f["fingerprint"] not in kept]
    assert {f["severity"] for f in dropped} == {"info"}


def test_sarif_has_at_most_20_runs() -> None:
    document = json.loads(sarif.render(Verdict.from_json(_synthetic_verdict(3, gates=23))))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(document)
    assert len(document["runs"]) == 20
    combined = document["runs"][-1]
    assert combined["tool"]["driver"]["name"] == "gates-combined"
    assert {r["properties"]["gate"] for r in combined["results"]} == {"gate19", "gate20", "gate21", "gate22"}
    assert {r["ruleId"] for r in combined["results"]} >= {"gate19/R0", "gate22/R2"}


def test_waivers_command_runs_as_a_subprocess(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo(
        {"gates.yaml": "version: 1\ngates:\n  sast: {}\nwaivers:\n" + waiver("B1", "2026-01-01")}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "waivers", "check"], cwd=repo.root, capture_output=True, text=True
    )
    assert proc.returncode == 1 and proc.stdout.startswith("expired: sast B1"), proc.stderr
