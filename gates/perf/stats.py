"""Summaries of samples and the significance test for a change between two sets of samples."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from gates.errors import ToolMissing

# Statistics a summary may hold; budgets name them (`p95_ms`), `peak` and `p50` are aliases.
STATS: tuple[str, ...] = (
    "min",
    "max",
    "mean",
    "median",
    "q1",
    "q3",
    "iqr",
    "p90",
    "p95",
    "p99",
    "stddev",
)
STAT_ALIASES: Mapping[str, str] = {"peak": "max", "p50": "median"}


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """n and every statistic in STATS, with linear interpolation between order statistics (the
    same as numpy's default percentile), so summaries read from files and computed here agree."""
    values = sorted(samples)
    n = len(values)
    if n == 1:
        quant = {q: values[0] for q in (25, 75, 90, 95, 99)}
    else:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        quant = {q: cuts[q - 1] for q in (25, 75, 90, 95, 99)}
    return {
        "n": float(n),
        "min": values[0],
        "max": values[-1],
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "q1": quant[25],
        "q3": quant[75],
        "iqr": quant[75] - quant[25],
        "p90": quant[90],
        "p95": quant[95],
        "p99": quant[99],
        "stddev": statistics.stdev(values) if n > 1 else 0.0,
    }


def worse_p_value(current: Sequence[float], baseline: Sequence[float], lower_is_better: bool) -> float:
    """One-sided Mann-Whitney U p-value for "current is worse than baseline" (stochastically
    larger for a time, smaller for a throughput). Rank-based, so a few outliers from a noisy CI
    runner do not make a difference significant the way they would move a mean."""
    try:
        # imported here: scipy is the optional `perf` extra
        from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]
    except ImportError as e:
        raise ToolMissing("scipy is not installed: pip install 'governance-gates[perf]'") from e
    result = mannwhitneyu(current, baseline, alternative="greater" if lower_is_better else "less")
    p = float(result.pvalue)
    return 1.0 if math.isnan(p) else p
