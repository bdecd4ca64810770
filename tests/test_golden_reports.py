"""Every report format, byte for byte, for verdicts the real engine makes from fixture repositories.

Each case commits a repository, runs `gates run` on it with a fixed clock (SOURCE_DATE_EPOCH), and
replaces only what differs between machines (the temporary folder, durations, tool versions) in
the verdict before rendering. The verdict and every rendered format are compared with the files
in tests/golden/<case>/. A change to a report's bytes must update those files in the same commit:

    GATES_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_reports.py
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gates import verdict as verdicts
from gates.model import Status
from gates.report import html
from gates.report.registry import load_formats
from gates.verdict import Verdict
from tests.conftest import CLEAN_CODE, VULNERABLE_CODE, CliResult, Repo
from tests.test_dast import ZAP_REPORT
from tests.test_vex import cyclonedx

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GATES_UPDATE_GOLDEN") == "1"
EPOCH = str(int(dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc).timestamp()))
SUBJECT_PATH = "/src/shop"

MIXED_POLICY = """\
version: 1
name: golden-mixed
defaults: {fail_on: high, warn_on: medium}
governance: {expiring_within_days: 30, unused_waivers: warn}
gates:
  sast: {confidence: low}
  secrets: {}
  pii: {jobs: 1}  # one process on any machine: the golden bytes show how many
  sbom: {}
  licence: {unknown: warn, lookup: {enabled: false}}  # no network: golden bytes do not depend on it
  vulnerabilities: {vex: ["vex/*.json"]}
  dast: {mode: enforce, import: {zap: reports/zap.json}}
  performance: {mode: enforce}
waivers:
  - {gate: sast, rule: B403, reason: "trusted input | <b>only</b>", owner: data-team, expires: 2026-06-20}
  - {gate: sast, rule: B999, reason: no such finding, owner: nobody, expires: 2027-01-01}
  - {gate: secrets, rule: "*", path: "old/*", reason: rotated long ago, owner: sec, expires: 2026-01-01}
"""

# Text that reports must escape: table cells, HTML and Markdown links.
HOSTILE_CODE = '''\
import pickle


def handler(data):
    """<script>alert(1)</script> | `x` [link](javascript:alert(1))"""
    return eval(data)
'''

# Joined at run time, so that this file holds neither the address nor the key for the project's
# own pii and secrets gates.
CUSTOMERS = "name,email\nAda Lovelace,ada.lovelace" + "@proton.me\n"
AWS_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzzQ8rV3pLs"  # pragma: allowlist secret
SECRETS = f'AWS_SECRET_ACCESS_KEY="{AWS_KEY}"\n'
# The CSP hash of the HTML report's print script, a constant the goldens spell as a placeholder
# (detect-secrets reads any base64 digest as a secret).
SCRIPT_HASH = base64.b64encode(hashlib.sha256(html._PRINT_SCRIPT.encode()).digest()).decode()
_DIGEST = re.compile(r"\b[0-9a-f]{16,}\b")


def _mixed_files() -> dict[str, str]:
    return {
        "app/run.py": VULNERABLE_CODE,
        "app/handler|<b>.py": HOSTILE_CODE,
        "app/ok.py": CLEAN_CODE,
        "data/customers.csv": CUSTOMERS,
        "config/settings.env": SECRETS,
        "requirements.txt": "jinja2==2.10\n",
        "vex/app.cdx.json": cyclonedx("not_affected"),
        "reports/zap.json": json.dumps(ZAP_REPORT, indent=2),
        "gates.yaml": MIXED_POLICY,
    }


MONOREPO_POLICY = """\
version: 1
name: golden-monorepo
defaults: {fail_on: medium}
gates:
  sast: {}
paths:
  services/api/**:
    name: api
    gates:
      sast: {fail_on: low}
  services/web/**:
    name: web
    mode: warn
"""


def _normalised(verdict: dict[str, Any]) -> Verdict:
    """The verdict without what differs between machines and runs: the repository's temporary
    folder, durations and installed tool versions."""
    text = json.dumps(verdict)
    root = verdict["subject"]["path"]
    text = text.replace(json.dumps(root)[1:-1], SUBJECT_PATH)
    # Fingerprints, commits and digests become numbered tokens of the same length: the goldens
    # hold no high-entropy hex string for the project's own secrets gate to report.
    tokens: dict[str, str] = {}
    text = _DIGEST.sub(lambda m: tokens.setdefault(m[0], f"{len(tokens) + 1:0{len(m[0])}x}"), text)
    data: dict[str, Any] = json.loads(text)
    data["duration_s"] = 12.5
    for gate in data["gates"]:
        gate["duration_s"] = 1.25 if gate["version"] is not None else 0.0
        gate["tool_versions"] = {name: "0.0.0" for name in gate["tool_versions"]}
    data["tool"]["version"] = "0.0.0"
    verdicts.validate(data, "normalised verdict")
    return Verdict.from_json(data)


@pytest.fixture
def golden_run(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    osv_fixture_mirror: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., dict[str, Any]]]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("GATES_OSV_URL", osv_fixture_mirror)

    def run(files: dict[str, str], *args: str, branch: str = "main") -> dict[str, Any]:
        repo = make_repo(files, branch=branch)
        out = repo.root.parent / f"out-{repo.root.name}"
        result = run_cli("run", repo.root, "--out", out, "--no-cache", *args)
        assert result.code in (0, 1, 3), result.err
        return json.loads((out / "verdict.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    yield run


def _cases(run: Callable[..., dict[str, Any]]) -> dict[str, dict[str, Any]]:
    mixed = run(_mixed_files(), branch="release/1.4")
    passing = run({"app/ok.py": CLEAN_CODE, "gates.yaml": "version: 1\ngates:\n  sast: {}\n"})
    monorepo = run(
        {
            "services/api/app.py": VULNERABLE_CODE,
            "services/web/app.py": HOSTILE_CODE,
            "tools/build.py": "import pickle\n",
            "gates.yaml": MONOREPO_POLICY,
        }
    )
    return {"mixed": mixed, "passing": passing, "monorepo": monorepo}


def _check(case: str, name: str, text: str, mismatches: list[str]) -> None:
    path = GOLDEN / case / name
    text = text.replace(SCRIPT_HASH, "PRINT-SCRIPT-SHA256")
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    elif not path.exists() or path.read_text(encoding="utf-8") != text:
        mismatches.append(f"{case}/{name}")


@pytest.mark.slow
def test_every_format_renders_the_golden_bytes(golden_run: Callable[..., dict[str, Any]]) -> None:
    cases = {case: _normalised(v) for case, v in _cases(golden_run).items()}
    assert cases["mixed"].status is Status.ERROR and cases["passing"].status is Status.PASS
    assert {g.project for g in cases["monorepo"].gates} == {None, "api", "web"}
    mismatches: list[str] = []
    for case, verdict in cases.items():
        for fmt in load_formats().formats.values():
            _check(case, fmt.filename, fmt.render(verdict), mismatches)
    history = html.History((cases["passing"], cases["monorepo"]), 1)
    _check("mixed", "report-history.html", html.render(cases["mixed"], history), mismatches)
    assert not mismatches, f"rendered output differs from tests/golden: {mismatches}"
