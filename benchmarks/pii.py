"""PII gate speed and agreement with the naive Presidio call, on a repository given as an argument.

    python benchmarks/pii.py REPO [--naive-mb N] [--jobs 1,2] [--runs 3] [--precision presidio]

Each fast measurement runs in a fresh process and prints two times: the start-up (import Presidio,
build the analyzer, warm it up on a short sample: a fixed cost, paid once per process whatever
the repository's size) and the scan of the repository (`gates.pii.scan.scan`, reading every file,
with 1 or 2 processes). MB/s is given for the scan and for the start-up and scan together; with
`--runs`, each measurement is repeated and the fastest run printed with the others.

The naive reference is one `AnalyzerEngine.analyze()` per whole file, same pipeline, entities,
thresholds and allow-list, analyzer built beforehand. `--precision presidio` measures the contract
of that setting (the fast path reports exactly the naive call's findings); with the default
`repository`, both see the text with path data blanked and the findings of both are the values
no precision rule drops (benchmarks/pii_precision.py measures what the rules drop). On the files
both scanned: recall = |fast ∩ naive| / |naive| over (file, entity, start, end), the findings fast
has that naive has not, and how many of the common findings have the same score. `--naive-mb`
limits the naive run to the first files (by path) up to N MB; the default is all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Python puts this folder first on sys.path, where benchmarks/secrets.py shadows the standard library
# module numpy needs (through spaCy).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from gates.pii.config import ScanConfig  # noqa: E402 (after the sys.path fix)
from gates.pii.settings import DEFAULT_ENTITIES  # noqa: E402
from gates.util.files import SkippedFile, read_text, select_files  # noqa: E402

Key = tuple[str, str, int, int]


PRECISION = "repository"
"""Set from --precision (in the measuring subprocesses too)."""


def _config() -> ScanConfig:
    return ScanConfig(
        entities=DEFAULT_ENTITIES,
        min_scores=dict.fromkeys(DEFAULT_ENTITIES, 0.4),
        salt="benchmark",
        documentation_examples=False,
        precision=PRECISION,
    )


def measure(repo: Path, jobs: int, max_file_bytes: int) -> None:
    """One fast measurement, in this fresh process: prints it as JSON."""
    files = select_files(repo, max_bytes=max_file_bytes).files
    t0 = time.perf_counter()
    from gates.pii.scan import prepare, scan

    prepare(_config())
    t1 = time.perf_counter()
    result = scan(files, _config(), workers=jobs, deadline=time.monotonic() + 3600)
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "startup": t1 - t0,
                "scan": t2 - t1,
                "bytes": result.bytes,
                "files": result.files,
                "presidio_files": result.presidio_files,
                "skipped": dict(result.skipped),
                "hits": [[h.path, h.entity, h.start, h.end, h.score] for h in result.hits],
            }
        )
    )


@dataclass
class Measured:
    startup: float
    scan: float
    bytes: int
    files: int
    presidio_files: int
    skipped: dict[str, int]
    hits: list[tuple[str, str, int, int, float]]


def _fast(repo: Path, jobs: int, max_file_bytes: int) -> Measured:
    command = [sys.executable, __file__, str(repo), "--measure", str(jobs)]
    command += ["--max-file-bytes", str(max_file_bytes), "--precision", PRECISION]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return Measured(**json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("--naive-mb", type=float, default=None)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-file-bytes", type=int, default=2_000_000)
    parser.add_argument("--precision", choices=("repository", "presidio"), default="repository")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global PRECISION
    PRECISION = args.precision
    if args.measure is not None:
        measure(args.repo, args.measure, args.max_file_bytes)
        return

    fast_scores: dict[Key, float] = {}
    for jobs in (int(j) for j in args.jobs.split(",")):
        runs = [_fast(args.repo, jobs, args.max_file_bytes) for _ in range(args.runs)]
        best = min(runs, key=lambda r: r.scan)
        mb = best.bytes / 1e6
        print(
            f"fast, {jobs} process(es): {mb:.1f} MB scanned in {best.scan:.2f} s = {mb / best.scan:.1f} MB/s "
            f"(runs: {', '.join(f'{r.scan:.2f}' for r in runs)} s); start-up {best.startup:.2f} s; "
            f"with the start-up {mb / (best.scan + best.startup):.1f} MB/s ({best.files} files, "
            f"{'workers started inside the scan, ' if jobs > 1 else ''}"
            f"{best.presidio_files} with candidates, {len(best.hits)} findings, skipped {best.skipped})"
        )
        fast_scores = {(h[0], h[1], h[2], h[3]): h[4] for h in best.hits}

    t0 = time.perf_counter()
    from gates.pii.analyzer import Scanner

    naive = Scanner(_config(), fast=False)
    print(f"naive start-up (import Presidio, build the analyzer): {time.perf_counter() - t0:.2f} s")
    naive_scores: dict[Key, float] = {}
    scanned: set[str] = set()
    budget = args.naive_mb * 1e6 if args.naive_mb else float("inf")
    done = 0.0
    t0 = time.perf_counter()
    for f in select_files(args.repo, max_bytes=args.max_file_bytes).files:
        if done >= budget:
            break
        try:
            text = read_text(f)
        except SkippedFile:
            continue
        done += f.size
        scanned.add(f.path)
        naive_scores |= {
            (h.path, h.entity, h.start, h.end): h.score
            for h in naive.scan(f.path, text)
            if not h.not_personal
        }
    elapsed = time.perf_counter() - t0
    print(f"naive: {done / 1e6:.1f} MB in {elapsed:.1f} s = {done / 1e6 / elapsed:.2f} MB/s")

    fast_keys = set(fast_scores)
    naive_keys = set(naive_scores)
    fast_same = {k for k in fast_keys if k[0] in scanned}
    both = fast_same & naive_keys
    missed = naive_keys - fast_same
    extra = fast_same - naive_keys
    recall = len(both) / len(naive_keys) if naive_keys else 1.0
    print(f"recall vs naive: {recall:.4f} ({len(both)}/{len(naive_keys)}), extra findings: {len(extra)}")
    lower = Counter(k[1] for k in both if fast_scores[k] < naive_scores[k])
    print(
        f"same score as naive: {len(both) - sum(lower.values())}/{len(both)}; lower (a result already "
        f"over min_score keeps its recognizer's score, without the context boost): {dict(lower)}"
    )
    print("naive findings by entity:", dict(Counter(k[1] for k in naive_keys)))
    for label, keys in (("missed", missed), ("extra", extra)):
        for key in sorted(keys)[:10]:
            print(f"  {label}: {key}")


if __name__ == "__main__":
    main()
