"""Progress of a run: a live status line on a terminal, plain lines in CI logs."""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import TextIO

from gates.model import Collection


class Progress:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty() and not os.environ.get("CI")
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live:
            self._stream.write("\r\033[K")
            self._stream.flush()

    def update(self, gate: str, collection: Collection | None) -> None:
        with self._lock:
            if collection is None:
                self._running[gate] = time.monotonic()
                if not self._live:
                    self._stream.write(f"{gate}: started\n")
            else:
                self._running.pop(gate, None)
                outcome = "error" if collection.error else f"{len(collection.findings)} finding(s)"
                cached = ", cached" if collection.cached else ""
                prefix = "\r\033[K" if self._live else ""
                self._stream.write(
                    f"{prefix}{gate}: collected, {outcome} ({collection.duration_s:.1f}s{cached})\n"
                )
            if self._live and self._running:
                self._stream.write("\r\033[K… running: " + ", ".join(sorted(self._running)))
            self._stream.flush()
