"""Whether the work tree holds exactly the committed content, asked of git's objects, not its index.

`git status` trusts the index: a path marked `--skip-worktree` or `--assume-unchanged` is never
compared, and `.gitattributes` conversions (`working-tree-encoding`, `ident`, filters) make the
bytes the gates read differ from the blob git releases while status stays clean. So every path of
HEAD is compared here byte for byte: the work-tree file, hashed as git hashes a blob, against the
blob id in HEAD's tree. Only line endings may differ (`eol=crlf`): a CRLF copy of an LF blob holds
the same text for every gate.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

_SUBMODULE = b"160000"
_SYMLINK = b"120000"


def _git_bytes(root: Path, *args: str) -> bytes | None:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def _blob_id(algorithm: str, data: bytes) -> str:
    h = _HASHES[algorithm]() if algorithm in _HASHES else hashlib.new(algorithm)
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def _read(path: bytes, size: int) -> bytes:
    """The bytes of the regular file at `path`, through plain system calls (a tree of thousands of
    files feels Path's overhead); a link put in its place since it was looked at is not followed."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        chunks = [os.read(fd, size + 1)]
        while chunks[-1]:  # to the end, whatever the size was a moment ago
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _matches(algorithm: str, oid: str, path: bytes, mode: bytes) -> bool:
    try:
        status = os.lstat(path)
        if mode == _SYMLINK:
            return stat.S_ISLNK(status.st_mode) and _blob_id(algorithm, os.readlink(path)) == oid
        if not stat.S_ISREG(status.st_mode):
            return False
        data = _read(path, status.st_size)
    except OSError:
        return False
    if _blob_id(algorithm, data) == oid:
        return True
    return b"\r\n" in data and _blob_id(algorithm, data.replace(b"\r\n", b"\n")) == oid


def differing_paths(root: Path) -> list[str] | None:
    """The paths of HEAD below `root` (relative to it) whose work-tree content is not the
    committed blob, missing files included; None when `root` is not in a git work tree with a
    commit."""
    fmt = _git_bytes(root, "rev-parse", "--show-object-format")
    listing = _git_bytes(root, "ls-tree", "-r", "-z", "HEAD")
    if fmt is None or listing is None:
        return None
    algorithm = fmt.decode().strip()
    base = os.fsencode(root) + b"/"
    differing = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, _, oid = meta.split(b" ")
        if mode == _SUBMODULE:
            continue  # another repository's commit, not content of this one
        if not _matches(algorithm, oid.decode(), base + name, mode):
            differing.append(os.fsdecode(name))
    return differing
