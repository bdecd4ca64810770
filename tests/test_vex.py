"""VEX in the vulnerabilities gate: CycloneDX VEX and OpenVEX documents in real git repositories,
real cyclonedx-py and pip-audit against the tests' loopback OSV mirror (jinja2 2.10 has
PYSEC-2019-217, alias CVE-2019-10906, fixed in 2.10.1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gates.osv import vex
from tests.conftest import CliResult, Repo
from tests.test_reports import SARIF_SCHEMA

PURL = "pkg:pypi/jinja2@2.10"


def _policy(patterns: str = "[vex/*.json]") -> str:
    return f"version: 1\ngates:\n  vulnerabilities: {{fail_on: high, vex: {patterns}}}\n"


def cyclonedx(state: str, justification: str | None = "code_not_reachable", ref: str = PURL) -> str:
    analysis: dict[str, Any] = {"state": state, "lastUpdated": "2026-03-01T10:00:00Z"}
    if justification is not None:
        analysis |= {"justification": justification, "detail": "we never render untrusted templates"}
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"timestamp": "2026-03-01T10:00:00Z", "authors": [{"name": "Web Security"}]},
        "components": [
            {"type": "library", "bom-ref": "jinja", "name": "jinja2", "version": "2.10", "purl": ref}
        ],
        "vulnerabilities": [
            {
                "id": "PYSEC-2019-217",
                "source": {"name": "OSV"},
                "references": [{"id": "CVE-2019-10906", "source": {"name": "NVD"}}],
                "analysis": analysis,
                "affects": [{"ref": "jinja"}],
            }
        ],
    }
    return json.dumps(document, indent=2)


def openvex(*statements: dict[str, Any]) -> str:
    document = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/app-2026-001",
        "author": "Web Security <security@example.com>",
        "timestamp": "2026-03-01T10:00:00Z",
        "version": 1,
        "statements": list(statements),
    }
    return json.dumps(document, indent=2)


def statement(status: str, product: str = PURL, **more: Any) -> dict[str, Any]:
    return {
        "vulnerability": {"name": "CVE-2019-10906"},
        "products": [{"@id": product}],
        "status": status,
        **more,
    }


JUSTIFIED = {"justification": "vulnerable_code_not_in_execute_path"}


@pytest.fixture
def audit(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    osv_fixture_mirror: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Callable[..., tuple[CliResult, dict[str, Any], Path]]:
    """Commit a project pinning jinja2 2.10 with these VEX files, and run the gate on it."""
    monkeypatch.setenv("GATES_OSV_URL", osv_fixture_mirror)

    def run(files: dict[str, str], policy: str = _policy()) -> tuple[CliResult, dict[str, Any], Path]:
        repo = make_repo({"requirements.txt": "jinja2==2.10\n", "gates.yaml": policy, **files})
        out = tmp_path / f"out-{repo.root.name}"
        result = run_cli("run", repo.root, "--only", "vulnerabilities", "--out", out, "--no-cache")
        verdict_file = out / "verdict.json"
        verdict = json.loads(verdict_file.read_text(encoding="utf-8")) if verdict_file.exists() else {}
        return result, verdict, out

    return run


def _gate(verdict: dict[str, Any]) -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g["name"] == "vulnerabilities")


def _advisory(verdict: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in _gate(verdict)["findings"] if f["rule"] == "PYSEC-2019-217")


def test_cyclonedx_not_affected_waives_the_finding_with_an_audit_trail_in_verdict_markdown_and_sarif(
    audit: Callable[..., tuple[CliResult, dict[str, Any], Path]],
) -> None:
    result, verdict, out = audit({"vex/app.cdx.json": cyclonedx("not_affected")})
    assert result.code == 0, result.err
    gate = _gate(verdict)
    assert gate["status"] == "pass"
    assert (gate["counts"]["waived"], gate["counts"]["counted"]) == (1, 0)
    finding = _advisory(verdict)
    assert finding["counted"] is False
    waived = finding["waived"]
    assert waived["kind"] == "vex" and waived["format"] == "cyclonedx"
    assert waived["source"] == "vex/app.cdx.json:23"  # the line of the vulnerability entry
    assert waived["justification"] == "code_not_reachable"
    assert waived["detail"] == "we never render untrusted templates"
    assert (waived["author"], waived["timestamp"]) == ("Web Security", "2026-03-01T10:00:00Z")
    assert waived["products"] == [PURL] and waived["aliases"] == ["CVE-2019-10906"]
    assert "suppressed_by" not in finding["properties"] and "vex" not in finding["properties"]
    [document] = gate["stats"]["vex"]
    assert (document["path"], document["format"], document["statements"]) == (
        "vex/app.cdx.json",
        "cyclonedx",
        1,
    )
    assert len(document["sha256"]) == 64
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Not affected, by VEX statement (1)" in report and "vex/app.cdx.json:23" in report
    sarif = json.loads((out / "gates.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    [sarif_result] = [r for run in sarif["runs"] for r in run["results"] if r["ruleId"] == "PYSEC-2019-217"]
    [suppression] = sarif_result["suppressions"]
    assert suppression["kind"] == "external" and suppression["state"] == "accepted"
    assert "code_not_reachable" in suppression["justification"]
    assert "vex/app.cdx.json:23" in suppression["justification"]


def test_openvex_by_cve_alias_for_the_package_at_any_version_waives_the_finding(
    audit: Callable[..., tuple[CliResult, dict[str, Any], Path]],
) -> None:
    document = openvex(
        statement("under_investigation", "pkg:pypi/flask@2.0.0", timestamp="2026-04-01T00:00:00Z"),
        statement("not_affected", "pkg:pypi/Jinja2?repository_url=https://pypi.internal", **JUSTIFIED),
    )
    result, verdict, _ = audit({"vex/app.openvex.json": document})
    assert result.code == 0, result.err
    waived = _advisory(verdict)["waived"]
    assert (waived["kind"], waived["format"], waived["status"]) == ("vex", "openvex", "not_affected")
    assert waived["vulnerability"] == "CVE-2019-10906"
    assert waived["source"] == "vex/app.openvex.json:20"
    assert waived["justification"] == "vulnerable_code_not_in_execute_path"
    assert waived["author"] == "Web Security <security@example.com>"
    assert waived["timestamp"] == "2026-03-01T10:00:00Z"  # the document's: the statement has none


@pytest.mark.parametrize(
    "files",
    [
        {"vex/a.openvex.json": openvex(statement("not_affected", "pkg:pypi/jinja2@2.11", **JUSTIFIED))},
        {"vex/a.openvex.json": openvex(statement("not_affected", "pkg:npm/jinja2@2.10", **JUSTIFIED))},
        {"vex/b.cdx.json": cyclonedx("not_affected", ref="pkg:pypi/flask@2.10")},
        {
            "vex/c.openvex.json": openvex(
                {**statement("not_affected", **JUSTIFIED), "vulnerability": "CVE-2020-1"}
            )
        },
    ],
    ids=["other-version", "other-type", "other-package", "other-vulnerability"],
)
def test_a_statement_for_another_product_or_vulnerability_has_no_effect(
    audit: Callable[..., tuple[CliResult, dict[str, Any], Path]], files: dict[str, str]
) -> None:
    result, verdict, _ = audit(files)
    assert result.code == 1, result.err
    finding = _advisory(verdict)
    assert finding["counted"] is True and finding["waived"] is None
    assert "vex" not in finding["properties"]


def test_not_affected_without_justification_suppresses_nothing_and_is_a_finding(
    audit: Callable[..., tuple[CliResult, dict[str, Any], Path]],
) -> None:
    result, verdict, _ = audit(
        {
            "vex/app.openvex.json": openvex(statement("not_affected")),
            "vex/app.cdx.json": cyclonedx("not_affected", justification=None),
        }
    )
    assert result.code == 1, result.err
    finding = _advisory(verdict)
    assert finding["counted"] is True and finding["waived"] is None
    assert finding["properties"]["vex"]["status"] == "not_affected"
    assert finding["properties"]["vex"]["suppresses"] is False
    unjustified = sorted(
        (f["location"]["path"], f["location"]["line"], f["severity"])
        for f in _gate(verdict)["findings"]
        if f["rule"] == "vex-unjustified"
    )
    assert unjustified == [("vex/app.cdx.json", 23, "medium"), ("vex/app.openvex.json", 8, "medium")]


@pytest.mark.parametrize(
    "files",
    [
        {"vex/a.openvex.json": openvex(statement("affected", action_statement="upgrade to 2.10.1"))},
        {"vex/b.cdx.json": cyclonedx("exploitable")},
        {  # the latest statement decides: not affected in March, under investigation in April
            "vex/c.openvex.json": openvex(
                statement("not_affected", **JUSTIFIED),
                statement("under_investigation", timestamp="2026-04-01T00:00:00Z"),
            )
        },
    ],
    ids=["openvex-affected", "cyclonedx-exploitable", "superseded"],
)
def test_affected_exploitable_or_superseded_statements_do_not_suppress(
    audit: Callable[..., tuple[CliResult, dict[str, Any], Path]], files: dict[str, str]
) -> None:
    result, verdict, _ = audit(files)
    assert result.code == 1, result.err
    finding = _advisory(verdict)
    assert finding["counted"] is True and finding["waived"] is None
    assert finding["properties"]["vex"]["status"] in ("affected", "exploitable", "under_investigation")


BROKEN_CYCLONEDX = cyclonedx("not_affected").replace('"not_affected"', '"mostly_fine"')


@pytest.mark.parametrize(
    ("files", "policy", "message"),
    [
        ({"vex/a.json": '{"statements": [\n  1,\n  2,,\n]}'}, _policy(), "vex/a.json:3: invalid JSON"),
        (
            {"vex/a.json": openvex(statement("not_affected"), statement("maybe"))},
            _policy(),
            "vex/a.json:28: status 'maybe' is not one of not_affected, affected",
        ),
        (
            {"vex/a.json": openvex({"products": [{"@id": PURL}], "status": "affected"})},
            _policy(),
            "vex/a.json:8: vulnerability is missing",
        ),
        ({"vex/a.json": BROKEN_CYCLONEDX}, _policy(), "vex/a.json:37: not a valid CycloneDX 1.5 document"),
        ({"vex/a.json": '{"bomFormat": "SPDX"}'}, _policy(), "vex/a.json:1: not a VEX document"),
        ({}, _policy("[vex/missing.json]"), "policy vex: 'vex/missing.json' matches no file"),
    ],
    ids=["json", "openvex-status", "openvex-vulnerability", "cyclonedx-schema", "unknown", "missing"],
)
def test_a_corrupt_or_missing_vex_document_is_exit_2_naming_file_and_line(
    audit: Callable[..., tuple[CliResult, dict[str, Any], Path]],
    files: dict[str, str],
    policy: str,
    message: str,
) -> None:
    result, _, _ = audit(files, policy)
    assert result.code == 2, result.err
    assert message in result.err


def _statement(status: str, timestamp: str | None, products: tuple[str, ...] = (PURL,)) -> vex.Statement:
    return vex.Statement(
        path="vex.json",
        line=1,
        format="openvex",
        vulnerability="CVE-2019-10906",
        aliases=(),
        products=products,
        status=status,
        justification="component_not_present" if status == "not_affected" else None,
        detail=None,
        author=None,
        timestamp=timestamp,
    )


def test_matching_ids_purls_and_precedence() -> None:
    ids = ("PYSEC-2019-217", "cve-2019-10906")
    fine, worse = (
        _statement("not_affected", "2026-01-01T00:00:00Z"),
        _statement("affected", "2026-01-01T00:00:00"),
    )
    assert vex.applicable([fine], ids, "pkg:pypi/jinja2@2.10.0") is fine  # same version, other spelling
    assert vex.applicable([fine], ids, "pkg:pypi/jinja2") is None  # the finding's version is unknown
    assert vex.applicable([fine], ("PYSEC-2021-66",), PURL) is None
    assert vex.applicable([fine, worse], ids, PURL) is worse  # equally recent: the one that does not suppress
    later = _statement("not_affected", "2026-01-02T00:00:00+00:00")
    assert vex.applicable([worse, later], ids, PURL) is later
    anywhere = _statement("not_affected", None, products=("pkg:pypi/jinja2",))
    assert vex.applicable([anywhere], ids, PURL) is anywhere
