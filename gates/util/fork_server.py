"""What multiprocessing's fork server imports before a pool's preload (gates.util.pool).

The collector is off while the server imports: a large import (Presidio and spaCy) runs a sixth
faster without its passes over every object created so far, and the objects are permanent anyway.
A worker forked from the server freezes them out of the collector's sight and turns it on again
(`thaw_in_worker`), so its collections neither walk those objects nor copy the pages they lie on.
And the server ends without tearing its modules down: it ends when the command does, and the
interpreter's teardown of a large import (a third of a second) would hold the command's output
pipes open meanwhile. It writes nothing, so nothing is left to flush.
"""

import atexit
import gc
import os
import sys
from multiprocessing import forkserver


def _imported_by_the_server() -> bool:
    """Whether the fork server's own `main()` imports this module: anywhere else, ending every
    process with status 0 would hide the command's verdict."""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code is forkserver.main.__code__:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


if _imported_by_the_server():
    gc.disable()
    atexit.register(os._exit, 0)


def thaw_in_worker() -> None:
    gc.freeze()
    gc.enable()
