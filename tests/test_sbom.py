"""The sbom gate: real cyclonedx-py on small projects, CycloneDX validation, policy rules."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.errors import InputError
from gates.plugins.interface import CollectContext
from gates.plugins.sbom import SbomGate
from gates.sbom.generate import resolve_source
from gates.sbom.provide import provide
from gates.sbom.read import parse_sbom
from tests.conftest import CliResult


def _project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _run(run_cli: Callable[..., CliResult], root: Path, *only: str) -> tuple[CliResult, dict[str, Any]]:
    args = [a for gate in only for a in ("--only", gate)]
    result = run_cli("run", root, *args, "--out", root / "out", "--no-cache")
    verdict_file = root / "out" / "verdict.json"
    verdict = json.loads(verdict_file.read_text(encoding="utf-8")) if verdict_file.exists() else {}
    return result, verdict


def _findings(verdict: dict[str, Any], gate: str) -> list[dict[str, Any]]:
    return next(g for g in verdict["gates"] if g["name"] == gate)["findings"]


def _cdx(components: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components, **extra}
    )


def test_requirements_sbom_is_generated_validated_and_kept_as_an_artefact(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    policy = """\
        version: 1
        gates:
          sbom:
            banned:
              - {purl: "pkg:pypi/pycrypto@*", reason: unmaintained}
              - {name: Requests, versions: "<2.20"}
    """
    root = _project(
        tmp_path / "app",
        {
            "requirements.txt": "jinja2==3.1.4\npycrypto==2.6.1\nrequests==2.19.0\nflask>=2\n",
            "gates.yaml": policy,
        },
    )
    result, verdict = _run(run_cli, root, "sbom")
    assert result.code == 1, result.err
    found = sorted((f["rule"], f["location"]["logical"]) for f in _findings(verdict, "sbom"))
    assert found == [
        ("component-banned", "pkg:pypi/pycrypto@2.6.1"),
        ("component-banned", "pkg:pypi/requests@2.19.0"),
        ("component-no-version", "pkg:pypi/flask"),
    ]
    artefact = parse_sbom((root / "out" / "sbom.cdx.json").read_bytes(), "artefact")
    assert artefact.problem is None and artefact.spec_version == "1.6"
    assert {c.purl for c in artefact.components} >= {"pkg:pypi/jinja2@3.1.4", "pkg:pypi/pycrypto@2.6.1"}


def test_a_corrupt_sbom_file_is_exit_2_with_a_clear_message(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    root = _project(
        tmp_path / "app",
        {
            "bom.json": '{"bomFormat": "CycloneDX", "specVersion": "1.6",\n  "components": [\n',
            "gates.yaml": "version: 1\ngates:\n  sbom: {sbom: {file: bom.json}}\n",
        },
    )
    result, _ = _run(run_cli, root, "sbom")
    assert result.code == 2
    assert "bom.json:3: not valid JSON" in result.err
    (root / "bom.json").write_text('{"spdxVersion": "SPDX-2.3"}', encoding="utf-8")
    result, _ = _run(run_cli, root, "sbom")
    assert (result.code, "not a CycloneDX SBOM" in result.err) == (2, True)


def test_an_sbom_that_breaks_the_schema_is_a_high_finding(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    bad = _cdx([{"type": "library", "name": "x", "version": 3}])
    root = _project(
        tmp_path / "app",
        {"bom.json": bad, "gates.yaml": "version: 1\ngates:\n  sbom: {sbom: {file: bom.json}}\n"},
    )
    result, verdict = _run(run_cli, root, "sbom")
    assert result.code == 1
    [invalid] = [f for f in _findings(verdict, "sbom") if f["rule"] == "sbom-invalid"]
    assert invalid["severity"] == "high" and "components/0/version" in invalid["message"]


def test_an_sbom_from_another_tool_with_licence_coverage(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    bom = _cdx(
        [
            {
                "type": "library",
                "name": "left-pad",
                "version": "1.3.0",
                "purl": "pkg:npm/left-pad@1.3.0",
                "licenses": [{"license": {"id": "WTFPL"}}],
            },
            {
                "type": "library",
                "group": "org.example",
                "name": "core",
                "version": "2.0",
                "purl": "pkg:maven/org.example/core@2.0",
            },
        ]
    )
    policy = "version: 1\ngates:\n  sbom: {sbom: {file: bom.json}, min_licence_share: 0.9, fail_on: medium}\n"
    root = _project(tmp_path / "app", {"bom.json": bom, "gates.yaml": policy})
    result, verdict = _run(run_cli, root, "sbom")
    assert result.code == 1
    [coverage] = _findings(verdict, "sbom")
    assert coverage["rule"] == "licence-coverage" and coverage["properties"]["share"] == 0.5


POETRY_PYPROJECT = """\
    [tool.poetry]
    name = "demo"
    version = "0.1.0"
    description = ""
    authors = ["A <a@example.com>"]

    [tool.poetry.dependencies]
    python = "^3.10"
    jinja2 = "2.10"
"""

POETRY_LOCK = """\
    [[package]]
    name = "jinja2"
    version = "2.10"
    description = ""
    optional = false
    python-versions = "*"
    files = []

    [metadata]
    lock-version = "2.0"
    python-versions = "^3.10"
    content-hash = "x"
"""


def test_poetry_lock_is_read_offline(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "app",
        {
            "pyproject.toml": POETRY_PYPROJECT,
            "poetry.lock": POETRY_LOCK,
        },
    )
    assert resolve_source(root, {}).kind == "poetry"
    ctx = CollectContext(root=root, settings={}, out_dir=root / "out", deadline=time.monotonic() + 120)
    sbom = provide(ctx).sbom
    assert [c.purl for c in sbom.components] == ["pkg:pypi/jinja2@2.10"]


def test_auto_source_prefers_lock_files_then_requirements_then_pyproject(tmp_path: Path) -> None:
    root = _project(tmp_path / "app", {})
    assert resolve_source(root, {}).kind == "none"  # no manifest: no dependency, not the environment
    ctx = CollectContext(root=root, settings={}, out_dir=root / "out", deadline=time.monotonic() + 120)
    empty = SbomGate().collect(ctx)
    assert empty.stats["components"] == 0 and empty.stats["valid"]
    _project(root, {"pyproject.toml": "[project]\nname='x'\nversion='1'\n"})
    assert resolve_source(root, {}).kind == "pyproject"
    _project(root, {"requirements.txt": "x==1\n"})
    assert resolve_source(root, {}).kind == "requirements"
    _project(root, {"Pipfile.lock": "{}"})
    assert resolve_source(root, {}).kind == "pipenv"
    with pytest.raises(InputError, match=r"reqs/prod\.txt does not exist"):
        resolve_source(root, {"source": "requirements", "path": "reqs/prod.txt"})


def test_one_run_generates_the_sbom_once_for_all_gates(tmp_path: Path) -> None:
    root = _project(tmp_path / "app", {"requirements.txt": "jinja2==3.1.4\n"})
    ctx = CollectContext(root=root, settings={}, out_dir=root / "out", deadline=time.monotonic() + 120)
    first = provide(ctx).sbom
    assert provide(ctx).sbom is first
    (root / "requirements.txt").write_text("jinja2==3.1.3\n", encoding="utf-8")
    assert [c.version for c in provide(ctx).sbom.components] == ["3.1.3"]
    assert SbomGate().cache_key(ctx) != SbomGate().cache_key(
        CollectContext(
            root=root,
            settings={"sbom": {"spec_version": "1.5"}},
            out_dir=root,
            deadline=time.monotonic() + 60,
        )
    )
