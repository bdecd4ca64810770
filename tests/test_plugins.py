"""Third-party gates: installed with pip, found through the `gates.plugins` entry-point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, Repo, pip_install_copy

EXAMPLE_PLUGIN = REPO_ROOT / "tests" / "example_plugin"


def gates(*args: str | Path, site: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "CI": "true"}
    return subprocess.run(
        [sys.executable, "-m", "gates", *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd
    )


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin, installed by pip like a third party's."""
    return pip_install_copy(EXAMPLE_PLUGIN, tmp_path_factory.mktemp("plugin"))


def test_installed_plugin_is_listed_and_runs_under_the_policy(
    plugin_site: Path, make_repo: Callable[..., Repo]
) -> None:
    listing = json.loads(gates("list", "--json", site=plugin_site).stdout)
    todo = next(g for g in listing["gates"] if g["name"] == "todo")
    assert todo["provided_by"] == "gates-example-todo 0.1.0"
    assert any(g["name"] == "sast" for g in listing["gates"])  # built-ins come the same way

    repo = make_repo({"app.py": "x = 1  # FIXME: overflow\n# TODO tidy\n"})
    repo.write(
        "gates.yaml", "version: 1\ngates:\n  todo: {fail_on: medium, markers: [FIXME], include: ['*.py']}\n"
    )
    proc = gates("run", repo.root, site=plugin_site)
    assert proc.returncode == 1, proc.stderr
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text())
    (gate,) = verdict["gates"]
    assert [(f["rule"], f["location"]["line"]) for f in gate["findings"]] == [("FIXME", 1)]
    # Its own settings are validated like a built-in gate's.
    repo.write("gates.yaml", "version: 1\ngates:\n  todo: {markers: [XXX]}\n")
    proc = gates("run", repo.root, site=plugin_site)
    assert proc.returncode == 2 and "gates.yaml:3: gates.todo.markers[0]" in proc.stderr


def test_a_plugin_that_fails_to_load_is_reported_and_errors_when_enabled(
    tmp_path: Path, make_repo: Callable[..., Repo]
) -> None:
    site = tmp_path / "site"
    dist = site / "broken_gate-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-gate\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gates.plugins]\nbroken = no_such_module:Gate\n")
    listing = gates("list", site=site)
    assert "broken           BROKEN   ModuleNotFoundError" in listing.stdout
    repo = make_repo({"gates.yaml": "version: 1\ngates:\n  broken: {}\n"})
    proc = gates("run", repo.root, site=site)
    assert proc.returncode == 3
    (gate,) = json.loads((repo.root / ".gates" / "verdict.json").read_text())["gates"]
    assert gate["status"] == "error" and "ModuleNotFoundError" in gate["reason"]
