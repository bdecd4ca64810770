"""Performance gate: budgets and regressions of benchmark results against a baseline.

Inputs are pytest-benchmark JSON (`pytest --benchmark-json=FILE` keeps the raw samples the
significance test needs; files saved by `--benchmark-save` keep them only with
`--benchmark-save-data`), the generic metrics JSON any harness can write (see
`gates.perf.inputs`), or a command the gate runs itself. Every run writes the current
results in the generic format to `OUT/performance-baseline.json`: keep it as an artefact (the last
release's, for example) and point `baseline` at it on the next run.

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, timeout_s)::

    gates:
      performance:
        results: ["bench/*.json"]       # files or globs below the repository root
        format: auto                    # auto | pytest-benchmark | metrics
        baseline: ci/perf-baseline.json # or --input performance.baseline=PATH
        baseline_required: true         # false: a missing baseline file only skips the comparison
        command:                        # optional: the gate times a command itself
          name: cli.help                # metrics `cli.help` (s) and `cli.help.peak_memory` (bytes)
          argv: [python, -m, mytool, --help]
          runs: 10
          warmup: 2
        budgets:                        # metric-name glob -> <stat>_<unit>: limit
          "*test_search*": {p95_ms: 120}
          "cli.help.peak_memory": {peak_mb: 300}
        regression: {max_slowdown_pct: 10, alpha: 0.05, min_samples: 5}
        benchmarks:                     # per-metric overrides, later globs win
          "*test_cold_start*": {max_slowdown_pct: 25}
          "*flaky*": {ignore: true}
        severity: {PERF-REGRESSION: medium}

Budget stats: min, max (alias peak), mean, median (p50), p90, p95, p99; units ns, us, ms, s,
b, kb, mb, gb (binary: mb = 2**20 bytes) or `value` (the metric's own unit). A budget is an upper
bound for lower-is-better metrics and a lower bound for higher-is-better ones.

Rules: PERF-BUDGET (high) a budget is broken; PERF-REGRESSION (high) the median got worse by more
than `max_slowdown_pct` and Mann-Whitney U says the shift is significant (p < alpha; results with
no raw samples are judged on the median alone); PERF-FEW-SAMPLES (medium) fewer samples than
`min_samples` on either side, so no comparison; PERF-DISAPPEARED (medium) a baseline metric is no
longer measured; PERF-BUDGET-UNCHECKED (medium) the results lack the budget's statistic;
PERF-BUDGET-UNMATCHED (medium) a budget applies to no metric. A missing or corrupt results or
baseline file stops the run with exit 2.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gates.errors import InputError
from gates.model import Finding
from gates.perf.compare import compare
from gates.perf.inputs import FORMATS, Metric, metrics_document, read_all
from gates.perf.policy import BUDGET_KEY, RULES, judge
from gates.plugins.interface import CollectContext, Collected, GateError
from gates.util.atomic import dump_json
from gates.util.files import repo_file
from gates.util.proc import distribution_version

if TYPE_CHECKING:
    from gates.perf.command import CommandSpec

BASELINE_ARTEFACT = "performance-baseline.json"

_REGRESSION_SCHEMA: Mapping[str, Any] = {
    "max_slowdown_pct": {"type": "number", "minimum": 0},
    "alpha": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "min_samples": {"type": "integer", "minimum": 1},
}


def _result_files(root: Path, entries: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for entry in entries:
        pattern = str(root / entry)  # an absolute entry stays absolute
        if glob.has_magic(entry):
            matched = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            if not matched:
                raise InputError(f"{entry}: no benchmark results match this glob")
            absolute = Path(entry).is_absolute()
            files += [repo_file(root, m if absolute else m.relative_to(root), entry) for m in matched]
        else:
            files.append(repo_file(root, entry, "performance results"))
    return files


def _command(ctx: CollectContext) -> CommandSpec | None:
    spec = ctx.settings.get("command")
    if spec is None:
        return None
    from gates.perf.command import CommandSpec  # processes and signals: only to measure a command

    return CommandSpec(
        name=spec.get("name", "command"),
        argv=tuple(spec["argv"]),
        runs=spec.get("runs", 10),
        warmup=spec.get("warmup", 2),
        cwd=ctx.root / spec.get("cwd", "."),
    )


class PerformanceGate:
    name = "performance"
    version = "1.0.0"
    description = "Benchmark budgets and regressions against a baseline (Mann-Whitney U)"
    settings_schema: Mapping[str, Any] = {
        "results": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "format": {"enum": list(FORMATS)},
        "baseline": {"type": "string", "minLength": 1},
        "baseline_required": {"type": "boolean"},
        "command": {
            "type": "object",
            "additionalProperties": False,
            "required": ["argv"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "argv": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "runs": {"type": "integer", "minimum": 1},
                "warmup": {"type": "integer", "minimum": 0},
                "cwd": {"type": "string"},
            },
        },
        "budgets": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"pattern": BUDGET_KEY.pattern},
                "additionalProperties": {"type": "number", "minimum": 0},
            },
        },
        "regression": {
            "type": "object",
            "additionalProperties": False,
            "properties": _REGRESSION_SCHEMA,
        },
        "benchmarks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {**_REGRESSION_SCHEMA, "ignore": {"type": "boolean"}},
            },
        },
        "severity": {
            "type": "object",
            "propertyNames": {"enum": list(RULES)},
            "additionalProperties": {"$ref": "#/$defs/severity"},
        },
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {"scipy": distribution_version("scipy")}

    def cache_key(self, ctx: CollectContext) -> str | None:
        # Never cached: a command must be re-measured, and every run has to write the next
        # baseline artefact into its own output folder; reading result files is cheap.
        return None

    def collect(self, ctx: CollectContext) -> Collected:
        settings, options = ctx.settings, ctx.options
        entries = [options["results"]] if "results" in options else list(settings.get("results", []))
        command = _command(ctx)
        if not entries and command is None:
            raise GateError(
                "performance: nothing to measure: set gates.performance.results (benchmark JSON "
                "files) or gates.performance.command in the policy, or --input performance.results=FILE"
            )
        current = read_all(_result_files(ctx.root, entries), settings.get("format", "auto"))
        if command is not None:
            from gates.perf.command import measure

            current += measure(command, ctx.deadline)
        names = [m.name for m in current]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InputError(f"performance: metric {duplicates[0]!r} given by results and command")
        baseline_ref = options.get("baseline") or settings.get("baseline")
        baseline: list[Metric] = []
        baseline_state = "none"
        if baseline_ref:
            path = repo_file(ctx.root, baseline_ref, "performance baseline")
            if path.exists() or settings.get("baseline_required", True):
                baseline = read_all([path])
                baseline_state = str(path)
            else:
                baseline_state = "missing"
        return Collected(
            findings=compare(current, baseline),
            stats={
                "metrics": len(current),
                "baseline": baseline_state,
                "baseline_metrics": len(baseline),
                "with_samples": sum(1 for m in current if m.samples),
                "artefact": BASELINE_ARTEFACT,
            },
            artefacts={BASELINE_ARTEFACT: dump_json(metrics_document(current))},
        )

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        return judge(findings, settings)
