"""Secrets gate speed against detect-secrets run by hand on the same files, in the same run.

    python benchmarks/secrets.py REPO [--runs 3]

Prints the median wall time and MB/s of:
- detect-secrets alone: one `detect-secrets scan --all-files FILES...` process over the files the
  gate scans (detect-secrets' own CLI, its default plugins and filters);
- gates cold: `gates run REPO --only secrets --no-cache`;
- gates warm: the same run again with the collect cache;
and the ratios to detect-secrets alone, plus the number of secrets each found, which must agree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gates.util.files import SkippedFile, read_text, select_files


def timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo: Path = args.repo.resolve()
    files = []
    for f in select_files(repo, max_bytes=2_000_000).files:
        try:
            read_text(f)
        except SkippedFile:
            continue
        files.append(f)
    megabytes = sum(f.size for f in files) / 1e6
    print(f"{len(files)} text files, {megabytes:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.yaml"
        policy.write_text("version: 1\ngates:\n  secrets: {fail_on: none}\n")
        out = Path(tmp) / "out"
        base = [sys.executable, "-m", "gates", "run", str(repo), "--policy", str(policy), "--out", str(out)]
        hand = [sys.executable, "-m", "detect_secrets", "scan", "--all-files", *(f.path for f in files)]
        times: dict[str, list[float]] = {"detect-secrets": [], "gates cold": [], "gates warm": []}
        counts: dict[str, int] = {}
        for _ in range(args.runs):
            seconds, proc = timed(hand, repo)
            times["detect-secrets"].append(seconds)
            counts["detect-secrets"] = sum(len(v) for v in json.loads(proc.stdout)["results"].values())
            seconds, _ = timed([*base, "--only", "secrets", "--no-cache"], repo)
            times["gates cold"].append(seconds)
            verdict = json.loads((out / "verdict.json").read_text())
            counts["gates"] = verdict["gates"][0]["counts"]["total"]
            timed([*base, "--only", "secrets"], repo)
            seconds, _ = timed([*base, "--only", "secrets"], repo)
            times["gates warm"].append(seconds)
    reference = statistics.median(times["detect-secrets"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<15} {median:6.2f} s  {megabytes / median:5.2f} MB/s  x{median / reference:.2f}")
    print(f"secrets found: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
