"""The licence gate: real cyclonedx-py on a real (tiny) virtual environment, license-expression."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.model import Finding, Location, Severity
from gates.plugins.licence import LicenceGate
from gates.sbom import licences
from tests.conftest import CliResult

# name -> the licence metadata lines of its installed METADATA
INSTALLED = {
    "gplthing": "License: GPL-3.0-only\n",
    "dual": "License-Expression: MIT OR GPL-3.0-only\n",
    "permissive": "License-Expression: Apache-2.0\n",
    "mystery": "Classifier: License :: Other/Proprietary License\n",
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment whose distributions are installed by writing their metadata."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    for name, licence in INSTALLED.items():
        info = Path(purelib) / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{licence}", encoding="utf-8"
        )
    return python


def _run(run_cli: Callable[..., CliResult], root: Path, policy: str) -> tuple[int, dict[str, dict[str, Any]]]:
    (root / "gates.yaml").write_text(textwrap.dedent(policy), encoding="utf-8")
    result = run_cli("run", root, "--only", "licence", "--out", root / "out", "--no-cache")
    verdict = json.loads((root / "out" / "verdict.json").read_text(encoding="utf-8"))
    [gate] = verdict["gates"]
    return result.code, {f["location"]["logical"]: f for f in gate["findings"]}


def test_copyleft_denied_or_branch_allowed_unknown_warned(
    tmp_path: Path, run_cli: Callable[..., CliResult], venv: Path
) -> None:
    policy = f"""\
        version: 1
        gates:
          licence:
            sbom: {{source: environment, python: "{venv}"}}
            deny_categories: [Copyleft]
            unknown: warn
    """
    code, found = _run(run_cli, tmp_path, policy)
    assert code == 1
    assert set(found) == {"pkg:pypi/gplthing@1.0", "pkg:pypi/mystery@1.0"}
    gpl = found["pkg:pypi/gplthing@1.0"]
    assert (gpl["rule"], gpl["severity"]) == ("licence-denied", "high")
    assert "Copyleft" in gpl["message"]
    mystery = found["pkg:pypi/mystery@1.0"]
    assert (mystery["rule"], mystery["severity"], mystery["properties"]["decides"]) == (
        "licence-unknown",
        "medium",
        "warn",
    )
    # `dual` (MIT OR GPL-3.0-only) passes: one branch is allowed.


def test_a_waiver_on_the_purl_lets_the_gpl_component_through(
    tmp_path: Path, run_cli: Callable[..., CliResult], venv: Path
) -> None:
    policy = f"""\
        version: 1
        gates:
          licence:
            sbom: {{source: environment, python: "{venv}"}}
            deny_categories: [Copyleft]
            unknown: ignore
        waivers:
          - {{gate: licence, rule: licence-denied, path: "pkg:pypi/gplthing@*", reason: internal tool,
              owner: legal, expires: 2999-01-01}}
    """
    code, found = _run(run_cli, tmp_path, policy)
    assert code == 0
    assert found["pkg:pypi/gplthing@1.0"]["waived"] is not None


def test_allow_list_and_project_compatibility(
    tmp_path: Path, run_cli: Callable[..., CliResult], venv: Path
) -> None:
    policy = f"""\
        version: 1
        gates:
          licence:
            sbom: {{source: environment, python: "{venv}"}}
            allow: [MIT]
            unknown: ignore
    """
    code, found = _run(run_cli, tmp_path, policy)
    assert code == 1
    assert {k: f["rule"] for k, f in found.items()} == {
        "pkg:pypi/gplthing@1.0": "licence-not-allowed",
        "pkg:pypi/permissive@1.0": "licence-not-allowed",
    }
    compat = f"""\
        version: 1
        gates:
          licence:
            sbom: {{source: environment, python: "{venv}"}}
            check_project: true
            project_license: Apache-2.0
            unknown: ignore
    """
    code, found = _run(run_cli, tmp_path, compat)
    assert code == 1
    assert {k: f["rule"] for k, f in found.items()} == {"pkg:pypi/gplthing@1.0": "licence-incompatible"}


def _judge(expression: str, **settings: Any) -> str:
    gate = LicenceGate()
    record = licences.normalise([expression])
    finding = Finding(
        gate="licence",
        rule="component",
        severity=Severity.INFO,
        message="",
        location=Location(logical="pkg:pypi/x@1"),
        fingerprint="f",
        properties={
            "name": "x",
            "version": "1",
            "declared": [expression],
            "expression": record.expression,
            "error": record.error,
        },
    )
    kept = gate.evaluate([finding], {"unknown": "fail", **settings})
    return kept[0].rule if kept else "allowed"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("MIT OR GPL-3.0-only", "allowed"),
        ("GPL-3.0-only OR AGPL-3.0-only", "licence-denied"),
        ("MIT AND GPL-3.0-only", "licence-denied"),
        ("Apache-2.0 AND (MIT OR GPL-2.0-or-later)", "allowed"),
        ("GPL-2.0+", "licence-denied"),  # deprecated id, normalised to GPL-2.0-or-later
        ("LGPL-2.1-only", "allowed"),  # Copyleft Limited, not Copyleft
        ("GPL-2.0-only WITH Classpath-exception-2.0", "licence-denied"),
        ("MIT OR LicenceRef-Mystery", "allowed"),
        ("GPL-3.0-only OR LicenseRef-Mystery", "licence-unknown"),
        ("MIT AND (", "licence-unknown"),  # unparseable
    ],
)
def test_expressions_under_deny_copyleft(expression: str, expected: str) -> None:
    assert _judge(expression, deny_categories=["Copyleft"]) == expected


def test_explicit_deny_and_allow_beat_categories() -> None:
    assert _judge("MIT", deny=["mit"]) == "licence-denied"
    assert _judge("GPL-3.0-only", deny_categories=["Copyleft"], allow=["GPL-3.0-only"]) == "allowed"


@pytest.mark.parametrize(("unknown", "status"), [("warn", "warn"), ("fail", "fail"), ("ignore", "pass")])
def test_unknown_decides_the_status_whatever_the_thresholds(
    tmp_path: Path, run_cli: Callable[..., CliResult], venv: Path, unknown: str, status: str
) -> None:
    policy = f"""\
        version: 1
        gates:
          licence:
            sbom: {{source: environment, python: "{venv}"}}
            unknown: {unknown}
            fail_on: critical
            warn_on: none
    """
    _run(run_cli, tmp_path, policy)
    verdict = json.loads((tmp_path / "out" / "verdict.json").read_text(encoding="utf-8"))
    [gate] = verdict["gates"]
    assert gate["status"] == status
    if unknown != "ignore":
        assert "policy makes" in gate["reason"]
        assert [f["location"]["logical"] for f in gate["findings"]] == ["pkg:pypi/mystery@1.0"]
