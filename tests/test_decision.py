"""Policy keys that decide what a finding does to its gate (gates.decision): the one mechanism the
licence gate's `unknown`, the sbom gate's `notices-outdated` and `licence-coverage`, and the
release delta's keys share, judged by the real engine (`evaluate`) on collected findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from gates.decision import decide, shown_severity, status, strictest
from gates.engine.evaluate import evaluate
from gates.model import Collection, Decides, DeltaMark, Finding, Location, Severity, Status
from gates.plugins.registry import load_registry
from gates.policy.loader import build_policy
from gates.policy.model import PolicyContext

SETTINGS = {"fail_on": "high", "warn_on": "medium", "max_findings": {}}


def _finding(severity: Severity = Severity.INFO, rule: str = "r") -> Finding:
    return Finding("g", rule, severity, "what", Location(logical="pkg:pypi/x@1"), f"fp-{rule}-{severity}")


def test_a_decision_is_exactly_the_gates_status_whatever_the_severity_and_thresholds() -> None:
    strict = {"fail_on": "low", "warn_on": "info", "max_findings": {"critical": 0}}
    warned = decide(_finding(Severity.CRITICAL), "warn", key="disclosed")
    assert warned is not None and warned.decides is Decides.WARN and warned.severity is Severity.CRITICAL
    assert warned.message == "what (disclosed: warn)"
    # A critical finding the policy says to warn about never fails: not by fail_on, not by max_findings.
    assert status([warned], strict) == (Status.WARN, "1 finding(s) at or above info")
    assert status([warned], {**strict, "warn_on": "none"}) == (
        Status.WARN, "1 finding(s) the gate's policy makes warn"
    )  # fmt: skip
    failed = decide(_finding(Severity.INFO), "fail")
    assert failed is not None
    assert status([failed], {"fail_on": "none", "warn_on": "none", "max_findings": {}}) == (
        Status.FAIL, "1 finding(s) the gate's policy makes fail"
    )  # fmt: skip
    assert decide(_finding(), "ignore") is None
    with pytest.raises(ValueError):
        decide(_finding(), "sometimes")
    # Undecided findings are judged by the thresholds as always.
    assert status([_finding(Severity.HIGH)], SETTINGS)[0] is Status.FAIL
    assert status([_finding(Severity.MEDIUM)], SETTINGS)[0] is Status.WARN


def test_a_record_is_shown_at_the_severity_its_decision_meets() -> None:
    assert shown_severity("fail", SETTINGS) is Severity.HIGH
    assert shown_severity("fail", {"fail_on": "none", "warn_on": "none"}) is Severity.CRITICAL
    assert shown_severity("warn", SETTINGS) is Severity.MEDIUM
    assert shown_severity("warn", {"fail_on": "medium", "warn_on": "high"}) is Severity.LOW  # below fail_on
    assert shown_severity("warn", {"fail_on": "info", "warn_on": "info"}) is Severity.INFO
    shown = decide(_finding(), "fail", shown_at=SETTINGS)
    assert shown is not None and shown.severity is Severity.HIGH
    assert strictest(["warn", "ignore", "fail"]) == "fail" and strictest([]) == "ignore"


def _judged(policy: Mapping[str, Any], gate: str, findings: list[Finding]) -> tuple[Status, str]:
    registry = load_registry()
    document = {"version": 1, "defaults": {"fail_on": "high", "warn_on": "medium"}, "gates": policy}
    built = build_policy(document, "test", "test", PolicyContext())
    collection = Collection(gate, "1", {}, findings=tuple(findings))
    assessment = evaluate(built, [collection], registry, dt.date(2026, 1, 1), None, None)
    [result] = assessment.gates
    return result.status, result.reason


def test_the_gates_keys_take_the_one_path() -> None:
    advisory = Finding(
        "vulnerabilities", "PYSEC-1", Severity.HIGH, "jinja2 2.11.2: advisory",
        Location(logical="pkg:pypi/jinja2@2.11.2"), "fp-advisory",
        properties={"package": "jinja2", "version": "2.11.2"}, delta_mark=DeltaMark.DISCLOSED,
    )  # fmt: skip
    # disclosed: warn keeps the advisory's own severity and warns, although high is fail_on.
    assert _judged({"vulnerabilities": {"disclosed": "warn"}}, "vulnerabilities", [advisory]) == (
        Status.WARN, "1 finding(s) at or above medium"
    )  # fmt: skip
    assert _judged({"vulnerabilities": {}}, "vulnerabilities", [advisory])[0] is Status.FAIL  # in full
    assert _judged({"vulnerabilities": {"disclosed": "ignore"}}, "vulnerabilities", [advisory]) == (
        Status.PASS, "0 finding(s) counted, none over the thresholds"
    )  # fmt: skip
    # licence-coverage warns, also where fail_on would make a medium finding fail.
    coverage = Finding(
        "licence", "coverage", Severity.INFO, "coverage", Location(logical="sbom"), "fp-coverage",
        properties={"components": 2, "known": 1, "looked_up": {}, "unknowable": 1, "why": ["no lookup"],
                    "examples": ["x"]},
    )  # fmt: skip
    assert _judged({"licence": {"fail_on": "medium"}}, "licence", [coverage])[0] is Status.WARN
