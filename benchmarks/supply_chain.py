"""The sbom, licence and vulnerabilities gates in one `gates run` against cyclonedx-py and pip-audit
run by hand on the same input, both auditing against the same local OSV mirror.

    python benchmarks/supply_chain.py [PROJECT_DIR] [--osv DIR] [--runs 3]

PROJECT_DIR holds the dependency manifest (requirements.txt, poetry.lock, ...); without it a
project pinning nine packages with known advisories is written to a temporary folder. The OSV
database defaults to ../shared/data/osv-pypi-sample, else the tests' own records. Prints the median
wall time of each side, the ratio, and what the gates found.
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
from collections.abc import Sequence
from pathlib import Path

from gates.osv.mirror import OsvDatabase, serving

REPO = Path(__file__).resolve().parent.parent
SHARED_OSV = REPO.parent / "shared" / "data" / "osv-pypi-sample"
DEMO_REQUIREMENTS = """\
jinja2==2.10
flask==2.2.0
werkzeug==2.2.2
requests==2.19.0
urllib3==1.24.1
pyyaml==5.3
pillow==8.0.0
cryptography==3.2
setuptools==65.5.0
"""


def _median_seconds(
    argvs: Sequence[Sequence[str]], runs: int, env: dict[str, str], ok: Sequence[int]
) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for argv in argvs:
            code = subprocess.run(argv, env=env, capture_output=True, check=False).returncode
            if code not in ok:
                raise SystemExit(f"{argv[0]} ... exited with {code}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("project", nargs="?", type=Path)
    parser.add_argument(
        "--osv", type=Path, default=SHARED_OSV if SHARED_OSV.is_dir() else REPO / "tests/data/osv"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="gates-bench-") as tmp,
        serving(OsvDatabase.load(args.osv)) as osv_url,
    ):
        work = Path(tmp)
        project = args.project
        if project is None:
            project = work / "project"
            project.mkdir()
            (project / "requirements.txt").write_text(DEMO_REQUIREMENTS, encoding="utf-8")
        requirements = project / "requirements.txt"
        if not requirements.is_file():
            raise SystemExit(f"{project}: the by-hand side needs a requirements.txt")
        env = {**os.environ, "GATES_OSV_URL": osv_url}
        policy = work / "policy.yaml"
        policy.write_text(
            "version: 1\ngates:\n  sbom: {}\n  licence: {}\n  vulnerabilities: {}\n", encoding="utf-8"
        )
        gates = [
            [
                sys.executable,
                "-m",
                "gates",
                "run",
                str(project),
                "--policy",
                str(policy),
                "--out",
                str(work / "out"),
                "--no-cache",
                "--format",
                "json",
            ]
        ]
        by_hand = [
            [
                sys.executable,
                "-m",
                "cyclonedx_py",
                "requirements",
                str(requirements),
                "-o",
                str(work / "bom.json"),
            ],
            [
                sys.executable,
                "-m",
                "pip_audit",
                "-r",
                str(requirements),
                "--no-deps",
                "--disable-pip",
                "-s",
                "osv",
                "--osv-url",
                f"{osv_url}/v1/query",
                "-f",
                "json",
                "--progress-spinner",
                "off",
            ],
        ]
        hand = _median_seconds(by_hand, args.runs, env, ok=(0, 1))
        ours = _median_seconds(gates, args.runs, env, ok=(0, 1))
        verdict = json.loads((work / "out" / "verdict.json").read_text(encoding="utf-8"))
        print(
            f"project: {project} ({len(requirements.read_text().splitlines())} requirements); OSV: {args.osv}"
        )
        print(f"cyclonedx-py + pip-audit by hand: {hand:6.2f} s (median of {args.runs})")
        print(f"gates run sbom+licence+vulnerabilities: {ours:6.2f} s (median of {args.runs})")
        print(f"ratio gates / by hand: {ours / hand:.2f}x")
        for gate in verdict["gates"]:
            print(
                f"  {gate['name']:<16} {gate['status']:<6} {gate['counts']['total']:>3} finding(s)  "
                f"collect {gate['duration_s']:.2f} s"
            )


if __name__ == "__main__":
    main()
