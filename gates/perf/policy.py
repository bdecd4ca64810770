"""The evaluate-time half of the performance gate: which measurements break the policy.

Pure: it reads only the findings `compare` produced and the gate's settings, so a policy change
(a budget, the slowdown limit, alpha) is re-evaluated on cached results.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gates.model import JSON, Finding, Location, Severity, fingerprint
from gates.perf.compare import DISAPPEARED, GATE, RESULT
from gates.perf.inputs import format_value, unit_scale
from gates.perf.stats import STAT_ALIASES

BUDGET = "PERF-BUDGET"
BUDGET_UNCHECKED = "PERF-BUDGET-UNCHECKED"
BUDGET_UNMATCHED = "PERF-BUDGET-UNMATCHED"
REGRESSION = "PERF-REGRESSION"
FEW_SAMPLES = "PERF-FEW-SAMPLES"

DEFAULT_SEVERITY: Mapping[str, Severity] = {
    BUDGET: Severity.HIGH,
    REGRESSION: Severity.HIGH,
    BUDGET_UNCHECKED: Severity.MEDIUM,
    BUDGET_UNMATCHED: Severity.MEDIUM,
    FEW_SAMPLES: Severity.MEDIUM,
    DISAPPEARED: Severity.MEDIUM,
}
RULES = tuple(DEFAULT_SEVERITY)

BUDGET_STATS = ("min", "max", "peak", "mean", "median", "p50", "p90", "p95", "p99")
BUDGET_UNITS = ("ns", "us", "ms", "s", "b", "kb", "mb", "gb", "value")
BUDGET_KEY = re.compile(rf"^({'|'.join(BUDGET_STATS)})_({'|'.join(BUDGET_UNITS)})$")

REGRESSION_DEFAULTS: Mapping[str, Any] = {"max_slowdown_pct": 10.0, "alpha": 0.05, "min_samples": 5}


@dataclass(frozen=True)
class Rules:
    """The regression settings for one metric after per-benchmark overrides."""

    max_slowdown_pct: float
    alpha: float
    min_samples: int
    ignore: bool


def _matching(name: str, blocks: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    return ((glob, block) for glob, block in blocks.items() if fnmatch.fnmatchcase(name, glob))


def rules_for(name: str, settings: Mapping[str, Any]) -> Rules:
    """Regression defaults, then every `benchmarks` glob matching `name` in policy order."""
    merged: dict[str, Any] = {**REGRESSION_DEFAULTS, **settings.get("regression", {}), "ignore": False}
    for _, override in _matching(name, settings.get("benchmarks", {})):
        merged.update(override)
    return Rules(
        max_slowdown_pct=float(merged["max_slowdown_pct"]),
        alpha=float(merged["alpha"]),
        min_samples=int(merged["min_samples"]),
        ignore=bool(merged["ignore"]),
    )


class _Judge:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings
        overrides = settings.get("severity", {})
        self.severity = {rule: Severity(overrides.get(rule, s)) for rule, s in DEFAULT_SEVERITY.items()}
        self.out: list[Finding] = []

    def add(self, rule: str, name: str, message: str, key: str = "", **extra: JSON) -> None:
        self.out.append(
            Finding(
                gate=GATE,
                rule=rule,
                severity=self.severity[rule],
                message=message,
                location=Location(logical=name),
                fingerprint=fingerprint(GATE, rule, name, key),
                properties={"metric": name, **extra},
            )
        )

    def result(self, finding: Finding, budgets_used: set[tuple[str, str]]) -> None:
        props = finding.properties
        name, unit = props["metric"], props["unit"]
        rules = rules_for(name, self.settings)
        current = props["current"]["summary"]
        self.budgets(name, unit, props["better"] == "lower", current, budgets_used, rules.ignore)
        if rules.ignore:
            return
        baseline = props["baseline"]
        n_now = int(current.get("n", 0))
        if n_now < rules.min_samples:
            self.add(
                FEW_SAMPLES,
                name,
                f"{name}: {n_now} samples, the policy needs at least {rules.min_samples} "
                "to compare with the baseline",
                n=n_now,
                min_samples=rules.min_samples,
            )
            return
        if baseline is None:
            return
        n_before = int(baseline["summary"].get("n", 0))
        if n_before < rules.min_samples:
            self.add(
                FEW_SAMPLES,
                name,
                f"{name}: the baseline has {n_before} samples, the policy needs at least "
                f"{rules.min_samples} to compare",
                n=n_before,
                min_samples=rules.min_samples,
            )
            return
        self.regression(name, props, rules)

    def regression(self, name: str, props: Mapping[str, Any], rules: Rules) -> None:
        change, p_value = props["change_pct"], props["p_value"]
        if change is None:
            return  # a zero baseline median: no meaningful ratio
        worse = change if props["better"] == "lower" else -change
        tested = p_value is not None
        if worse <= rules.max_slowdown_pct or (tested and p_value >= rules.alpha):
            return
        now, before = props["current"]["summary"], props["baseline"]["summary"]
        unit = props["unit"]

        def spread(summary: Mapping[str, float]) -> str:
            return f"IQR {format_value(summary['iqr'], unit)}" if "iqr" in summary else "IQR unknown"

        test = (
            f"Mann-Whitney U p={p_value:.2g} < alpha {rules.alpha:g}"
            if tested
            else "no raw samples, so not tested for significance"
        )
        self.add(
            REGRESSION,
            name,
            f"{name}: median {format_value(now['median'], unit)} ({spread(now)}, "
            f"n={int(now.get('n', 0))}) vs baseline {format_value(before['median'], unit)} "
            f"({spread(before)}, n={int(before.get('n', 0))}): {change:+.1f}%, "
            f"limit {rules.max_slowdown_pct:g}%; {test}",
            current=dict(now),
            baseline=dict(before),
            unit=unit,
            change_pct=round(change, 3),
            p_value=p_value,
            max_slowdown_pct=rules.max_slowdown_pct,
            alpha=rules.alpha,
        )

    def budgets(
        self,
        name: str,
        unit: str,
        lower_is_better: bool,
        current: Mapping[str, float],
        used: set[tuple[str, str]],
        ignore: bool,
    ) -> None:
        dimension, factor = unit_scale(unit)
        for glob, budget in _matching(name, self.settings.get("budgets", {})):
            for key, limit in budget.items():
                parsed = BUDGET_KEY.fullmatch(key)
                if parsed is None:  # the settings schema only lets valid keys through
                    raise ValueError(f"invalid budget key {key!r}")
                stat, budget_unit = parsed.groups()
                if budget_unit == "value":
                    limit_here = float(limit)
                else:
                    budget_dimension, budget_factor = unit_scale(budget_unit)
                    if budget_dimension != dimension:
                        continue  # a memory budget on a time metric matched by the same glob
                    limit_here = float(limit) * budget_factor / factor
                used.add((glob, key))
                if ignore:
                    continue
                stat = STAT_ALIASES.get(stat, stat)
                shown_limit = format_value(limit_here, unit)
                value = current.get(stat)
                if value is None:
                    self.add(
                        BUDGET_UNCHECKED,
                        name,
                        f"{name}: budget {key} ({shown_limit}) cannot be checked: the results give no {stat}",
                        key=key,
                        budget=key,
                    )
                    continue
                breach = value > limit_here if lower_is_better else value < limit_here
                if breach:
                    relation = "exceeds" if lower_is_better else "is below"
                    self.add(
                        BUDGET,
                        name,
                        f"{name}: {stat} {format_value(value, unit)} {relation} the budget "
                        f"{shown_limit} (n={int(current.get('n', 0))})",
                        key=key,
                        budget=key,
                        stat=stat,
                        value=value,
                        limit=limit_here,
                        unit=unit,
                    )


def judge(findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
    judge = _Judge(settings)
    used: set[tuple[str, str]] = set()
    for finding in findings:
        if finding.gate != GATE:
            continue
        if finding.rule == RESULT:
            judge.result(finding, used)
        elif finding.rule == DISAPPEARED and not rules_for(finding.location.logical or "", settings).ignore:
            judge.out.append(dataclasses.replace(finding, severity=judge.severity[DISAPPEARED]))
    for glob, budget in settings.get("budgets", {}).items():
        for key in budget:
            if (glob, key) not in used:
                judge.add(
                    BUDGET_UNMATCHED,
                    glob,
                    f"budget {glob!r} {key} applies to no measured metric "
                    "(renamed benchmark, typo, or a time budget on a memory metric?)",
                    key=key,
                    budget=key,
                )
    return judge.out
