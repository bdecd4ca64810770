"""SARIF, JUnit and Markdown rendered from real verdicts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import VULNERABLE_CODE, CliResult, Repo

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture
def failing_run(make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]) -> Path:
    repo = make_repo({"app/run.py": VULNERABLE_CODE, "app/ok.py": "import pickle\n"})
    repo.write(
        "gates.yaml",
        """\
        version: 1
        gates:
          sast: {fail_on: high}
        waivers:
          - {gate: sast, rule: B403, reason: "trusted input | <b>only</b>", owner: data-team,
             expires: 2099-01-01}
        """,
    )
    assert run_cli("run", repo.root).code == 1
    return repo.root / ".gates"


def test_sarif_is_valid_oasis_sarif_with_locations_suppressions_and_fingerprints(failing_run: Path) -> None:
    sarif = json.loads((failing_run / "gates.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(sarif)
    (run,) = sarif["runs"]
    assert run["tool"]["driver"]["name"] == "gates-sast"
    results = {r["ruleId"]: r for r in run["results"]}
    b602 = results["B602"]
    assert b602["level"] == "error"
    assert b602["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/run.py"
    assert b602["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    assert b602["partialFingerprints"]["gatesFingerprint/v1"]
    assert results["B403"]["suppressions"][0]["kind"] == "external"
    assert "data-team" in results["B403"]["suppressions"][0]["justification"]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(set(rule_ids))
    assert all("security-severity" in r["properties"] for r in run["tool"]["driver"]["rules"])


def test_junit_has_one_testcase_per_gate_with_failure_details(failing_run: Path) -> None:
    root = ET.parse(failing_run / "junit.xml").getroot()
    assert root.tag == "testsuites" and root.get("failures") == "1"
    (case,) = root.iter("testcase")
    assert case.get("name") == "sast"
    failure = case.find("failure")
    assert failure is not None
    assert "[high] B602 app/run.py:5" in (failure.text or "")


def test_markdown_escapes_finding_text(failing_run: Path, run_cli: Callable[..., CliResult]) -> None:
    verdict: dict[str, Any] = json.loads((failing_run / "verdict.json").read_text())
    finding = verdict["gates"][0]["findings"][0]
    finding["message"] = "<script>alert(1)</script> | `x` [link](javascript:alert(1))\nsecond line"
    finding["counted"] = True
    edited = failing_run.parent / "edited.json"
    edited.write_text(json.dumps(verdict))
    result = run_cli("report", edited, "--format", "md")
    assert result.code == 0
    row = next(line for line in result.out.splitlines() if "alert(1)</" in line or "&lt;script" in line)
    assert "<script>" not in result.out
    assert "&lt;script&gt;" in row and "\\|" in row and "\\`x\\`" in row
    assert "second line" in row  # newlines cannot break the table
    assert "## ❌ gates verdict: **FAIL**" in result.out


def test_reports_are_deterministic(
    failing_run: Path, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    verdict = failing_run / "verdict.json"
    first = {fmt: run_cli("report", verdict, "--format", fmt).out for fmt in ("sarif", "junit", "md", "json")}
    second = {
        fmt: run_cli("report", verdict, "--format", fmt).out for fmt in ("sarif", "junit", "md", "json")
    }
    assert first == second
    assert json.loads(first["json"]) == json.loads(verdict.read_text())


def test_report_rejects_a_corrupt_verdict(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    bad = tmp_path / "verdict.json"
    bad.write_text(json.dumps({"verdict_version": 1, "status": "maybe"}))
    result = run_cli("report", bad, "--format", "md")
    assert result.code == 2
    assert str(bad) in result.err and "not a gates verdict" in result.err


def test_every_sarif_result_has_a_file_location_for_github(failing_run: Path) -> None:
    """GitHub code scanning rejects a whole upload when one result has no file location."""
    from gates.report import sarif
    from gates.verdict import Verdict

    verdict: dict[str, Any] = json.loads((failing_run / "verdict.json").read_text())
    findings = verdict["gates"][0]["findings"]
    findings[0]["location"] = {"path": None, "line": None, "logical": "pkg:pypi/jinja2@2.10"}
    findings[1]["location"] = {"path": None, "line": None, "logical": "http://127.0.0.1:8000/login"}
    findings[1]["properties"]["manifest"] = "requirements.txt"
    document = json.loads(sarif.render(Verdict.from_json(verdict)))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(document)
    results = document["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert all(uris)
    assert uris[0] == "gates.yaml"  # the policy file that made it count, inside the repository
    assert uris[1] == "requirements.txt"
    assert results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "pkg:pypi/jinja2@2.10"


def test_gitlab_sast_and_code_quality_reports(failing_run: Path, run_cli: Callable[..., CliResult]) -> None:
    verdict = failing_run / "verdict.json"
    sast = json.loads(run_cli("report", verdict, "--format", "gitlab-sast").out)
    assert sast["scan"]["type"] == "sast" and sast["scan"]["status"] == "success"
    assert sast["scan"]["start_time"].count(":") == 2 and not sast["scan"]["start_time"].endswith("Z")
    by_rule = {v["identifiers"][0]["value"]: v for v in sast["vulnerabilities"]}
    assert "B403" not in by_rule  # waived in the policy: a reviewed exception
    b602 = by_rule["B602"]
    assert b602["severity"] == "High"
    assert b602["location"] == {"file": "app/run.py", "start_line": 5}
    assert {"type": "cwe", "name": "CWE-78", "value": "CWE-78"} in b602["identifiers"]

    quality = json.loads(run_cli("report", verdict, "--format", "codequality").out)
    issue = next(i for i in quality if i["check_name"] == "sast/B602")
    assert issue["severity"] == "critical"
    assert issue["location"] == {"path": "app/run.py", "lines": {"begin": 5}}
    assert len({i["fingerprint"] for i in quality}) == len(quality)
