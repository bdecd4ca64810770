"""The performance gate on synthetic and real measurements (no mocks of the statistics)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from gates.errors import InputError
from gates.model import Finding
from gates.plugins.interface import CollectContext, GateError
from gates.plugins.performance import BASELINE_ARTEFACT, PerformanceGate
from tests.conftest import CliResult, Repo

GATE = PerformanceGate()


def write_metrics(path: Path, metrics: Mapping[str, Sequence[float]], unit: str = "ms") -> Path:
    doc = {
        "version": 1,
        "metrics": [{"name": n, "unit": unit, "samples": list(s)} for n, s in metrics.items()],
    }
    path.write_text(json.dumps(doc, indent=2))
    return path


def gaussian(seed: int, mean: float, sd: float, n: int = 30) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mean, sd) for _ in range(n)]


def collect(root: Path, settings: Mapping[str, Any], **options: str) -> list[Finding]:
    ctx = CollectContext(
        root=root,
        settings=settings,
        out_dir=root / "out",
        deadline=time.monotonic() + 60,
        options=options,
    )
    return list(GATE.collect(ctx).findings)


def run(root: Path, settings: Mapping[str, Any], **options: str) -> list[Finding]:
    return GATE.evaluate(collect(root, settings, **options), settings)


def rules(findings: Sequence[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


def test_known_shift_is_a_significant_regression(tmp_path: Path) -> None:
    write_metrics(tmp_path / "base.json", {"api.search": gaussian(1, 100, 3)})
    write_metrics(tmp_path / "now.json", {"api.search": gaussian(2, 120, 3)})
    found = run(tmp_path, {"results": ["now.json"], "baseline": "base.json"})
    assert rules(found) == ["PERF-REGRESSION"]
    (f,) = found
    assert f.severity.value == "high"
    assert f.location.logical == "api.search"
    assert 15 < f.properties["change_pct"] < 25
    assert f.properties["p_value"] < 1e-6
    # The finding says baseline vs current median and spread, the change and the p-value.
    assert "vs baseline" in f.message and "IQR" in f.message and "p=" in f.message
    assert "+" in f.message and "%" in f.message


def test_equal_distributions_with_noise_pass(tmp_path: Path) -> None:
    write_metrics(tmp_path / "base.json", {"a": gaussian(3, 100, 10), "b": gaussian(5, 50, 20)})
    write_metrics(tmp_path / "now.json", {"a": gaussian(4, 100, 10), "b": gaussian(6, 50, 20)})
    assert run(tmp_path, {"results": ["now.json"], "baseline": "base.json"}) == []


def test_noise_beyond_the_threshold_is_not_significant(tmp_path: Path) -> None:
    # Medians differ by 20% but the samples overlap: a threshold alone would fail this build.
    base = [100, 60, 140, 90, 130, 70, 110]
    now = [120, 65, 150, 85, 135, 75, 125]
    write_metrics(tmp_path / "base.json", {"x": base})
    write_metrics(tmp_path / "now.json", {"x": now})
    findings = collect(tmp_path, {"results": ["now.json"], "baseline": "base.json"})
    (result,) = findings
    assert result.properties["change_pct"] > 10
    assert result.properties["p_value"] > 0.05
    assert GATE.evaluate(findings, {"results": ["now.json"]}) == []


def test_policy_change_is_re_evaluated_without_re_running(tmp_path: Path) -> None:
    write_metrics(tmp_path / "base.json", {"api.search": gaussian(1, 100, 3)})
    write_metrics(tmp_path / "now.json", {"api.search": gaussian(2, 120, 3)})
    findings = collect(tmp_path, {"results": ["now.json"], "baseline": "base.json"})
    # Findings survive the JSON round trip of the cache/verdict and stay judgeable.
    findings = [Finding.from_json(json.loads(json.dumps(f.to_json()))) for f in findings]
    assert rules(GATE.evaluate(findings, {})) == ["PERF-REGRESSION"]
    assert GATE.evaluate(findings, {"regression": {"max_slowdown_pct": 30}}) == []
    assert GATE.evaluate(findings, {"benchmarks": {"api.*": {"max_slowdown_pct": 30}}}) == []
    assert GATE.evaluate(findings, {"benchmarks": {"api.*": {"ignore": True}}}) == []
    lowered = GATE.evaluate(findings, {"severity": {"PERF-REGRESSION": "medium"}})
    assert [f.severity.value for f in lowered] == ["medium"]
    assert rules(GATE.evaluate(findings, {"budgets": {"api.search": {"p95_ms": 110}}})) == [
        "PERF-BUDGET",
        "PERF-REGRESSION",
    ]


def test_budgets_with_unit_conversion(tmp_path: Path) -> None:
    write_metrics(tmp_path / "now.json", {"api.search": [0.100, 0.110, 0.115, 0.130, 0.140]}, unit="s")
    settings: dict[str, Any] = {"results": ["now.json"], "budgets": {"api.search": {"p95_ms": 120}}}
    (f,) = run(tmp_path, settings)
    assert f.rule == "PERF-BUDGET"
    assert f.properties["stat"] == "p95"
    assert "exceeds the budget 120 ms" in f.message
    settings["budgets"] = {"api.search": {"p95_ms": 150, "median_us": 120_000}}
    assert run(tmp_path, settings) == []


def test_higher_is_better_budget_and_regression(tmp_path: Path) -> None:
    def doc(samples: list[float]) -> str:
        return json.dumps(
            {"metrics": [{"name": "tput", "unit": "ops/s", "better": "higher", "samples": samples}]}
        )

    (tmp_path / "base.json").write_text(doc(gaussian(7, 1000, 20)))
    (tmp_path / "now.json").write_text(doc(gaussian(8, 800, 20)))
    settings = {"results": ["now.json"], "baseline": "base.json", "budgets": {"tput": {"median_value": 900}}}
    found = run(tmp_path, settings)
    assert rules(found) == ["PERF-BUDGET", "PERF-REGRESSION"]
    assert "is below the budget" in next(f.message for f in found if f.rule == "PERF-BUDGET")


def test_budget_matching_nothing_or_missing_statistic_is_reported(tmp_path: Path) -> None:
    doc = {"metrics": [{"name": "build", "unit": "s", "summary": {"n": 10, "median": 3.0}}]}
    (tmp_path / "now.json").write_text(json.dumps(doc))
    settings = {
        "results": ["now.json"],
        "budgets": {"buidl": {"median_s": 5}, "build": {"p95_s": 5, "peak_mb": 100}},
    }
    found = run(tmp_path, settings)
    assert rules(found) == ["PERF-BUDGET-UNCHECKED", "PERF-BUDGET-UNMATCHED", "PERF-BUDGET-UNMATCHED"]
    unmatched = sorted(f.properties["budget"] for f in found if f.rule == "PERF-BUDGET-UNMATCHED")
    assert unmatched == ["median_s", "peak_mb"]  # a typo and a memory budget on a time metric


def test_too_few_samples_are_not_compared(tmp_path: Path) -> None:
    write_metrics(tmp_path / "base.json", {"x": [100, 101, 99, 102]})
    write_metrics(tmp_path / "now.json", {"x": [200, 201, 199, 202]})
    settings: dict[str, Any] = {"results": ["now.json"], "baseline": "base.json"}
    (f,) = run(tmp_path, settings)
    assert f.rule == "PERF-FEW-SAMPLES" and f.properties["n"] == 4
    settings["regression"] = {"min_samples": 4}
    assert rules(run(tmp_path, settings)) == ["PERF-REGRESSION"]


def test_disappeared_benchmark_is_reported(tmp_path: Path) -> None:
    write_metrics(tmp_path / "base.json", {"kept": gaussian(1, 10, 1), "gone": gaussian(2, 10, 1)})
    write_metrics(tmp_path / "now.json", {"kept": gaussian(3, 10, 1)})
    (f,) = run(tmp_path, {"results": ["now.json"], "baseline": "base.json"})
    assert (f.rule, f.location.logical, f.severity.value) == ("PERF-DISAPPEARED", "gone", "medium")
    settings = {"results": ["now.json"], "baseline": "base.json", "benchmarks": {"gone": {"ignore": True}}}
    assert run(tmp_path, settings) == []


def test_summary_only_results_are_judged_on_the_median(tmp_path: Path) -> None:
    def doc(median: float) -> str:
        return json.dumps({"metrics": [{"name": "m", "unit": "ms", "summary": {"n": 50, "median": median}}]})

    (tmp_path / "base.json").write_text(doc(10.0))
    (tmp_path / "now.json").write_text(doc(12.0))
    (f,) = run(tmp_path, {"results": ["now.json"], "baseline": "base.json"})
    assert f.rule == "PERF-REGRESSION" and f.properties["p_value"] is None
    assert "not tested for significance" in f.message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"metrics": [\n  {"name": "a", "unit": "ms",\n   "samples": [1, "x"]}]}',
            ":3: expected a finite number",
        ),
        (
            '{"metrics": [\n  {"name": "a", "unit": "ms"}\n]}',
            ":2: metric 'a': give either samples or summary",
        ),
        ('{"metrics": [\n  {"name": "a", "unit": "ms", "samples": [1,\n', ":3: invalid JSON"),
        ('{"benchmarks": [{"fullname": "t", "stats": {}}]}', ":1: benchmark 't' has no median"),
        ('{"something": 1}', "neither pytest-benchmark JSON"),
        ("\x00\x01binary", "binary file"),
        ('{"machine_info": {},\n "benchmarks": []}', ":2: no metrics in 'benchmarks'"),
    ],
)
def test_corrupt_results_are_input_errors(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "now.json").write_text(content)
    with pytest.raises(InputError, match=expected) as info:
        collect(tmp_path, {"results": ["now.json"]})
    assert str(info.value).startswith(str(tmp_path / "now.json"))


def test_missing_results_and_baseline_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        collect(tmp_path, {"results": ["absent.json"]})
    with pytest.raises(InputError, match="no benchmark results match"):
        collect(tmp_path, {"results": ["bench/*.json"]})
    write_metrics(tmp_path / "now.json", {"x": [1.0]})
    with pytest.raises(InputError, match=r"absent-baseline\.json: cannot read"):
        collect(tmp_path, {"results": ["now.json"]}, baseline="absent-baseline.json")
    # A first pipeline run has no baseline yet: allowed only when the policy says so.
    settings = {"results": ["now.json"], "baseline": "absent.json", "baseline_required": False}
    ctx = CollectContext(
        root=tmp_path, settings=settings, out_dir=tmp_path / "o", deadline=time.monotonic() + 9
    )
    assert GATE.collect(ctx).stats["baseline"] == "missing"


def test_nothing_to_measure_is_a_gate_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="nothing to measure"):
        collect(tmp_path, {})


def test_the_artefact_is_the_next_baseline(tmp_path: Path) -> None:
    write_metrics(tmp_path / "now.json", {"a": gaussian(1, 10, 1), "b": gaussian(2, 5, 1)})
    ctx = CollectContext(tmp_path, {"results": ["now.json"]}, tmp_path / "out", time.monotonic() + 60)
    artefact = tmp_path / BASELINE_ARTEFACT
    artefact.write_text(GATE.collect(ctx).artefacts[BASELINE_ARTEFACT])
    doc = json.loads(artefact.read_text())
    assert [m["name"] for m in doc["metrics"]] == ["a", "b"]
    findings = collect(tmp_path, {"results": ["now.json"]}, baseline=str(artefact))
    assert [f.properties["p_value"] for f in findings] == [pytest.approx(0.5, abs=0.02)] * 2
    assert GATE.evaluate(findings, {}) == []


def test_command_mode_measures_a_real_command(tmp_path: Path) -> None:
    script = "b = bytearray(80 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"  # pragma: allowlist pii
    settings: dict[str, Any] = {
        "command": {"name": "alloc", "argv": [sys.executable, "-c", script], "runs": 3, "warmup": 1},
        "budgets": {"alloc.peak_memory": {"peak_mb": 40}, "alloc": {"max_s": 60}},
        "regression": {"min_samples": 3},
    }
    findings = collect(tmp_path, settings)
    by_name = {f.location.logical: f.properties["current"]["summary"] for f in findings}
    assert by_name["alloc"]["n"] == 3 and 0 < by_name["alloc"]["median"] < 60
    assert by_name["alloc.peak_memory"]["min"] > 80 * 1024 * 1024
    (f,) = GATE.evaluate(findings, settings)
    assert f.rule == "PERF-BUDGET" and f.location.logical == "alloc.peak_memory"
    assert "exceeds the budget 40 MB" in f.message


def test_command_mode_failures_are_gate_errors(tmp_path: Path) -> None:
    failing = {"command": {"argv": [sys.executable, "-c", "raise SystemExit('no db')"], "runs": 1}}
    with pytest.raises(GateError, match="exited with 1: no db"):
        collect(tmp_path, failing)
    with pytest.raises(GateError, match="cannot run"):
        collect(tmp_path, {"command": {"argv": ["/nonexistent/tool"], "runs": 1}})


def test_real_pytest_benchmark_json(tmp_path: Path) -> None:
    (tmp_path / "test_b.py").write_text("def test_sum(benchmark):\n    benchmark(sum, range(100))\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    # --benchmark-json keeps raw samples; a file saved by --benchmark-save keeps only stats.
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "test_b.py",
         "--benchmark-min-rounds=10", "--benchmark-max-time=0.01", "--benchmark-warmup=off",
         "--benchmark-json=raw.json", "--benchmark-save=stats", "--benchmark-storage=store"],
        cwd=tmp_path, check=True, capture_output=True,
        # Not the xdist worker's environment: pytest-benchmark would think it runs distributed.
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONHASHSEED"))},
    )  # fmt: skip
    raw = collect(tmp_path, {"results": ["raw.json"], "format": "pytest-benchmark"})
    (result,) = raw
    assert result.location.logical == "test_b.py::test_sum"
    assert result.properties["current"]["has_samples"]
    assert result.properties["current"]["summary"]["n"] >= 10
    summary_only = collect(tmp_path, {"results": ["store/**/*stats.json"]}, baseline="raw.json")
    (compared,) = summary_only
    assert not compared.properties["current"]["has_samples"]
    assert compared.properties["p_value"] is None and compared.properties["change_pct"] is not None
    # A one-microsecond budget on a real Python call must be broken, a one-second one must hold.
    tight = {"budgets": {"*test_sum": {"median_ns": 1}}}
    assert rules(GATE.evaluate(raw, tight)) == ["PERF-BUDGET"]
    assert GATE.evaluate(raw, {"budgets": {"*test_sum": {"median_s": 1}}}) == []


PERF_POLICY = """\
version: 1
gates:
  performance:
    results: [now.json]
    baseline: base.json
    budgets: {"api.search": {p95_ms: 500}}
