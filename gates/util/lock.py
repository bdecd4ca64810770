"""One run at a time per output folder.

Two runs writing one folder would each write their outputs atomically, but interleaved: the
verdict of one beside the report of the other. A run holds an exclusive lock on the folder from
before it reads the cache until its last output is written; a second run waits for it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gates.errors import InputError


@contextmanager
def output_folder(folder: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold the folder's lock (created if need be); `on_wait` is called once if another process
    holds it, before waiting. The lock goes with the process, so a killed run never leaves it held."""
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise InputError(f"{folder}: cannot use as the output folder: {e.strerror or e}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if created and not any(folder.iterdir()):
            folder.rmdir()  # a run that stopped on bad input leaves nothing behind
        os.close(fd)  # closing the descriptor releases the lock
