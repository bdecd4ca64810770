"""Python processes the command starts import nothing from their working folder (in CI, the
scanned repository).

multiprocessing starts the pools' processes (the pii gate's fork server, the secrets gate's spawned
workers) with `python -c`, which puts the working folder first on sys.path while they import
multiprocessing and, in the fork server, every module of its preload (Presidio, spaCy): a committed
`multiprocessing/` or `spacy/` would run there and could report nothing. multiprocessing takes no
interpreter flags or environment for them, so the command sets PYTHONSAFEPATH (Python 3.11+) for
every process it starts, once, before any thread; the commands a policy names (a benchmark, a
publish step), which are meant to run the repository's code, get the environment as it was given.
"""

from __future__ import annotations

import os

VARIABLE = "PYTHONSAFEPATH"
_added = False


def protect_children() -> None:
    global _added
    if not os.environ.get(VARIABLE):
        os.environ[VARIABLE] = "1"
        _added = True


def given_environment() -> dict[str, str]:
    """The environment as the command was given it (without the PYTHONSAFEPATH it added)."""
    environment = dict(os.environ)
    if _added:
        environment.pop(VARIABLE, None)
    return environment
