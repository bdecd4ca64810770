"""Whether the work tree holds exactly the committed content, asked of git's objects, not its index.

`git status` trusts the index: a path marked `--skip-worktree` or `--assume-unchanged` is never
compared, and `.gitattributes` conversions (`working-tree-encoding`, `ident`, filters) make the
bytes the gates read differ from the blob git releases while status stays clean. So every path of
HEAD is compared here: the work-tree file's git blob id (gates/util/digests.py: read and hashed, or
kept from an earlier run while the file's inode, size and times are unchanged) against the blob id
in HEAD's tree. Only line endings may differ (`eol=crlf`): a CRLF copy of an LF blob holds the same
text for every gate.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from gates.util.digests import file_digests, git_blob_id, read_regular

_SUBMODULE = b"160000"
_SYMLINK = b"120000"


def _git_bytes(root: Path, *args: str) -> bytes | None:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def _link_matches(algorithm: str, oid: str, path: bytes) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode) and git_blob_id(algorithm, os.readlink(path)) == oid
    except OSError:
        return False


def _crlf_copy_matches(algorithm: str, oid: str, path: bytes) -> bool:
    try:
        status = os.lstat(path)
        data = read_regular(path, status.st_size) if stat.S_ISREG(status.st_mode) else b""
    except OSError:
        return False
    return b"\r\n" in data and git_blob_id(algorithm, data.replace(b"\r\n", b"\n")) == oid


_LISTINGS_KEPT = 8
_listings: dict[tuple[Path, str], tuple[str, bytes]] = {}
"""(root, tree id) -> (object format, `git ls-tree` of the tree): the check after a run lists the
tree the check before it listed."""


def _listing(root: Path) -> tuple[str, bytes] | None:
    """The object format and the recursive listing of HEAD's tree below `root`."""
    head = _git_bytes(root, "rev-parse", "--show-object-format", "HEAD^{tree}")
    if head is None:
        return None
    algorithm, _, tree = head.decode().strip().partition("\n")
    if (root, tree) not in _listings:
        listing = _git_bytes(root, "ls-tree", "-r", "-z", tree)
        if listing is None:
            return None
        if len(_listings) >= _LISTINGS_KEPT:
            _listings.clear()
        _listings[(root, tree)] = (algorithm, listing)
    return _listings[(root, tree)]


def differing_paths(root: Path, cached: bool = True) -> list[str] | None:
    """The paths of HEAD below `root` (relative to it) whose work-tree content is not the
    committed blob, missing files included; None when `root` is not in a git work tree with a
    commit. `cached=False` reads every file (see `file_digests`)."""
    listed = _listing(root)
    if listed is None:
        return None
    algorithm, listing = listed
    base = os.fsencode(root) + b"/"
    links: list[tuple[str, str]] = []
    files: list[tuple[str, str]] = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_name = entry.partition(b"\t")
        mode, _, raw_oid = meta.split(b" ")
        if mode == _SUBMODULE:
            continue  # another repository's commit, not content of this one
        (links if mode == _SYMLINK else files).append((os.fsdecode(raw_name), raw_oid.decode()))
    differing = [name for name, oid in links if not _link_matches(algorithm, oid, base + os.fsencode(name))]
    digests = file_digests(root, [name for name, _ in files], f"git-{algorithm}", cached)
    for (name, oid), digest in zip(files, digests, strict=True):
        if digest != oid and not _crlf_copy_matches(algorithm, oid, base + os.fsencode(name)):
            differing.append(name)
    return sorted(differing)
