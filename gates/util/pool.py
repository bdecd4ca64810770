"""Files scanned by spawned worker processes and this process together.

Work is cut into chunks of about a given size, the biggest files first so that no straggler is
last. Workers take chunks from the front of the queue, this process takes them from the end while
the workers start, so a pool that is not worth its start-up costs little. Workers are spawned (the
engine runs gates in threads, and forking a threaded process is unsafe), and each runs the
initializer that imports and configures its tool once.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any, TypeVar

from gates.plugins.interface import GateError
from gates.util.files import RepoFile

R = TypeVar("R")


def chunks(files: Sequence[RepoFile], size: int) -> list[list[RepoFile]]:
    """Consecutive groups of about `size` bytes, the biggest files first."""
    out: list[list[RepoFile]] = []
    current: list[RepoFile] = []
    total = 0
    for f in sorted(files, key=lambda f: -f.size):
        current.append(f)
        total += f.size
        if total >= size:
            out.append(current)
            current, total = [], 0
    if current:
        out.append(current)
    return out


def _ready() -> None:
    """A first task: submitting it spawns a worker, which runs its initializer meanwhile."""


def start(workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> ProcessPoolExecutor:
    """`workers - 1` spawned processes, started now so that their start-up overlaps this one's work."""
    pool = ProcessPoolExecutor(
        max_workers=workers - 1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initializer,
        initargs=initargs,
    )
    pool.submit(_ready)
    return pool


def scan_together(
    pool: ProcessPoolExecutor,
    parts: Sequence[Sequence[RepoFile]],
    remote: Callable[[Sequence[RepoFile], float], R],
    local: Callable[[Sequence[RepoFile]], R],
    deadline: float,
    timed_out: str,
) -> list[R]:
    """Each part's result, from `remote` in a worker (a module-level function, as it is pickled) or
    from `local` here; `timed_out` is the error once the deadline passes."""
    try:
        futures: list[Future[R]] = [pool.submit(remote, part, deadline) for part in parts]
        results: list[R] = []
        for part, future in zip(reversed(parts), reversed(futures), strict=True):
            if future.cancel():
                results.append(local(part))
        for future in futures:
            if not future.cancelled():
                results.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
        return results
    except FuturesTimeout as e:
        raise GateError(timed_out) from e
