"""The shipped CI definitions against the CI systems' own schemas (check-jsonschema's vendored
copies), and the generated GitLab child pipeline too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gates.commands import gitlab_child
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("check-jsonschema") is None, reason="needs check-jsonschema (pip install check-jsonschema)"
)

CASES = [
    ("vendor.github-actions", "action.yml", None),
    ("vendor.github-workflows", "pipelines/github/gates.yml", None),
    ("vendor.gitlab-ci", ".gitlab-ci-template.yml", "gitlab-ci"),
    ("vendor.azure-pipelines", "pipelines/azure/azure-pipelines.yml", "azure-pipelines"),
]


def check(schema: str, path: Path, transform: str | None) -> subprocess.CompletedProcess[str]:
    command = ["check-jsonschema", "--builtin-schema", schema, str(path)]
    if transform:
        command += ["--data-transform", transform]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize(("schema", "rel", "transform"), CASES, ids=[c[1] for c in CASES])
def test_shipped_definition_is_valid(schema: str, rel: str, transform: str | None) -> None:
    result = check(schema, REPO_ROOT / rel, transform)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schemas_catch_a_broken_definition(tmp_path: Path) -> None:
    broken = tmp_path / "action.yml"
    text = (REPO_ROOT / "action.yml").read_text().replace("using: composite", "using: kubernetes")
    broken.write_text(text)
    assert check("vendor.github-actions", broken, None).returncode == 1


def test_generated_gitlab_child_pipeline_is_valid(tmp_path: Path) -> None:
    (tmp_path / "gates.yaml").write_text("version: 1\ngates:\n  sast: {}\n")
    child = tmp_path / "child.yml"
    plan = subprocess.run(
        [sys.executable, "-m", "gates", "plan", str(tmp_path), "--format", "gitlab"],
        capture_output=True, text=True, check=True,
    )
    child.write_text(plan.stdout)
    result = check("vendor.gitlab-ci", child, "gitlab-ci")
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_manifest_is_valid() -> None:
    result = subprocess.run(
        ["pre-commit", "validate-manifest", str(REPO_ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_and_child_pipeline_share_their_defaults() -> None:
    """The child pipeline's variables apply when it runs alone; included from the template, the
    template's (the same values) are forwarded to it."""
    template = yaml.safe_load((REPO_ROOT / ".gitlab-ci-template.yml").read_text())
    assert {k: template["variables"][k] for k in gitlab_child.VARIABLES} == gitlab_child.VARIABLES
