"""CycloneDX JSON validation time: gates (gates.sbom.validate) against cyclonedx-python-lib's
JsonStrictValidator run by hand on the same documents, in the same run. Both use the same linear IRI
checks (with rfc3987-syntax the library takes about 0.1 s more per URL); what differs is jsonschema's
pairwise `uniqueItems` and `enum`.

    python benchmarks/sbom_validation.py [SBOM.json ...] [--sizes 2000,5000,20000,100000] [--hand-max 5000]

Reads the JSON SBOMs in ../shared/data/boms and those given, then synthetic ones of N components
(each a library with a licence and a hash, as generators write them). The library runs only on
documents of at most --hand-max components: it is quadratic in their number. Verdicts must agree.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from gates.sbom.validate import json_schema_problem

REPO = Path(__file__).resolve().parent.parent
SHARED_BOMS = REPO.parent / "shared" / "data" / "boms"


def _synthetic(count: int) -> dict[str, Any]:
    components = [
        {
            "type": "library",
            "bom-ref": f"pkg:npm/c{i}@1.0.{i}",
            "name": f"c{i}",
            "version": f"1.0.{i}",
            "purl": f"pkg:npm/c{i}@1.0.{i}",
            "licenses": [{"license": {"id": "MIT"}}],
            "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
        }
        for i in range(count)
    ]
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}


def _timed(validate: Callable[[], bool]) -> tuple[bool, float]:
    start = time.perf_counter()
    valid = validate()
    return valid, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sboms", nargs="*", type=Path)
    parser.add_argument("--sizes", default="2000,5000,20000,100000")
    parser.add_argument("--hand-max", type=int, default=5000)
    args = parser.parse_args()
    documents: list[tuple[str, dict[str, Any]]] = [
        (path.name, json.loads(path.read_bytes()))
        for path in sorted(SHARED_BOMS.glob("*.cdx.json")) + list(args.sboms)
    ]
    sizes = [int(n) for n in args.sizes.split(",")]
    documents += [(f"synthetic {n:,} components", _synthetic(n)) for n in sizes]
    json_schema_problem(documents[0][1], "1.6")  # builds the validators and registers the IRI checks
    print(f"{'SBOM':<36} {'comps':>7} {'by hand':>9} {'gates':>8} {'ratio':>7}  valid")
    for name, document in documents:
        spec = document["specVersion"]
        count = len(document.get("components", []))
        valid, ours = _timed(lambda: json_schema_problem(document, spec) is None)  # noqa: B023
        hand = "-"
        ratio = "-"
        if count <= args.hand_max:
            library = JsonStrictValidator(SchemaVersion.from_version(spec))
            text = json.dumps(document)
            by_hand, seconds = _timed(lambda: library.validate_str(text) is None)  # noqa: B023
            assert by_hand == valid, name
            hand, ratio = f"{seconds:.2f}s", f"{seconds / ours:.1f}x"
        print(f"{name:<36} {count:>7} {hand:>9} {ours:>7.2f}s {ratio:>7}  {valid}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
