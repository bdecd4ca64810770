"""PII gate speed and agreement with the naive Presidio call, on a repository given as an argument.

    python benchmarks/pii.py REPO [--naive-mb N] [--jobs 1,2]

Prints the fast scan's MB/s with 1 and 2 processes (Presidio already imported, as in a long-running
gate; the start-up is printed apart), the naive MB/s (one `AnalyzerEngine.analyze()` per whole file,
same pipeline, entities, thresholds and allow-list), and on the files both scanned: recall
= |fast ∩ naive| / |naive| over (file, entity, start, end), the findings fast has that naive has
not, and how many of the common findings have the same score. `--naive-mb` limits the naive run
to the first files (by path) up to N MB; the default is all.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

# Python puts this folder first on sys.path, where benchmarks/secrets.py shadows the standard library
# module numpy needs (through spaCy).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from gates.pii.config import ScanConfig  # noqa: E402 (after the sys.path fix)
from gates.pii.scan import scan  # noqa: E402
from gates.plugins.pii import DEFAULT_ENTITIES  # noqa: E402
from gates.util.files import SkippedFile, read_text, select_files  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("--naive-mb", type=float, default=None)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--max-file-bytes", type=int, default=2_000_000)
    args = parser.parse_args()

    config = ScanConfig(
        entities=DEFAULT_ENTITIES,
        min_scores=dict.fromkeys(DEFAULT_ENTITIES, 0.4),
        salt="benchmark",
        documentation_examples=False,
    )
    files = select_files(args.repo, max_bytes=args.max_file_bytes).files
    t0 = time.perf_counter()
    from gates.pii.analyzer import Scanner

    naive = Scanner(config, fast=False)
    print(f"start-up (import Presidio, build the analyzer): {time.perf_counter() - t0:.2f} s")

    fast_keys: set[tuple[str, str, int, int]] = set()
    fast_scores: dict[tuple[str, str, int, int], float] = {}
    for jobs in (int(j) for j in args.jobs.split(",")):
        t0 = time.perf_counter()
        result = scan(files, config, workers=jobs, deadline=time.monotonic() + 3600)
        elapsed = time.perf_counter() - t0
        mb = result.bytes / 1e6
        print(
            f"fast, {jobs} process(es): {mb:.1f} MB in {elapsed:.2f} s = {mb / elapsed:.1f} MB/s "
            f"({result.files} files, {result.presidio_files} with candidates, "
            f"{len(result.hits)} findings, skipped {dict(result.skipped)})"
        )
        fast_scores = {(h.path, h.entity, h.start, h.end): h.score for h in result.hits}
        fast_keys = set(fast_scores)

    naive_scores: dict[tuple[str, str, int, int], float] = {}
    scanned: set[str] = set()
    budget = args.naive_mb * 1e6 if args.naive_mb else float("inf")
    done = 0.0
    t0 = time.perf_counter()
    for f in files:
        if done >= budget:
            break
        try:
            text = read_text(f)
        except SkippedFile:
            continue
        done += f.size
        scanned.add(f.path)
        naive_scores |= {(h.path, h.entity, h.start, h.end): h.score for h in naive.scan(f.path, text)}
    elapsed = time.perf_counter() - t0
    print(f"naive: {done / 1e6:.1f} MB in {elapsed:.1f} s = {done / 1e6 / elapsed:.2f} MB/s")

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
