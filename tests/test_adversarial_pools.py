"""The processes the gates' pools start run nothing of the repository's: multiprocessing starts its
fork server (pii) and its spawned workers (secrets) with `python -c`, which puts the working folder
(in CI, the repository) first on sys.path while they import multiprocessing and, in the fork
server, everything the pool preloads (Presidio, spaCy)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from gates.pii import scan as scan_module
from gates.plugins.pii import scan_config
from gates.util.files import select_files
from tests.conftest import Repo

# A committed package that shadows the standard library's: it notes that it ran, then hands over
# to the real one, so that the run goes on as if nothing happened.
SHADOW = """\
import importlib, os, sys
with open({mark!r}, "a") as f:
    f.write(f"{{os.getpid()}} {{sys.argv}}\\n")
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
del sys.modules[__name__]
sys.modules[__name__] = importlib.import_module(__name__)
"""
LINE = "the quick brown fox jumps over the lazy dog\n"


@pytest.mark.parametrize(("gate", "files"), [("pii", 11), ("secrets", 1)])
def test_a_committed_module_never_runs_in_a_pool_worker(
    gate: str, files: int, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    # Enough text for each gate to share its work between processes (pii: 10 MB, secrets: 0.5 MB).
    mark = tmp_path / "ran"
    padding = {f"text/t{i}.txt": LINE * (1_000_000 // len(LINE)) for i in range(files)}
    policy = f"version: 1\ngates:\n  {gate}: {{jobs: 2}}\n"
    repo = make_repo(
        {**padding, "multiprocessing/__init__.py": SHADOW.format(mark=str(mark)), "gates.yaml": policy}
    )
    out = tmp_path / "out"
    # As CI runs it: from the repository's folder.
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "run", ".", "--no-cache", "--out", str(out), "--format", "json"],
        cwd=repo.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    (result,) = [g for g in verdict["gates"] if g["name"] == gate]
    assert result["status"] == "pass" and result["stats"].get("processes", 2) == 2, result
    assert not mark.exists(), mark.read_text()


def test_the_policys_benchmark_runs_with_the_environment_as_given(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    # The command protects the processes it starts from the repository's modules; a benchmark is
    # the repository's own code and imports its modules from beside its script, as by hand.
    seen = tmp_path / "seen"
    bench = f"import helper, os\nopen({str(seen)!r}, 'w').write(repr(os.environ.get('PYTHONSAFEPATH')))\n"
    policy = (
        "version: 1\ngates:\n  performance:\n    baseline_required: false\n"
        f"    command: {{argv: [{json.dumps(sys.executable)}, bench/run.py], runs: 1, warmup: 0}}\n"
    )
    repo = make_repo({"bench/run.py": bench, "bench/helper.py": "", "gates.yaml": policy})
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "run", ".", "--out", str(tmp_path / "out")],
        cwd=repo.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert seen.read_text() == "None"


def test_the_text_a_pii_pool_holds_stays_within_its_bound(
    make_repo: Callable[..., Repo], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `x@a ` is an e-mail candidate every four characters: the pre-filter's record of a text's
    # candidates takes many times the text's own size. What this process holds while the workers
    # scan (the texts waiting, and those handed over but not finished) is bounded by HELD_BYTES of
    # what it hands over, not of the texts alone.
    repo = make_repo({f"t{i}.txt": "x@a " * 25_000 for i in range(40)})  # 4 MB
    held = 1_000_000
    monkeypatch.setattr(scan_module, "HELD_BYTES", held)
    files = select_files(repo.root).files
    tracemalloc.start()
    try:
        result = scan_module._scan_shared(files, scan_config({}), 2, time.monotonic() + 300)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.files, result.presidio_files, result.hits) == (40, 40, [])
    assert peak < 16 * held, peak


def test_the_fork_servers_own_module_changes_nothing_in_another_process() -> None:
    # In the fork server it turns the collector off and ends the process without teardown, with
    # status 0; imported anywhere else (a documentation tool, a future import), it must not hide
    # the command's exit status.
    code = "import gc, gates.util.fork_server; print(gc.isenabled()); raise SystemExit(3)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (3, "True"), done.stderr
