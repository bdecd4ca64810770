"""PII gate precision on real trees and recall on a planted customer export, per precision setting.

    python benchmarks/pii_precision.py TREE [TREE...] [--plant-into TREE] [--customers N]

For each real tree (a checkout, an unpacked sdist or wheel, a copy of an installed package: a
folder inside another repository's ignored files would select nothing, so copy it out first): its
findings under `precision: presidio` (every value Presidio's recognizers report, the naive call's
findings) and under `precision: repository` (the default), the CPU time of each scan (one process,
analyzer built beforehand; CPU time, so that other work on a shared machine does not count), and
what the repository rules dropped, by rule.

Then the planted set (tests/pii_corpus.py: customer records as CSV, JSON, YAML and a notebook)
is written into a copy of `--plant-into` (default: the first tree), scanned under both settings,
and recall is printed per entity and, for phone numbers, per country, with the findings in the
planted files that are no planted value.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# Python puts this folder first on sys.path, where benchmarks/secrets.py shadows the standard library
# module numpy needs (through spaCy); the repository root holds tests/pii_corpus.py.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from gates.pii.config import Hit  # noqa: E402 (after the sys.path fix)
from gates.pii.scan import ScanResult, prepare, scan  # noqa: E402
from gates.plugins.pii import scan_config  # noqa: E402
from gates.util.files import select_files  # noqa: E402
from tests.pii_corpus import Planted, plant  # noqa: E402

PRECISIONS = ("presidio", "repository")


def _scan(root: Path, precision: str) -> tuple[ScanResult, float]:
    config = scan_config({"precision": precision, "salt": "benchmark"})
    prepare(config)
    files = select_files(root, max_bytes=2_000_000).files
    t0 = time.process_time()
    result = scan(files, config, workers=1, deadline=time.monotonic() + 3600)
    return result, time.process_time() - t0


def _covers(hit: Hit, p: Planted) -> bool:
    return hit.path == p.path and hit.entity == p.entity and hit.start < p.end and hit.end > p.start


def trees(roots: list[Path]) -> None:
    print("findings per real tree (one process; CPU seconds and MB/s of the scan, analyzer ready):")
    for root in roots:
        row = []
        for precision in PRECISIONS:
            result, seconds = _scan(root, precision)
            mb = result.bytes / 1e6
            entities = dict(Counter(h.entity for h in result.hits).most_common())
            row.append(
                f"{precision}: {len(result.hits)} {entities} in {seconds:.1f} s ({mb / seconds:.1f} MB/s)"
            )
        print(f"  {root.name} ({mb:.1f} MB, {result.files} files)")
        for line in row:
            print(f"    {line}")
        print(f"    dropped by rule: {dict(result.not_personal.most_common())}")


def planted(tree: Path, customers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / tree.name
        shutil.copytree(tree, root, ignore=shutil.ignore_patterns(".git", "__pycache__"))
        values = plant(root, customers=customers)
        files = {p.path for p in values}
        print(f"planted set: {len(values)} values in {len(files)} files inside a copy of {tree.name}")
        for precision in PRECISIONS:
            result, _ = _scan(root, precision)
            hits = [h for h in result.hits if h.path in files]
            total: Counter[str] = Counter(p.entity for p in values)
            found: Counter[str] = Counter(p.entity for p in values if any(_covers(h, p) for h in hits))
            phones = [p for p in values if p.entity == "PHONE_NUMBER"]
            by_country: Counter[str] = Counter(p.form.split()[0] for p in phones)
            found_by_country: Counter[str] = Counter(
                p.form.split()[0] for p in phones if any(_covers(h, p) for h in hits)
            )
            extra = [h for h in hits if not any(_covers(h, p) for p in values)]
            recall = ", ".join(
                f"{e} {found[e]}/{total[e]} ({found[e] / total[e]:.1%})" for e in sorted(total)
            )
            countries = ", ".join(f"{c} {found_by_country[c]}/{by_country[c]}" for c in sorted(by_country))
            print(f"  {precision}: recall {recall}")
            print(f"    phones by country: {countries}")
            print(f"    findings in planted files that are no planted value: {len(extra)}")
            print(f"    findings elsewhere in the tree: {len(result.hits) - len(hits)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", type=Path, nargs="+")
    parser.add_argument("--plant-into", type=Path)
    parser.add_argument("--customers", type=int, default=250)
    args = parser.parse_args()
    trees(args.trees)
    planted(args.plant_into or args.trees[0], args.customers)


if __name__ == "__main__":
    main()
