"""Time the HTML report against the markdown and JSON renderers on one large verdict.

    python benchmarks/report_html.py [--findings 5000] [--runs 3]

Prints the median render time and output size of each format. The verdict is synthetic (findings
spread over five gates) and validated first. The HTML lists up to 500 findings per gate and the
markdown 50 counted findings in all, so their sizes differ by design; JSON carries everything.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gates.report import FORMATS, html
from tests.test_report_html import finding, gate, make_verdict


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    names = ["sast", "pii", "licence", "vulnerabilities", "dast"]
    per_gate = args.findings // len(names)
    verdict = make_verdict(
        [
            gate(
                name,
                "fail",
                [
                    finding(
                        f"R{i % 40:03d}",
                        ("low", "medium", "high")[i % 3],
                        f"{name} finding {i} " + "x" * 60,
                        path=f"src/module_{i % 97}.py",
                        line=i + 1,
                        properties={"more_info": "https://example.org/rule", "fixed_versions": ["1.2.3"]},
                    )
                    for i in range(per_gate)
                ],
            )
            for name in names
        ]
    )
    times: dict[str, float] = {}
    for fmt in ("json", "md", "html"):
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            text = FORMATS[fmt].render(verdict)
            samples.append(time.perf_counter() - start)
        times[fmt] = statistics.median(samples)
        print(f"{fmt:>5}: {times[fmt] * 1000:8.1f} ms  {len(text.encode()) / 1e6:6.2f} MB")
    shown = min(per_gate, html.MAX_FINDINGS_PER_GATE) * len(names)
    print(
        f"{args.findings} findings, {shown} listed in the HTML; "
        f"html/json time {times['html'] / times['json']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
