"""Content digests of the files of a folder, kept per machine under what the system says of each file.

Reading and hashing every file of a large tree is most of a warm run (the collect cache's keys, the
committed-content check, twice). As git's index does, a digest is kept with the file's device,
inode, size, mode, mtime and ctime, as the opened file reports them (the path may name another file
by then), and taken again without reading the file while all of them are unchanged. Whoever writes
a file cannot keep its ctime: every write, rename or `utime` call sets it to the current time, and
only the clock's owner can set that back. A digest is kept only for a file that last changed at
least `SETTLED_NS` before it was read, so a write in the same tick of the file system's clock as
that read (git's "racily clean" entries) never leaves a stale digest under unchanged times.

The entries live in the user's cache folder, sealed (gates/util/sealed.py): a repository can
neither supply nor edit them, and an entry that does not verify is no entry: the file is read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from gates.util.sealed import SealedFolder, default_folder, open_sealed

SETTLED_NS = 2_000_000_000
"""How long before its reading a file must have last changed for its digest to be kept: more than
the coarsest timestamp granularity of common file systems (FAT's two seconds)."""
MAX_ENTRIES = 200_000
"""Entries kept per folder and kind; past that, only those of the latest call (a bounded file)."""
_FORMAT = 1

Entry = tuple[int, int, int, int, int, int, str]
"""(device, inode, size, mode, mtime ns, ctime ns, digest)."""


def git_blob_id(algorithm: str, data: bytes) -> str:
    """The id git gives `data` as a blob in a repository of object format `algorithm`."""
    h = hashlib.new(algorithm)
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


KINDS: dict[str, Callable[[bytes], str]] = {
    "sha256": _sha256,
    "git-sha1": lambda data: git_blob_id("sha1", data),
    "git-sha256": lambda data: git_blob_id("sha256", data),
}
"""The digests a caller may ask for: the bytes' SHA-256, or git's blob id in either object format."""


def read_status(path: bytes | str) -> tuple[os.stat_result, bytes]:
    """What the regular file at `path` says of itself (`fstat`) and its bytes, through plain system
    calls (a tree of thousands of files feels Path's overhead). The file is whatever `path` names
    when it is opened: a link put in its place since it was looked at is not followed, and a FIFO or
    device is no regular file (opened without waiting for a writer)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        chunks = [os.read(fd, status.st_size + 1)]
        while chunks[-1]:  # to the end, whatever the size was a moment ago
            chunks.append(os.read(fd, 1 << 20))
        return status, b"".join(chunks)
    finally:
        os.close(fd)


def read_regular(path: bytes | str) -> bytes:
    """The bytes of the regular file at `path` (see `read_status`)."""
    return read_status(path)[1]


def _key(status: os.stat_result) -> tuple[int, int, int, int, int, int]:
    return (
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mode,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )


def _storable(name: str) -> bool:
    """Whether the store (JSON) can hold `name`: a name that is no UTF-8 (kept by `os.fsdecode` as
    lone surrogates) is read every time rather than cost every other file its entry."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Store:
    """One folder's entries of one kind, shared by the threads of a run."""

    def __init__(self, sealed: SealedFolder | None, path: Path) -> None:
        self._sealed, self._path = sealed, path
        self._lock = threading.Lock()
        self.entries: dict[str, Entry] = self._read()

    def _read(self) -> dict[str, Entry]:
        payload = self._sealed.read_sealed(self._path) if self._sealed is not None else None
        try:
            document = orjson.loads(payload) if payload is not None else None
        except orjson.JSONDecodeError:
            return {}
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            return {}
        entries = document.get("entries")
        return {k: tuple(v) for k, v in entries.items()} if isinstance(entries, dict) else {}

    def add(self, new: dict[str, Entry], asked: Sequence[str]) -> None:
        """Keep `new` too, and write the whole store (best effort: a cache folder that cannot be
        written costs the next run its reading, nothing else). Past MAX_ENTRIES, only the entries
        of the names the latest call `asked` about are kept (at most MAX_ENTRIES of them)."""
        with self._lock:
            entries = {**self.entries, **new}
            if len(entries) > MAX_ENTRIES:
                latest = ((name, entries[name]) for name in asked if name in entries)
                entries = dict(itertools.islice(latest, MAX_ENTRIES))
            self.entries = entries
            if self._sealed is None:
                return
            with contextlib.suppress(OSError, TypeError):
                self._sealed.write_sealed(self._path, orjson.dumps({"format": _FORMAT, "entries": entries}))


_stores: dict[tuple[str, str, str], _Store] = {}
_stores_lock = threading.Lock()


def _store(folder: Path, kind: str, kept: bool = True) -> _Store:
    """The store of `folder`'s `kind` digests: kept in the user's cache folder, or (`kept=False`)
    only in this process, holding what it read itself."""
    cache = default_folder() / "digests"
    key = (str(cache) if kept else "", str(folder), kind)
    with _stores_lock:
        if key not in _stores:
            sealed = open_sealed(cache, folder) if kept else None
            name = hashlib.sha256(os.fsencode(folder)).hexdigest()[:40]
            _stores[key] = _Store(sealed, cache / f"{kind}-{name}.json")
        return _stores[key]


def file_digests(folder: Path, names: Sequence[str], kind: str, cached: bool = True) -> list[str | None]:
    """The `kind` digest (a key of KINDS) of each file `names` gives relative to `folder`, in
    order; None for a name that is no regular file or cannot be read. `cached=False` trusts no
    earlier run (the release check, `--no-cache`): it reads every file this process has not read
    itself, and keeps what it reads in this process only (the check after the gates ran reads
    again only what changed since the check before them)."""
    digest = KINDS[kind]
    folder = folder.resolve()
    store = _store(folder, kind, kept=cached)
    known = store.entries
    base = os.fsencode(folder) + b"/"
    settled_before = time.time_ns() - SETTLED_NS
    digests: list[str | None] = []
    new: dict[str, Entry] = {}
    for name in names:
        path = base + os.fsencode(name)
        try:
            looked = os.lstat(path)
            if not stat.S_ISREG(looked.st_mode):
                digests.append(None)
                continue
            entry = known.get(name)
            if entry is not None and len(entry) == 7 and entry[:6] == _key(looked):
                digests.append(entry[6])
                continue
            # What is kept is what the file read says of itself: another file (a folder on the
            # path renamed meanwhile) may be at `path` now, and its digest must not be kept under
            # the times of the file looked at.
            status, data = read_status(path)
        except OSError:
            digests.append(None)
            continue
        value = digest(data)
        digests.append(value)
        if max(status.st_mtime_ns, status.st_ctime_ns) < settled_before and _storable(name):
            new[name] = (*_key(status), value)
    if new:
        store.add(new, names)
    return digests
