"""The finding contract: typed fields round-trip through the document unchanged."""

from __future__ import annotations

from gates.model import Decides, DeltaMark, Finding, Location, Remediation, Severity


def _advisory() -> Finding:
    return Finding(
        gate="vulnerabilities",
        rule="GHSA-xxxx",
        severity=Severity.HIGH,
        message="jinja2 2.10: GHSA-xxxx, fixed in 2.10.1",
        location=Location(logical="pkg:pypi/jinja2@2.10"),
        fingerprint="f" * 32,
        properties={"package": "jinja2", "cvss_score": 7.5},
        help_uri="https://osv.dev/GHSA-xxxx",
        remediation=Remediation(("2.10.1",)),
        manifest="requirements.txt",
        decides=Decides.WARN,
        delta_mark=DeltaMark.INTRODUCED,
    )


def test_typed_fields_are_recorded_where_verdicts_always_recorded_them() -> None:
    finding = _advisory()
    recorded = finding.to_json()["properties"]
    assert recorded == {
        "package": "jinja2",
        "cvss_score": 7.5,
        "more_info": "https://osv.dev/GHSA-xxxx",
        "fixed_versions": ["2.10.1"],
        "manifest": "requirements.txt",
        "decides": "warn",
        "delta": "introduced",
    }
    assert Finding.from_json(finding.to_json()) == finding
    assert finding.details() == (("CVSS score", "7.5"),)
    assert finding.remediation is not None and finding.remediation.text == "upgrade to 2.10.1"
    assert Remediation(()).text == "no fixed version published"


def test_a_verdict_of_the_sarif_gate_read_back_keeps_its_help_uri() -> None:
    data = {**_advisory().to_json(), "properties": {"help_uri": "https://example.org/R1", "decides": "maybe"}}
    finding = Finding.from_json(data)
    assert finding.help_uri == "https://example.org/R1"
    assert finding.decides is None and finding.properties == {"decides": "maybe"}  # not ours: kept as is


def test_a_gate_that_writes_the_recorded_names_gets_the_typed_fields() -> None:
    # e.g. a third-party gate written against the document: properties={"decides": "fail"}
    written = Finding(**{**_advisory().__dict__, "decides": None, "properties": {"decides": "fail", "x": 1}})
    assert written.decides is Decides.FAIL and written.properties == {"x": 1}