"""


def test_gates_run_end_to_end(make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]) -> None:
    repo = make_repo({"gates.yaml": PERF_POLICY})
    write_metrics(repo.root / "base.json", {"api.search": gaussian(1, 100, 3), "api.gone": gaussian(2, 5, 1)})
    write_metrics(repo.root / "now.json", {"api.search": gaussian(2, 130, 3)})
    out = repo.root / "out"
    result = run_cli("run", repo.root, "--only", "performance", "--out", out)
    assert result.code == 1, result.err
    verdict = json.loads((out / "verdict.json").read_text())
    (gate,) = verdict["gates"]
    assert gate["status"] == "fail"
    assert (out / BASELINE_ARTEFACT).is_file()
    report = (out / "report.md").read_text()
    assert "PERF-REGRESSION" in report and "PERF-DISAPPEARED" in report
    # The same findings under a looser policy: re-evaluated, not re-measured.
    repo.write("loose.yaml", PERF_POLICY + "    regression: {max_slowdown_pct: 50}\n    fail_on: critical\n")
    again = run_cli(
        "evaluate", out / "findings.json", "--policy", repo.root / "loose.yaml", "--out", repo.root / "o2"
    )
    assert again.code == 0, again.err
    # A corrupt results file is invalid input (exit 2), not a gate error.
    (repo.root / "now.json").write_text('{"metrics": [')
    broken = run_cli("run", repo.root, "--only", "performance", "--out", out)
    assert broken.code == 2 and "now.json:1: invalid JSON" in broken.err


def test_baseline_in_another_unit_is_converted(tmp_path: Path) -> None:
    write_metrics(tmp_path / "base.json", {"a": [v / 1000 for v in gaussian(1, 100, 3)]}, unit="s")
    write_metrics(tmp_path / "now.json", {"a": gaussian(2, 120, 3)}, unit="ms")
    (f,) = run(tmp_path, {"results": ["now.json"], "baseline": "base.json"})
    assert f.rule == "PERF-REGRESSION" and 15 < f.properties["change_pct"] < 25
    write_metrics(tmp_path / "base.json", {"a": gaussian(1, 100, 3)}, unit="MB")
    with pytest.raises(InputError, match="'a' is in MB, expected ms"):
        collect(tmp_path, {"results": ["now.json"], "baseline": "base.json"})
