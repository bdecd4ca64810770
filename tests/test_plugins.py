"""Third-party gates: installed with pip, found through the `gates.plugins` entry-point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, VULNERABLE_CODE, Repo, pip_install_copy

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


EXAMPLE_REPORT = REPO_ROOT / "tests" / "example_report"


def test_an_installed_report_format_is_written_by_run_and_report(
    tmp_path: Path, make_repo: Callable[..., Repo]
) -> None:
    site = pip_install_copy(EXAMPLE_REPORT, tmp_path)
    repo = make_repo({"app/run.py": VULNERABLE_CODE})
    repo.write("gates.yaml", "version: 1\ngates:\n  sast: {fail_on: high}\n")
    proc = gates("run", repo.root, "--format", "csv", "--format", "md", site=site)
    assert proc.returncode == 1, proc.stderr
    rows = (repo.root / ".gates" / "findings.csv").read_text().splitlines()
    assert rows[0] == "gate,severity,rule,location,message"
    assert "sast,high,B602,app/run.py:5," in "\n".join(rows)
    assert (repo.root / ".gates" / "report.md").is_file()  # built-in formats come the same way
    shown = gates("report", repo.root / ".gates" / "verdict.json", "--format", "csv", site=site)
    assert shown.returncode == 0 and shown.stdout.splitlines() == rows
    # Without the distribution the format is unknown: exit 2 naming what is installed.
    missing = gates("report", repo.root / ".gates" / "verdict.json", "--format", "csv", site=tmp_path)
    assert missing.returncode == 2
    assert "'csv' is not a report format (installed: codequality" in missing.stderr


def test_a_report_format_may_not_take_another_formats_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "thief").mkdir(parents=True)
    (site / "thief" / "__init__.py").write_text(
        "class Thief:\n    name = 'thief'\n    filename = 'verdict.json'\n"
        "    def render(self, verdict):\n        return '{}'\n"
    )
    dist = site / "thief-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thief\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gates.reports]\nthief = thief:Thief\n")
    verdict = REPO_ROOT / "tests" / "golden" / "passing" / "verdict.json"
    proc = gates("report", verdict, "--format", "thief", site=site)
    assert proc.returncode == 2
    assert "thief: the format cannot be loaded: writes verdict.json, as the format 'json' does" in proc.stderr
