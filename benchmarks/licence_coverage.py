"""Licence coverage on real SBOMs: of the components that declare a licence, the share whose licence
gets a known category (what the licence gate can judge without a `licence-unknown` finding), with
gates' resolver against license-expression run by hand (the declared licences joined with AND and
parsed, as the gate did before names, classifiers and each licence on its own).

    python benchmarks/licence_coverage.py [SBOM ...] [--environment [PYTHON]] [--no-shared] [--poms DIR]

Reads every CycloneDX SBOM (JSON or XML) in ../shared/data/boms (Composer, npm) and
tests/data/sboms (Maven) and those given, and with `--environment` generates one of an interpreter's
installed packages with `cyclonedx-py environment` (default: this one). Prints one row per SBOM, the
unknown declared names of each, and the time. Target (issue 17): at least 95% on every real SBOM.

`--poms DIR` (a Maven local repository, ~/.m2/repository) also counts the licence names every POM
below DIR declares, as written: what an SBOM tool that copies names (rather than mapping them to SPDX
ids, as cdxgen does) would hand the gate.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import defusedxml.ElementTree as ET
import license_expression as le  # type: ignore[import-untyped]

from gates.sbom import licence_names, licences
from gates.sbom.read import Sbom, parse_sbom

REPO = Path(__file__).resolve().parent.parent
SHARED_BOMS = REPO.parent / "shared" / "data" / "boms"
COMMITTED_BOMS = REPO / "tests" / "data" / "sboms"


def _pom_names(root: Path) -> Counter[str]:
    """Licence names as every POM below `root` declares them (whitespace collapsed)."""
    names: Counter[str] = Counter()
    for pom in root.rglob("*.pom"):
        try:
            project = ET.parse(pom).getroot()
        except ET.ParseError:
            continue
        for element in project.iter():
            if element.tag.rpartition("}")[2] != "license":
                continue
            for child in element:
                if child.tag.rpartition("}")[2] == "name" and child.text and child.text.strip():
                    names[" ".join(child.text.split())] += 1
    return names


def _poms(root: Path) -> None:
    names = _pom_names(root)
    unknown = Counter({name: n for name, n in names.items() if licence_names.resolve(name) is None})
    total, missed = sum(names.values()), sum(unknown.values())
    print(f"\nPOM licence names below {root}: {total} declared ({len(names)} distinct), ", end="")
    print(f"{total - missed} known ({(total - missed) / total:.1%}); unknown: ", end="")
    print("; ".join(f"{name} x{n}" for name, n in unknown.most_common()) or "none")


def _by_hand(declared: Sequence[str]) -> bool:
    """license-expression alone: the declared licences joined with AND, every key categorised."""
    licensing = le.get_spdx_licensing()
    joined = " AND ".join(f"({text})" if len(declared) > 1 else text for text in declared)
    try:
        keys = licensing.license_keys(licensing.parse(joined, validate=False))
    except le.ExpressionError:
        return False
    return bool(keys) and all(licences.category(str(k)) is not None for k in keys)


def _environment_sbom(python: str, work: Path) -> Path:
    out = work / "environment.cdx.json"
    subprocess.run(
        [sys.executable, "-m", "cyclonedx_py", "environment", python, "--of", "JSON", "-o", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def _row(name: str, sbom: Sbom) -> tuple[str, Counter[str]]:
    declared = [c.licences for c in sbom.components]
    start = time.perf_counter()
    coverage = licences.coverage(declared)
    seconds = time.perf_counter() - start
    by_hand = sum(1 for texts in declared if texts and _by_hand(texts))
    unknown: Counter[str] = Counter()
    for texts in declared:
        unknown.update(licences.normalise(texts).unrecognised if texts else ())
    hand_share = by_hand / coverage.declaring if coverage.declaring else 1.0
    row = (
        f"{name:<40} {coverage.components:>6} {coverage.declaring:>9} {hand_share:>9.1%} "
        f"{coverage.share:>9.1%} {seconds:>7.2f}s"
    )
    return row, unknown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sboms", nargs="*", type=Path)
    parser.add_argument("--environment", nargs="?", const=sys.executable, default=None)
    parser.add_argument("--no-shared", action="store_true")
    parser.add_argument("--poms", type=Path, help="a Maven local repository: count its POMs' licence names")
    args = parser.parse_args()
    files = list(args.sboms)
    if not args.no_shared and SHARED_BOMS.is_dir():
        files = sorted(SHARED_BOMS.glob("*.cdx.*")) + files
    files = sorted(COMMITTED_BOMS.glob("*.cdx.*")) + files
    with tempfile.TemporaryDirectory(prefix="gates-bench-") as tmp:
        if args.environment:
            files.append(_environment_sbom(args.environment, Path(tmp)))
        licences.normalise(["MIT"])  # loads the licence database and the name index once
        print(f"{'SBOM':<40} {'comps':>6} {'declaring':>9} {'by hand':>9} {'gates':>9} {'time':>8}")
        notes = []
        for path in files:
            row, unknown = _row(path.name, parse_sbom(path.read_bytes(), str(path)))
            print(row)
            if unknown:
                notes.append(f"  {path.name}: " + "; ".join(f"{n} x{k}" for n, k in unknown.most_common()))
    if notes:
        print("\nDeclared licences no source knows:")
        print("\n".join(notes))
    if args.poms:
        _poms(args.poms)


if __name__ == "__main__":
    main()
