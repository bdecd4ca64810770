"""What multiprocessing's fork server imports after a pool's preload (gates.util.pool).

Whatever the preload imported is frozen out of the collector's sight: a worker's collections then
neither walk those objects nor copy the pages they lie on. And the server ends without tearing its
modules down: it ends when the command does, and the interpreter's teardown of a large import
(Presidio and spaCy: a third of a second) would hold the command's output pipes open meanwhile. It
writes nothing, so nothing is left to flush.
"""

import atexit
import gc
import os

gc.freeze()
atexit.register(os._exit, 0)
