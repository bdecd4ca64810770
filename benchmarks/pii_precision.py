"""PII gate precision on real trees and recall on a planted customer export, per precision setting.

    python benchmarks/pii_precision.py [TREE...] [--plant-into TREE] [--customers N]

For each real tree (a checkout, an unpacked sdist or wheel, a copy of an installed package: a
folder inside another repository's ignored files would select nothing, so copy it out first): its
findings under `precision: presidio` (every value Presidio's recognizers report, the naive call's
findings) and under `precision: repository` (the default), the CPU time of each scan (one process,
analyzer built beforehand; CPU time, so that other work on a shared machine does not count), and
what the repository rules dropped, by rule.

Then the planted set (tests/pii_corpus.py: customer records as CSV, JSON, YAML and a notebook)
is written into a copy of `--plant-into` (default: the first tree), scanned under both settings,
and recall is printed per entity, per file format (CSV, JSON, YAML, notebook) and per form (a
phone number's country and format, a card's brand), with the findings in the planted files that
are no planted value.
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


def trees(roots: list[Path], precisions: list[str]) -> None:
    print("findings per real tree (one process; CPU seconds and MB/s of the scan, analyzer ready):")
    for root in roots:
        row = []
        for precision in precisions:
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


def _share(found: int, total: int) -> str:
    return f"{found}/{total} ({found / total:.1%})"


def _shares(groups: dict[str, list[bool]]) -> str:
    return ", ".join(f"{key} {_share(sum(found), len(found))}" for key, found in sorted(groups.items()))


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
            found = {p: any(_covers(h, p) for h in hits) for p in values}
            print(f"  {precision}:")
            for entity in sorted({p.entity for p in values}):
                of = [p for p in values if p.entity == entity]
                by_form: dict[str, list[bool]] = {}
                by_format: dict[str, list[bool]] = {}
                for p in of:
                    # phones: country and form (`DE slash`); cards: brand (`Mastercard-2`)
                    form = p.form if entity == "PHONE_NUMBER" else p.form.split()[0]
                    by_form.setdefault(form, []).append(found[p])
                    by_format.setdefault(p.path.rsplit(".", 1)[1], []).append(found[p])
                total = sum(found[p] for p in of)
                print(f"    {entity}: recall {_share(total, len(of))}")
                print(
                    "      by file format: "
                    + ", ".join(f"{k} {_share(sum(v), len(v))}" for k, v in sorted(by_format.items()))
                )
                if len(by_form) > 1:
                    print(
                        "      by form: "
                        + ", ".join(f"{k} {_share(sum(v), len(v))}" for k, v in sorted(by_form.items()))
                    )
            extra = [h for h in hits if not any(_covers(h, p) for p in values)]
            print(f"    findings in planted files that are no planted value: {len(extra)}")
            print(f"    findings elsewhere in the tree: {len(result.hits) - len(hits)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", type=Path, nargs="*")
    parser.add_argument("--plant-into", type=Path)
    parser.add_argument("--customers", type=int, default=250)
    parser.add_argument("--precision", choices=PRECISIONS, help="only this one on the trees (default: both)")
    args = parser.parse_args()
    if args.trees:
        trees(args.trees, [args.precision] if args.precision else list(PRECISIONS))
    if args.plant_into or args.trees:
        planted(args.plant_into or args.trees[0], args.customers)


if __name__ == "__main__":
    main()
