"""Shared fixtures: real git repositories in temporary folders, and the CLI driven in-process."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gates.cli import main
from gates.util import digests
from gates.util.git import BRANCH_VARIABLES

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
SHARED_BOMS = SHARED_DIR / "data" / "boms"
needs_shared_boms = pytest.mark.skipif(
    not SHARED_BOMS.is_dir(), reason="../shared/data/boms (real SBOMs) is absent"
)

# Every git call in the tests sees the same identity, dates and no user configuration.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


NO_SKIP_ENV = "GATES_NO_SKIP"
"""Set by .ci/run: CI has every client and ../shared, so a test that skips there is a failure."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(NO_SKIP_ENV) and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but {NO_SKIP_ENV} is set (CI runs every test): {reason}"


@pytest.fixture(scope="session")
def _osv_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Parsed OSV databases, shared by the session's tests: not the user's folder, which keeps only
    a few and would lose theirs to the suite's."""
    return tmp_path_factory.mktemp("osv-index")


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, _osv_index_dir: Path
) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    # Each test has a collect cache of its own, outside every repository it makes.
    monkeypatch.setenv("GATES_CACHE_DIR", str(tmp_path_factory.mktemp("gates-cache")))
    monkeypatch.setenv("GATES_OSV_INDEX_DIR", str(_osv_index_dir))
    monkeypatch.delenv("GATES_CACHE_KEY", raising=False)
    for key in BRANCH_VARIABLES:  # tests must not inherit the host CI's branch
        monkeypatch.delenv(key, raising=False)
    # the licence gate looks licences up on the index pip is configured with: in tests, nowhere
    # (a closed loopback port) unless a test serves one
    monkeypatch.setenv("GATES_PYPI_INDEX_URL", "http://127.0.0.1:9/simple/")


@pytest.fixture
def settled_at_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep digests of files that changed a moment ago (the tests' files all did), and start from
    no store in memory."""
    monkeypatch.setattr(digests, "SETTLED_NS", 0)
    digests._stores.clear()
    yield
    digests._stores.clear()


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout.strip()


@dataclass
class Repo:
    root: Path

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def commit(self, message: str = "change") -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.root, "rev-parse", "HEAD")

    def git(self, *args: str) -> str:
        return git(self.root, *args)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Repo]:
    """A factory of real git repositories: make_repo({"a.py": "..."}, branch="main")."""
    counter = iter(range(1000))

    def factory(files: Mapping[str, str] | None = None, branch: str = "main") -> Repo:
        root = tmp_path / f"repo{next(counter)}"
        root.mkdir()
        git(root, "init", "-q", "-b", branch)
        repo = Repo(root)
        for rel, text in (files or {}).items():
            repo.write(rel, text)
        repo.commit("initial")
        return repo

    return factory


def pip_install_copy(source: Path, tmp: Path) -> Path:
    """Install a package of the tests with pip into a folder of its own and return that folder, for
    PYTHONPATH. It is built from a copy, so no build artefacts land in the source tree, and offline:
    no build isolation, no dependencies."""
    copy = tmp / "src" / source.name
    shutil.copytree(source, copy)
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(copy)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return site


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., CliResult]]:
    """Run `gates ARGS...` in-process and return its exit code and output."""

    def runner(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield runner


VULNERABLE_CODE = """\
import subprocess


def run(command):
    subprocess.call(command, shell=True)
"""

CLEAN_CODE = """\
def add(a, b):
    return a + b
"""


# --- two releases through a CI template --------------------------------------------------------

V1_TAG = "v1.0.0"


def next_release_requirements() -> str:
    """The dependency a project's second release adds in the CI template tests: gates' own click,
    at the version installed here, so its licence is known offline (installed metadata) and none of
    the tests' OSV records names it: the release passes, and its verdict records the change."""
    return f"click=={importlib.metadata.version('click')}\n"


def assert_first_release(verdict: Mapping[str, Any]) -> None:
    """A template's first release (`--since auto` with nothing before it) says so in its verdict."""
    delta = verdict["delta"]
    assert delta["since"] is None and delta["components"] is None, delta
    assert delta["reason"].startswith("no earlier release"), delta


def assert_changed_since_v1(verdict: Mapping[str, Any], report: str) -> None:
    """The verdict (merged from the template's jobs) and its Markdown report carry the delta of the
    second release: click is new since v1.0.0, no advisory either way."""
    delta = verdict["delta"]
    assert delta["since"] == V1_TAG, delta
    assert [(a["name"], a["version"]) for a in delta["components"]["added"]] == [
        ("click", importlib.metadata.version("click"))
    ], delta
    assert delta["components"]["removed"] == delta["components"]["changed"] == []
    assert delta["vulnerabilities"] == {"introduced": 0, "disclosed": 0}
    sbom = next(g for g in verdict["gates"] if g["name"] == "sbom")
    assert sbom["stats"]["delta"] == {
        "since": V1_TAG,
        "added": 1,
        "removed": 0,
        "changed": 0,
        "downgraded": 0,
    }
    assert f"### What changed since {V1_TAG}" in report and "| click |" in report


# --- supply chain: a local OSV mirror on loopback -------------------------------------------------

OSV_FIXTURES = REPO_ROOT / "tests" / "data" / "osv"
OSV_SHARED_SAMPLE = SHARED_DIR / "data" / "osv-pypi-sample"


@pytest.fixture(scope="session")
def osv_database_dir() -> Path:
    """Real PyPA advisories from ../shared when present, else the tests' own small records."""
    return OSV_SHARED_SAMPLE if OSV_SHARED_SAMPLE.is_dir() else OSV_FIXTURES


def _serve(directory: Path) -> Iterator[str]:
    from gates.osv.mirror import OsvDatabase, serving

    with serving(OsvDatabase.load(directory)) as url:
        yield url


@pytest.fixture(scope="session")
def osv_mirror(osv_database_dir: Path) -> Iterator[str]:
    """Base URL of an OSV mirror (127.0.0.1, free port) serving `osv_database_dir`."""
    yield from _serve(osv_database_dir)


@pytest.fixture(scope="session")
def osv_fixture_mirror() -> Iterator[str]:
    """Base URL of an OSV mirror serving only the tests' own records (tests/data/osv)."""
    yield from _serve(OSV_FIXTURES)
