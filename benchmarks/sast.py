"""SAST gate speed against bandit run by hand on the same files, in the same run.

    python benchmarks/sast.py REPO [--runs 3]

Prints the median wall time of:
- bandit alone: one `python -m bandit -f json -q FILES...` process over the files the gate scans;
- gates cold: `gates run REPO --only sast` with an empty output folder and collect cache, sharded as the
  gate decides (one bandit process per core on a large tree), and once more with `workers: 1`;
- gates warm: the same run again on the unchanged tree (collect cache hit);
and the ratios to bandit alone, plus the finding counts, which must agree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gates.util.files import select_files


def timed(
    argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    return time.perf_counter() - started, proc


def gates_run(repo: Path, policy: Path, out: Path) -> tuple[float, dict[str, object]]:
    seconds, proc = timed(
        [
            sys.executable,
            "-m",
            "gates",
            "run",
            str(repo),
            "--only",
            "sast",
            "--policy",
            str(policy),
            "--out",
            str(out),
            "--format",
            "json",
        ],
        # Each output folder has a collect cache of its own beside it: a new folder is a cold run.
        env={**os.environ, "GATES_CACHE_DIR": str(out.with_name(f"{out.name}-cache"))},
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"gates run failed ({proc.returncode}): {proc.stderr.strip()}")
    verdict = json.loads((out / "verdict.json").read_text())
    (gate,) = verdict["gates"]
    return seconds, gate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo: Path = args.repo.resolve()

    files = [f.path for f in select_files(repo, ["*.py"]).files if f.path.endswith(".py")]
    size = sum((repo / f).stat().st_size for f in files)
    print(f"{repo}: {len(files)} Python files, {size / 1e6:.1f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sharded = work / "sharded.yaml"
        sharded.write_text("version: 1\ngates:\n  sast: {fail_on: none}\n")
        single = work / "single.yaml"
        single.write_text("version: 1\ngates:\n  sast: {fail_on: none, workers: 1}\n")

        bandit_times, cold_times, single_times, warm_times = [], [], [], []
        bandit_count = gate_count = shards = 0
        for run in range(args.runs):
            seconds, proc = timed(
                [sys.executable, "-m", "bandit", "-f", "json", "-q", "--", *files], cwd=repo
            )
            bandit_times.append(seconds)
            report = json.loads(proc.stdout)
            bandit_count = len(report["results"]) + len(report["errors"])

            out = work / f"out{run}"
            seconds, gate = gates_run(repo, sharded, out)
            cold_times.append(seconds)
            gate_count = int(gate["counts"]["total"])  # type: ignore[index]
            shards = int(gate["stats"]["shards"])  # type: ignore[index]
            seconds, gate = gates_run(repo, sharded, out)
            assert gate["cached"], "the second run on an unchanged tree must hit the cache"
            warm_times.append(seconds)
            seconds, _ = gates_run(repo, single, work / f"single{run}")
            single_times.append(seconds)

    bandit = statistics.median(bandit_times)
    rows = [
        ("bandit alone (1 process)", bandit),
        (f"gates cold ({shards} shards)", statistics.median(cold_times)),
        ("gates cold (workers: 1)", statistics.median(single_times)),
        ("gates warm (cache hit)", statistics.median(warm_times)),
    ]
    for name, seconds in rows:
        print(f"{name:<28} {seconds:7.2f} s   {seconds / bandit:5.2f}x bandit")
    print(f"findings: bandit {bandit_count}, gates {gate_count}")
    return 0 if bandit_count == gate_count else 1


if __name__ == "__main__":
    raise SystemExit(main())
