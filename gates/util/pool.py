"""Files scanned by worker processes.

Work is cut into chunks of about a given size, the biggest files first so that no straggler is
last. `scan_in_parts`: workers take chunks from the front of the queue, this process takes them
from the end while the workers start, so a pool that is not worth its start-up costs little.
Workers are spawned (the engine runs gates in threads, and forking a threaded process is unsafe),
and each builds its state once: imports and configures its tool. `scan_in_forked_workers`: for a
tool whose import is most of a worker's start-up, multiprocessing's fork server (a process without
threads) imports it once and forks every worker from there; this process scans nothing.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any, TypeVar

from gates.errors import GateError
from gates.util.files import RepoFile

R = TypeVar("R")
S = TypeVar("S")


def _chunks(files: Sequence[RepoFile], size: int) -> list[list[RepoFile]]:
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


_STATE: Any = None
"""A worker's state, built once by its initializer (an analyzer, a tool's configuration)."""


def _build_state(make_state: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _STATE
    _STATE = make_state(*args)


def _ready() -> None:
    """A first task: submitting it spawns a worker, which builds its state meanwhile."""


def _scan_in_worker(
    scan: Callable[[Any, Sequence[RepoFile], float], R], files: Sequence[RepoFile], deadline: float
) -> R:
    return scan(_STATE, files, deadline)


def _start(workers: int, make_state: Callable[..., Any], args: tuple[Any, ...]) -> ProcessPoolExecutor:
    """`workers - 1` spawned processes, started now so that each builds its state
    (`make_state(*args)`, a module-level function, as it is pickled) while this process goes on."""
    pool = ProcessPoolExecutor(
        max_workers=workers - 1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_build_state,
        initargs=(make_state, args),
    )
    pool.submit(_ready)
    return pool


def _scan_together(
    pool: ProcessPoolExecutor,
    parts: Sequence[Sequence[RepoFile]],
    scan: Callable[[S, Sequence[RepoFile], float], R],
    local_state: Callable[[], S],
    deadline: float,
    timed_out: str,
) -> list[R]:
    """Each part's `scan(state, part, deadline)`: in a worker with the state it built (`scan` is a
    module-level function, as it is pickled), or here with `local_state()`, asked for on this
    process's first part; `timed_out` is the error once the deadline passes."""
    try:
        futures: list[Future[R]] = [pool.submit(_scan_in_worker, scan, part, deadline) for part in parts]
        results: list[R] = []
        for part, future in zip(reversed(parts), reversed(futures), strict=True):
            if future.cancel():
                results.append(scan(local_state(), part, deadline))
        for future in futures:
            if not future.cancelled():
                results.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
        return results
    except FuturesTimeout as e:
        raise GateError(timed_out) from e


def scan_in_parts(
    files: Sequence[RepoFile],
    *,
    workers: int,
    make_state: Callable[..., S],
    args: tuple[Any, ...],
    part_bytes: int,
    scan: Callable[[S, Sequence[RepoFile], float], R],
    local_state: Callable[[], S],
    deadline: float,
    timed_out: str,
) -> list[R]:
    """`scan(state, part, deadline)` for each part of about `part_bytes` of `files`, shared
    between `workers - 1` spawned processes, started first, and this one, and the pool let go
    after (workers still starting are not waited for)."""
    pool = _start(workers, make_state, args)
    try:
        return _scan_together(pool, _chunks(files, part_bytes), scan, local_state, deadline, timed_out)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def scan_in_forked_workers(
    files: Sequence[RepoFile],
    *,
    workers: int,
    preload: Sequence[str],
    make_state: Callable[..., S],
    args: tuple[Any, ...],
    part_bytes: int,
    scan: Callable[[S, Sequence[RepoFile], float], R],
    deadline: float,
    timed_out: str,
) -> list[R]:
    """`scan(state, part, deadline)` for each part of about `part_bytes` of `files`, in `workers`
    processes forked from multiprocessing's fork server once it imported the `preload` modules
    (`make_state(*args)` builds each worker's state from there). Needs the forkserver start method
    (`forkserver_available()`)."""
    context = multiprocessing.get_context("forkserver")
    # `__main__` too: a worker would otherwise run the main script again (the CLI's imports).
    context.set_forkserver_preload(["__main__", *preload])
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_build_state, initargs=(make_state, args)
    )
    try:
        # The first submission waits for the server to import `preload`.
        futures = [pool.submit(_scan_in_worker, scan, part, deadline) for part in _chunks(files, part_bytes)]
        return [future.result(timeout=max(0.0, deadline - time.monotonic())) for future in futures]
    except FuturesTimeout as e:
        raise GateError(timed_out) from e
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def forkserver_available() -> bool:
    return "forkserver" in multiprocessing.get_all_start_methods()
