"""Benchmark results as Metric records: pytest-benchmark JSON and the generic metrics JSON.

The generic format is what any harness can write and what the performance gate writes as the next
baseline::

    {"version": 1, "metrics": [
      {"name": "api.search", "unit": "ms", "better": "lower", "samples": [11.2, 12.0, 11.7]},
      {"name": "build.size", "unit": "MB", "summary": {"n": 1, "max": 41.5}}
    ]}

`better` is `lower` (the default: times, memory) or `higher` (throughput). A metric gives raw
`samples` (needed for the significance test) or a `summary` of statistics (n, min, max, mean,
median, q1, q3, iqr, p90, p95, p99, stddev).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gates.errors import InputError
from gates.model import JSON
from gates.perf.stats import STATS, summarize
from gates.util.jsonfile import LoadedJson, read_json
from gates.util.yamlfile import Path_

FORMATS = ("auto", "pytest-benchmark", "metrics")

_TIME = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_MEMORY = {
    "b": 1.0,
    "byte": 1.0,
    "bytes": 1.0,
    "kb": 2.0**10,
    "kib": 2.0**10,
    "mb": 2.0**20,
    "mib": 2.0**20,
    "gb": 2.0**30,
    "gib": 2.0**30,
}


def unit_scale(unit: str) -> tuple[str | None, float]:
    """(dimension, factor to the base unit: seconds or bytes); (None, 1.0) for any other unit.
    Memory units are binary (MB = 2**20 bytes), as RSS figures are."""
    key = unit.strip().lower()
    if key in _TIME:
        return "time", _TIME[key]
    if key in _MEMORY:
        return "memory", _MEMORY[key]
    return None, 1.0


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    lower_is_better: bool
    samples: tuple[float, ...]
    """Empty when the source gave only a summary."""
    summary: Mapping[str, float]
    """Computed from `samples` when there are some; `n` may be missing from a given summary."""
    source: str
    """The file (or the command) the metric comes from."""

    @classmethod
    def from_samples(
        cls,
        name: str,
        unit: str,
        samples: Sequence[float],
        source: str,
        lower_is_better: bool = True,
    ) -> Metric:
        return cls(name, unit, lower_is_better, tuple(samples), summarize(samples), source)

    def in_unit(self, unit: str) -> Metric:
        """The same metric expressed in `unit` (ms -> s, KB -> MB); InputError across dimensions."""
        if unit == self.unit:
            return self
        (mine, factor), (theirs, target) = unit_scale(self.unit), unit_scale(unit)
        if mine is None or mine != theirs:
            raise InputError(f"{self.source}: {self.name!r} is in {self.unit}, expected {unit}")
        scale = factor / target
        summary = {k: v if k == "n" else v * scale for k, v in self.summary.items()}
        samples = tuple(v * scale for v in self.samples)
        return Metric(self.name, unit, self.lower_is_better, samples, summary, self.source)

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "name": self.name,
            "unit": self.unit,
            "better": "lower" if self.lower_is_better else "higher",
        }
        if self.samples:
            data["samples"] = list(self.samples)
        else:
            data["summary"] = dict(self.summary)
        return data


def metrics_document(metrics: Iterable[Metric]) -> dict[str, JSON]:
    """The generic metrics JSON for `metrics` (the baseline artefact the gate writes)."""
    return {"version": 1, "metrics": [m.to_json() for m in sorted(metrics, key=lambda m: m.name)]}


def _number(loaded: LoadedJson, path: Path_, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise loaded.error(path, f"expected a finite number, got {value!r}")
    return float(value)


def _samples(loaded: LoadedJson, path: Path_, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise loaded.error(path, "samples must be a non-empty list of numbers")
    return tuple(_number(loaded, (*path, i), v) for i, v in enumerate(value))


def _summary(loaded: LoadedJson, path: Path_, value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise loaded.error(path, "summary must be a non-empty mapping of statistics")
    summary = {}
    for key, v in value.items():
        if key != "n" and key not in STATS:
            raise loaded.error((*path, key), f"unknown statistic {key!r} (known: n, {', '.join(STATS)})")
        summary[key] = _number(loaded, (*path, key), v)
    if summary.get("n", 1) < 1:
        raise loaded.error((*path, "n"), "n must be at least 1")
    return summary


def _string(loaded: LoadedJson, path: Path_, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise loaded.error(path, f"expected a non-empty string, got {value!r}")
    return value


def _parse_metrics(loaded: LoadedJson) -> list[Metric]:
    items = loaded.data.get("metrics")
    if not isinstance(items, list):
        raise loaded.error(("metrics",), "'metrics' must be a list")
    metrics = []
    for i, item in enumerate(items):
        at: Path_ = ("metrics", i)
        if not isinstance(item, dict):
            raise loaded.error(at, "each metric must be a mapping with name, unit and samples or summary")
        name = _string(loaded, (*at, "name"), item.get("name"))
        unit = _string(loaded, (*at, "unit"), item.get("unit"))
        better = item.get("better", "lower")
        if better not in ("lower", "higher"):
            raise loaded.error((*at, "better"), f"better must be 'lower' or 'higher', got {better!r}")
        if ("samples" in item) == ("summary" in item):
            raise loaded.error(at, f"metric {name!r}: give either samples or summary")
        if "samples" in item:
            samples = _samples(loaded, (*at, "samples"), item["samples"])
            metrics.append(Metric.from_samples(name, unit, samples, loaded.source, better == "lower"))
        else:
            summary = _summary(loaded, (*at, "summary"), item["summary"])
            metrics.append(Metric(name, unit, better == "lower", (), summary, loaded.source))
    return metrics


_PYTEST_BENCHMARK_STATS = ("min", "max", "mean", "median", "q1", "q3", "iqr", "stddev")


def _parse_pytest_benchmark(loaded: LoadedJson) -> list[Metric]:
    items = loaded.data.get("benchmarks")
    if not isinstance(items, list):
        raise loaded.error(("benchmarks",), "'benchmarks' must be a list")
    metrics = []
    for i, item in enumerate(items):
        at: Path_ = ("benchmarks", i)
        if not isinstance(item, dict) or not isinstance(item.get("stats"), dict):
            raise loaded.error(at, "each benchmark must be a mapping with 'fullname' and 'stats'")
        name = _string(loaded, (*at, "fullname"), item.get("fullname"))
        stats = item["stats"]
        if "data" in stats:  # present with --benchmark-save-data
            samples = _samples(loaded, (*at, "stats", "data"), stats["data"])
            metrics.append(Metric.from_samples(name, "s", samples, loaded.source))
            continue
        summary = {
            key: _number(loaded, (*at, "stats", key), stats[key])
            for key in _PYTEST_BENCHMARK_STATS
            if key in stats
        }
        if "median" not in summary:
            raise loaded.error((*at, "stats"), f"benchmark {name!r} has no median")
        summary["n"] = _number(loaded, (*at, "stats", "rounds"), stats.get("rounds"))
        metrics.append(Metric(name, "s", True, (), summary, loaded.source))
    return metrics


def read_metrics(path: Path, fmt: str = "auto") -> list[Metric]:
    """The metrics in one results file; InputError (file:line) for anything malformed."""
    loaded = read_json(path)
    if not isinstance(loaded.data, dict):
        raise loaded.error((), "expected a JSON object")
    if fmt == "auto":
        if "benchmarks" in loaded.data:
            fmt = "pytest-benchmark"
        elif "metrics" in loaded.data:
            fmt = "metrics"
        else:
            raise loaded.error(
                (), "neither pytest-benchmark JSON ('benchmarks') nor metrics JSON ('metrics')"
            )
    parse = _parse_pytest_benchmark if fmt == "pytest-benchmark" else _parse_metrics
    key = "benchmarks" if fmt == "pytest-benchmark" else "metrics"
    metrics = parse(loaded)
    if not metrics:  # e.g. every benchmark skipped: an empty file must not pass as a fast one
        raise loaded.error((key,), f"no metrics in '{key}'")
    first: dict[str, int] = {}
    for i, metric in enumerate(metrics):
        if metric.name in first:
            raise loaded.error(
                (key, i), f"{metric.name!r} given twice (first as {key}[{first[metric.name]}])"
            )
        first[metric.name] = i
    return metrics


def read_all(paths: Sequence[Path], fmt: str = "auto") -> list[Metric]:
    """The metrics of several files; a name given twice is an error, not a silent overwrite."""
    seen: dict[str, Metric] = {}
    for path in paths:
        for metric in read_metrics(path, fmt):
            if metric.name in seen:
                raise InputError(
                    f"{metric.source}: metric {metric.name!r} is also in {seen[metric.name].source}"
                )
            seen[metric.name] = metric
    return list(seen.values())


def format_value(value: float, unit: str) -> str:
    """A human figure: times in the largest unit that keeps them >= 1, memory in MB."""
    dimension, factor = unit_scale(unit)
    base = value * factor
    if dimension == "time":
        for name in ("s", "ms", "us", "ns"):
            if abs(base) >= _TIME[name] or name == "ns":
                return f"{base / _TIME[name]:.4g} {name}"
    if dimension == "memory":
        return f"{base / _MEMORY['mb']:.4g} MB"
    return f"{value:.4g} {unit}"
