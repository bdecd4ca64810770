"""The vulnerabilities gate end to end: real cyclonedx-py and pip-audit against a loopback OSV mirror."""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OSV_FIXTURES, CliResult


def _project(root: Path, requirements: str, policy: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(requirements, encoding="utf-8")
    (root / "gates.yaml").write_text(textwrap.dedent(policy), encoding="utf-8")
    return root


def _run(run_cli: Callable[..., CliResult], root: Path) -> tuple[CliResult, dict[str, Any]]:
    result = run_cli("run", root, "--only", "vulnerabilities", "--out", root / "out", "--no-cache")
    verdict_file = root / "out" / "verdict.json"
    verdict = json.loads(verdict_file.read_text(encoding="utf-8")) if verdict_file.exists() else {}
    return result, verdict


def _gate(verdict: dict[str, Any]) -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g["name"] == "vulnerabilities")


POLICY = """\
    version: 1
    gates:
      vulnerabilities: {fail_on: high}
"""


@pytest.fixture
def mirror_env(osv_mirror: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GATES_OSV_URL", osv_mirror)
    return osv_mirror


def test_a_known_vulnerable_pin_fails_with_advisory_aliases_and_fixed_versions(
    tmp_path: Path, run_cli: Callable[..., CliResult], mirror_env: str
) -> None:
    root = _project(tmp_path / "app", "jinja2==2.10\n", POLICY)
    result, verdict = _run(run_cli, root)
    assert result.code == 1, result.err
    gate = _gate(verdict)
    assert gate["status"] == "fail"
    finding = next(f for f in gate["findings"] if f["rule"] == "PYSEC-2019-217")
    assert "CVE-2019-10906" in finding["aliases"]
    assert finding["location"]["logical"] == "pkg:pypi/jinja2@2.10"
    assert finding["properties"]["fixed_versions"] == ["2.10.1"]
    assert finding["properties"]["package"] == "jinja2"
    assert finding["severity"] == "high"  # no CVSS in the advisory: default_severity
    report = (root / "out" / "report.md").read_text(encoding="utf-8")
    assert "PYSEC-2019-217" in report and "pkg:pypi/jinja2@2.10" in report and "fixed in 2.10.1" in report
    sarif = json.loads((root / "out" / "gates.sarif").read_text(encoding="utf-8"))
    results = [r for run in sarif["runs"] for r in run["results"] if r["ruleId"] == "PYSEC-2019-217"]
    assert results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "pkg:pypi/jinja2@2.10"
    assert results[0]["properties"]["fixed_versions"] == ["2.10.1"]
    physical = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert physical == "requirements.txt"  # GitHub shows the finding at the file that pins it
    assert not (root / "out" / "sbom.cdx.json").exists()  # the release artefact is the sbom gate's


def test_the_fixed_version_passes(tmp_path: Path, run_cli: Callable[..., CliResult], mirror_env: str) -> None:
    root = _project(tmp_path / "app", "jinja2==3.1.4\n", POLICY)
    result, verdict = _run(run_cli, root)
    assert result.code == 0, result.err
    assert _gate(verdict)["status"] == "pass"
    assert _gate(verdict)["findings"] == []


@pytest.mark.parametrize(("expires", "code"), [("2999-12-31", 0), ("2001-01-01", 1)])
def test_a_waiver_by_alias_passes_until_it_expires(
    tmp_path: Path, run_cli: Callable[..., CliResult], mirror_env: str, expires: str, code: int
) -> None:
    policy = POLICY + textwrap.indent(
        textwrap.dedent(f"""\
            waivers:
              - {{gate: vulnerabilities, rule: CVE-2019-10906, reason: sandbox unused, owner: web,
                  expires: {expires}}}
              - {{gate: vulnerabilities, rule: PYSEC-2021-66, reason: not reachable, owner: web,
                  expires: {expires}}}
        """),
        "    ",
    )
    root = _project(tmp_path / "app", "jinja2==2.10\n", policy)
    result, verdict = _run(run_cli, root)
    assert result.code == code, result.err
    waived = [f for f in _gate(verdict)["findings"] if f["waived"]]
    assert bool(waived) is (code == 0)


def test_severity_from_cvss_and_database_rating_and_ignore_unfixed(
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    osv_fixture_mirror: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATES_OSV_URL", osv_fixture_mirror)
    root = _project(tmp_path / "a", "gates-demo==1.1\n", POLICY)
    _, verdict = _run(run_cli, root)
    [finding] = _gate(verdict)["findings"]
    assert (finding["rule"], finding["severity"]) == ("GATES-TEST-0001", "high")  # CVSS 7.5
    assert finding["properties"]["cvss"].startswith("CVSS:3.1/")
    unfixed = _project(tmp_path / "b", "gates-demo==3.0\n", POLICY)
    result, verdict = _run(run_cli, unfixed)
    [finding] = _gate(verdict)["findings"]
    assert (finding["rule"], finding["severity"]) == ("GATES-TEST-0002", "medium")  # MODERATE
    assert result.code == 0  # medium is under fail_on: high
    ignoring = _project(
        tmp_path / "c",
        "gates-demo==3.0\n",
        "version: 1\ngates:\n  vulnerabilities: {fail_on: low, ignore_unfixed: true}\n",
    )
    result, verdict = _run(run_cli, ignoring)
    assert (result.code, _gate(verdict)["findings"]) == (0, [])


def test_osv_database_setting_serves_a_local_database_for_the_run(
    tmp_path: Path, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATES_OSV_URL", raising=False)
    policy = f"version: 1\ngates:\n  vulnerabilities: {{osv_database: {OSV_FIXTURES}}}\n"
    root = _project(tmp_path / "app", "jinja2==2.10\nunpinned-thing\n", policy)
    result, verdict = _run(run_cli, root)
    assert result.code == 1, result.err
    rules = sorted(f["rule"] for f in _gate(verdict)["findings"])
    assert rules == ["PYSEC-2019-217", "unaudited"]


def test_an_osv_database_gives_the_findings_of_its_mirror_and_the_advisories_of_pip_audit_by_hand(
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    osv_database_dir: Path,
    osv_mirror: str,
) -> None:
    """`osv_database` is answered in the gate's process; the mirror over HTTP (`gates osv-mirror
    serve`'s server) and pip-audit's command line asking it give the same advisories."""
    from tests.test_audit_parity import PINS, _cli

    requirements = "".join(f"{name}=={version}\n" for name, version in PINS)
    root = _project(
        tmp_path / "app", requirements, "version: 1\ngates:\n  vulnerabilities: {fail_on: none}\n"
    )
    monkeypatch.setenv("GATES_OSV_URL", osv_mirror)
    served = _gate(_run(run_cli, root)[1])["findings"]
    monkeypatch.delenv("GATES_OSV_URL")
    result = run_cli(
        "run", root, "--only", "vulnerabilities", "--out", root / "local", "--no-cache",
        "--input", f"vulnerabilities.osv_database={osv_database_dir}",
    )  # fmt: skip
    assert result.code == 0, result.err
    local = _gate(json.loads((root / "local" / "verdict.json").read_text(encoding="utf-8")))["findings"]
    assert local == served and len(local) > 10
    by_hand = {(d["name"], v["id"]) for d in _cli(PINS, osv_mirror, tmp_path) for v in d["vulns"]}
    found = {(f["properties"]["package"], i) for f in local for i in (f["rule"], *f["aliases"])}
    assert by_hand <= found and len(local) == len(by_hand)


def test_an_unreachable_database_is_an_error_that_says_how_to_configure_a_mirror(
    tmp_path: Path, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GATES_OSV_URL", f"http://127.0.0.1:{port}")
    root = _project(tmp_path / "app", "jinja2==3.1.4\n", POLICY)
    result, verdict = _run(run_cli, root)
    assert result.code == 3
    gate = _gate(verdict)
    assert gate["status"] == "error"
    # Short: what could not be reached and why, then exactly how to run offline.
    reason, _, hint = gate["reason"].partition("; ")
    assert reason == f"cannot reach http://127.0.0.1:{port} (Connection refused)"
    assert "`gates run --input vulnerabilities.osv_database=DIR`" in hint
    assert "https://github.com/pypa/advisory-database" in hint and "Traceback" not in hint
