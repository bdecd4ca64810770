"""Work started in a thread now and waited for where its result is needed."""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """`work()` running in a daemon thread; `result()` waits for it and returns its value or raises
    its exception."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._value: list[T] = []
        self._error: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._value.append(work())
        except BaseException as e:  # raised again by result(), in the thread that waits
            self._error.append(e)

    def wait(self) -> None:
        """Until the work has ended, whatever its outcome."""
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error:
            raise self._error[0]
        return self._value[0]


def start_importing(module: str) -> None:
    """Import `module` in a daemon thread, for code that needs it after waiting on something else
    (a git or tool process, whose time the import then fills); an import that fails is left to the
    code that imports it again, and says what is wrong there."""

    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module(module)

    threading.Thread(target=load, name=f"import-{module}", daemon=True).start()
