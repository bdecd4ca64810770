"""The collect-time half of the performance gate: current metrics against the baseline.

Everything the policy may later judge (summaries of both sides, the change of the median, the
significance test's p-value, sample counts) is computed here once and stored in one informational
finding per metric, so that `evaluate` stays pure and a policy change is re-evaluated without
re-running the benchmarks. The p-value does not depend on the policy: the test is one-sided
("current is worse"), and only its comparison with `alpha` is left to evaluate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gates.model import JSON, Finding, Location, Severity, fingerprint
from gates.perf.inputs import Metric, format_value
from gates.perf.stats import worse_p_value

GATE = "performance"
RESULT = "PERF-RESULT"
DISAPPEARED = "PERF-DISAPPEARED"


def _change_pct(current: Metric, baseline: Metric) -> float | None:
    before, after = baseline.summary.get("median"), current.summary.get("median")
    if before is None or after is None or before == 0:
        return None
    return (after - before) / abs(before) * 100.0


def _side(metric: Metric) -> dict[str, JSON]:
    return {"summary": dict(metric.summary), "has_samples": bool(metric.samples), "unit": metric.unit}


def result_finding(current: Metric, baseline: Metric | None) -> Finding:
    props: dict[str, JSON] = {
        "metric": current.name,
        "unit": current.unit,
        "better": "lower" if current.lower_is_better else "higher",
        "source": current.source,
        "current": _side(current),
        "baseline": _side(baseline) if baseline is not None else None,
        "change_pct": None,
        "p_value": None,
    }
    if baseline is not None:
        props["change_pct"] = _change_pct(current, baseline)
        if current.samples and baseline.samples:
            props["p_value"] = worse_p_value(current.samples, baseline.samples, current.lower_is_better)
    median = current.summary.get("median")
    shown = format_value(median, current.unit) if median is not None else "unknown"
    return Finding(
        gate=GATE,
        rule=RESULT,
        severity=Severity.INFO,
        message=f"{current.name}: median {shown}",
        location=Location(logical=current.name),
        fingerprint=fingerprint(GATE, RESULT, current.name),
        properties=props,
    )


def compare(current: Sequence[Metric], baseline: Sequence[Metric]) -> list[Finding]:
    """One PERF-RESULT finding per current metric, one PERF-DISAPPEARED per baseline metric that
    is no longer measured (a deleted or renamed benchmark must not silently leave the budget)."""
    before: Mapping[str, Metric] = {m.name: m for m in baseline}
    now = {m.name for m in current}
    findings = [
        result_finding(m, before[m.name].in_unit(m.unit) if m.name in before else None) for m in current
    ]
    for name in sorted(set(before) - now):
        findings.append(
            Finding(
                gate=GATE,
                rule=DISAPPEARED,
                severity=Severity.INFO,
                message=f"{name}: in the baseline but missing from the current results",
                location=Location(logical=name),
                fingerprint=fingerprint(GATE, DISAPPEARED, name),
                properties={"metric": name, "baseline": _side(before[name]), "unit": before[name].unit},
            )
        )
    return findings
