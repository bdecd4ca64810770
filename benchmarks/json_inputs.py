"""Loading a large pytest-benchmark JSON file: gates.util.jsonfile.read_json (json, line numbers
only on the error path) against gates.util.yamlfile.read_yaml (line-tracking YAML loader).

    python benchmarks/json_inputs.py [--benchmarks 50] [--samples 5000]

Writes a synthetic pytest-benchmark file with raw samples (what `--benchmark-json` writes), then
prints the size, each loader's median time of 3 runs, MB/s and the ratio, and the time of the
whole performance-gate parse (read_metrics: summaries of every benchmark).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gates.perf.inputs import read_metrics
from gates.util.jsonfile import read_json
from gates.util.yamlfile import read_yaml


def _median_seconds(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchmarks", type=int, default=50)
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(0)
    doc = {
        "machine_info": {},
        "commit_info": {},
        "version": "5.2.3",
        "benchmarks": [
            {
                "name": f"test_{i}",
                "fullname": f"tests/test_perf.py::test_{i}",
                "stats": {"median": 1e-3, "rounds": args.samples,
                          "data": [rng.gauss(1e-3, 1e-4) for _ in range(args.samples)]},
            }
            for i in range(args.benchmarks)
        ],
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.json"
        path.write_text(json.dumps(doc, indent=2))
        mb = path.stat().st_size / 1e6
        fast = _median_seconds(lambda: read_json(path))
        slow = _median_seconds(lambda: read_yaml(path), runs=1)
        parse = _median_seconds(lambda: read_metrics(path))
    print(f"file: {mb:.1f} MB, {args.benchmarks} benchmarks x {args.samples} samples")
    print(f"read_json: {fast:.3f} s ({mb / fast:.1f} MB/s)")
    print(f"read_yaml: {slow:.3f} s ({mb / slow:.2f} MB/s)")
    print(f"ratio yaml/json: {slow / fast:.0f}x")
    print(f"read_metrics (parse + summaries): {parse:.3f} s")


if __name__ == "__main__":
    main()
