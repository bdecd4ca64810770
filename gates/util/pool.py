"""Files scanned by worker processes.

Work is cut into chunks of about a given size, the biggest files first so that no straggler is
last. `scan_in_parts`: workers take chunks from the front of the queue, this process takes them
from the end while the workers start, so a pool that is not worth its start-up costs little.
Workers are spawned (the engine runs gates in threads, and forking a threaded process is unsafe),
and each builds its state once: imports and configures its tool. `ForkedWorkers`: for a tool whose
import is most of a worker's start-up, multiprocessing's fork server (a process without threads)
imports it once, while this process prepares the work, and forks every worker from there.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from multiprocessing import forkserver
from typing import Any, TypeVar

from gates.errors import GateError
from gates.util.files import RepoFile

R = TypeVar("R")
P = TypeVar("P")
S = TypeVar("S")
T = TypeVar("T")


def chunks(items: Sequence[T], size: int, size_of: Callable[[T], int]) -> list[list[T]]:
    """Consecutive groups of about `size` (by `size_of`), the biggest items first."""
    out: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item in sorted(items, key=lambda item: -size_of(item)):
        current.append(item)
        total += size_of(item)
        if total >= size:
            out.append(current)
            current, total = [], 0
    if current:
        out.append(current)
    return out


def _file_size(file: RepoFile) -> int:
    return file.size


_STATE: Any = None
"""A worker's state, built once by its initializer (an analyzer, a tool's configuration)."""
_FAILURE: Exception | None = None
"""Why the initializer could not build it: raised by each of the worker's tasks, so that it reaches
the caller as itself (a pool whose initializer raises only breaks, saying nothing of why)."""


def _build_state(make_state: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _STATE, _FAILURE
    try:
        _STATE = make_state(*args)
    except Exception as e:
        _FAILURE = e


def _build_forked_state(make_state: Callable[..., Any], args: tuple[Any, ...]) -> None:
    from gates.util.fork_server import thaw_in_worker

    thaw_in_worker()
    _build_state(make_state, args)


def _ready() -> None:
    """A first task: submitting it spawns a worker, which builds its state meanwhile."""


def _scan_in_worker(scan: Callable[[Any, P, float], R], part: P, deadline: float) -> R:
    if _FAILURE is not None:
        raise _FAILURE
    return scan(_STATE, part, deadline)


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
    futures: list[Future[R]] = [pool.submit(_scan_in_worker, scan, part, deadline) for part in parts]
    done: list[R] = []
    for part, future in zip(reversed(parts), reversed(futures), strict=True):
        if future.cancel():
            done.append(scan(local_state(), part, deadline))
    return done + results([f for f in futures if not f.cancelled()], deadline, timed_out)


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
        return _scan_together(
            pool, chunks(files, part_bytes, _file_size), scan, local_state, deadline, timed_out
        )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


SERVER_START = "gates.util.fork_server"
"""Imported first by the fork server (see there)."""


_started: set[tuple[str, ...]] = set()


def start_fork_server(preload: Sequence[str]) -> None:
    """Starts multiprocessing's fork server, which imports `preload` at once, unless it runs (a
    running one keeps what it imported)."""
    # `__main__` too: a worker would otherwise run the main script again (its imports).
    multiprocessing.get_context("forkserver").set_forkserver_preload([SERVER_START, "__main__", *preload])
    forkserver.ensure_running()
    _started.add(tuple(preload))


def fork_server_started(preload: Sequence[str]) -> bool:
    """Whether this process started the fork server for `preload` (which imports it meanwhile)."""
    return tuple(preload) in _started


class ForkedWorkers:
    """`workers` processes forked from multiprocessing's fork server once it imported the `preload`
    modules, each building its state with `make_state(*args)`. The server is started at once and
    imports while this process goes on; the first `submit` waits for it. Needs the forkserver start
    method (`forkserver_available()`)."""

    def __init__(
        self, workers: int, preload: Sequence[str], make_state: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        start_fork_server(preload)
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_build_forked_state,
            initargs=(make_state, args),
        )

    def submit(self, scan: Callable[[Any, P, float], R], part: P, deadline: float) -> Future[R]:
        """`scan(state, part, deadline)` in a worker (`scan` is a module-level function, as it is
        pickled, and so is `part`)."""
        return self._pool.submit(_scan_in_worker, scan, part, deadline)

    def close(self) -> None:
        """Let the workers go (those still starting are not waited for)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def results(futures: Sequence[Future[R]], deadline: float, timed_out: str) -> list[R]:
    """Each future's result in turn; `timed_out` is the GateError once the deadline passes."""
    try:
        return [future.result(timeout=max(0.0, deadline - time.monotonic())) for future in futures]
    except FuturesTimeout as e:
        raise GateError(timed_out) from e


def forkserver_available() -> bool:
    return "forkserver" in multiprocessing.get_all_start_methods()
