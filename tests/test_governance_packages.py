"""Policies as shared code: a baseline policy published as a Python package, installed by pip and
found through the `gates.policies` entry-point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, VULNERABLE_CODE, Repo, pip_install_copy

POLICY_PACKAGE = REPO_ROOT / "tests" / "policy_package"


def gates(*args: str | Path, site: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    today = "1780272000"  # pragma: allowlist pii; 2026-06-01T00:00:00Z
    env = {**os.environ, "PYTHONPATH": str(site), "SOURCE_DATE_EPOCH": today}
    return subprocess.run(
        [sys.executable, "-m", "gates", *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd
    )


@pytest.fixture(scope="module")
def policy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example policy package, installed by pip like an organisation's."""
    return pip_install_copy(POLICY_PACKAGE, tmp_path_factory.mktemp("policies"))


def test_a_repository_extends_the_packaged_baseline(
    policy_site: Path, make_repo: Callable[..., Repo]
) -> None:
    code = VULNERABLE_CODE.replace("shell=True)", "shell=True)  # nosec B602")
    repo = make_repo({"run.py": code})
    repo.write(
        "gates.yaml",
        """\
        version: 1
        extends: acme-baseline
        waivers:
          - {gate: sast, rule: B404, reason: needed, owner: team, expires: 2027-06-01}
        """,
    )
    proc = gates("run", repo.root, site=policy_site)
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text())
    # The package turned inline suppressions off: bandit reports the `# nosec` line (high).
    assert proc.returncode == 1, proc.stderr
    sast = next(g for g in verdict["gates"] if g["name"] == "sast")
    assert {f["rule"] for f in sast["findings"]} == {"B404", "B602"}
    # ...and caps waivers at 90 days: a year ahead is not applied.
    assert verdict["waivers"][0]["status"] == "too_long"
    assert verdict["policy"]["required_gates"] == ["sast"]
    assert verdict["policy"]["governance"]["max_waiver_days"] == 90
    shown = gates("policy", "show", "acme-baseline", site=policy_site, cwd=repo.root)
    assert shown.returncode == 0, shown.stderr
    assert "source: package:acme-baseline@acme-gates-policies==1.2.0" in shown.stdout


def test_unknown_and_ambiguous_policy_names_are_errors(
    policy_site: Path, tmp_path: Path, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo({"gates.yaml": "version: 1\nextends: acme-nope\n"})
    proc = gates("policy", "validate", repo.root / "gates.yaml", site=policy_site)
    assert proc.returncode == 2
    assert "unknown policy 'acme-nope' (shipped: default, strict; from packages" in proc.stderr
    assert "acme-baseline" in proc.stderr
    # A second distribution registering the same name makes it ambiguous: never a silent pick.
    dist = tmp_path / "other" / "other_policies-2.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: other-policies\nVersion: 2.0\n")
    (dist / "entry_points.txt").write_text("[gates.policies]\nacme-baseline = other:BASELINE\n")
    env_site = f"{policy_site}{os.pathsep}{tmp_path / 'other'}"
    proc = gates("policy", "validate", "acme-baseline", site=Path(env_site))
    assert proc.returncode == 2
    assert (
        "policy 'acme-baseline' is provided by several packages: "
        "acme-gates-policies==1.2.0, other-policies==2.0" in proc.stderr
    )
