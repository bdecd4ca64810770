"""Running a gate's tool as a subprocess, so that every gate fails the same way.

A missing tool raises ToolMissing, a timeout or an unexpected exit code raises GateError with the
tool's last line of stderr; the process group is killed on timeout so no child outlives its gate.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gates.errors import GateError, ToolMissing

# `python -m` puts the working folder, the scanned repository, first on sys.path: a committed
# `bandit/` package would run instead of bandit and report nothing. -P (3.11) leaves it out; -I
# (isolated mode) does too on older Pythons.
_SAFE_PATH = "-P" if sys.version_info >= (3, 11) else "-I"


def python_tool(module: str, distribution: str) -> list[str]:
    """The argv prefix that runs a Python tool installed beside gates (`python -m module`), never
    a module of the same name in the working folder."""
    if importlib.util.find_spec(module) is None:
        raise ToolMissing(
            f"{distribution} is not installed: pip install '{distribution}' "
            f"(or install governance-gates with its extras)"
        )
    return [sys.executable, _SAFE_PATH, "-m", module]


def executable(name: str, distribution: str) -> list[str]:
    """The argv prefix for a console script, preferring the one in this interpreter's environment."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} not found: pip install '{distribution}'")
    return [found]


def distribution_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def last_line(stderr: str) -> str:
    """The last non-empty line a tool wrote: its error message, or a traceback's final line."""
    last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
    return last.strip()[:300]


def refuse_traceback(name: str, stderr: str) -> None:
    """A GateError when a tool's stderr holds a Python traceback. Tools that exit 1 for findings
    exit 1 for a crash too; whatever report the crashed run left is not to be believed."""
    if "Traceback (most recent call last)" in stderr:
        raise GateError(f"{name} crashed: {last_line(stderr)}")


def run_tool(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    ok_codes: Sequence[int] = (0,),
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    name = argv[argv.index("-m") + 1] if argv[0] == sys.executable and "-m" in argv else Path(argv[0]).name
    if timeout <= 0:
        raise GateError(f"{name}: no time left before the gate's timeout")
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            # PYTHONSAFEPATH: a Python the tool starts (`python -c`, `python -m`, a build
            # backend) imports nothing from its working folder, often the repository.
            env={**os.environ, **(env or {}), "PYTHONSAFEPATH": "1"},
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise ToolMissing(f"{name} not found: {e}") from e
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise GateError(f"{name} timed out after {timeout:.0f}s") from e
    if proc.returncode not in ok_codes:
        raise GateError(f"{name} exited with {proc.returncode}: {last_line(err)}")
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)


def run_tools_parallel(
    argvs: Sequence[Sequence[str]],
    *,
    timeout: float,
    workers: int,
    cwd: Path | None = None,
    ok_codes: Sequence[int] = (0,),
) -> list[subprocess.CompletedProcess[str]]:
    """Run several invocations of a tool at once (shards of one scan); results in argv order."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_tool, argv, timeout=timeout, cwd=cwd, ok_codes=ok_codes) for argv in argvs]
        return [f.result() for f in futures]
