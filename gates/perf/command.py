"""Measuring a command: N timed runs after warm-up, wall time and peak memory of each run.

Peak memory is the child's own maximum resident set size from `os.wait4`, not a
`getrusage(RUSAGE_CHILDREN)` delta: the engine runs gates in parallel, and RUSAGE_CHILDREN mixes in
every other gate's tools (and only ever grows, so a smaller run would not show).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gates.errors import GateError
from gates.perf.inputs import Metric
from gates.util.safe_path import given_environment

# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
_MAXRSS_TO_BYTES = 1 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class Run:
    wall_s: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class CommandSpec:
    name: str
    argv: tuple[str, ...]
    runs: int
    warmup: int
    cwd: Path


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the run ended just as the timer fired
        os.killpg(pgid, signal.SIGKILL)


def run_once(argv: Sequence[str], cwd: Path, timeout: float) -> Run:
    """One run of the command; GateError if it cannot start, fails or outlives `timeout`."""
    if not hasattr(os, "wait4"):
        raise GateError("performance command mode needs a POSIX system (os.wait4)")
    if timeout <= 0:
        raise GateError(f"{argv[0]}: no time left before the gate's timeout")
    # stderr goes to a file: an unread pipe could fill while we block in wait4 and hang the child.
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=given_environment(),  # the repository's own code, run as the policy says
                start_new_session=True,
            )
        except OSError as e:
            raise GateError(f"cannot run {argv[0]}: {e.strerror or e}") from e
        killer = threading.Timer(timeout, _kill_group, (proc.pid,))
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode == -signal.SIGKILL and wall >= timeout:
            raise GateError(f"{argv[0]} timed out after {timeout:.3g}s")
        if proc.returncode != 0:
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            raise GateError(f"{argv[0]} exited with {proc.returncode}: {(lines[-1] if lines else '')[:300]}")
    return Run(wall_s=wall, peak_rss_bytes=usage.ru_maxrss * _MAXRSS_TO_BYTES)


def measure(spec: CommandSpec, deadline: float) -> list[Metric]:
    """`<name>` (wall time, s) and `<name>.peak_memory` (bytes) over the timed runs."""
    runs = []
    for index in range(spec.warmup + spec.runs):
        run = run_once(spec.argv, spec.cwd, deadline - time.monotonic())
        if index >= spec.warmup:
            runs.append(run)
    source = f"command: {' '.join(spec.argv)}"
    return [
        Metric.from_samples(spec.name, "s", [r.wall_s for r in runs], source),
        Metric.from_samples(
            f"{spec.name}.peak_memory", "bytes", [float(r.peak_rss_bytes) for r in runs], source
        ),
    ]
