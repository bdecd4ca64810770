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
from dataclasses import dataclass
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
        data = read_regular(path) if stat.S_ISREG(status.st_mode) else b""
    except OSError:
        return False
    return b"\r\n" in data and git_blob_id(algorithm, data.replace(b"\r\n", b"\n")) == oid


_LISTINGS_KEPT = 8


@dataclass(frozen=True)
class _Tree:
    algorithm: str
    """The repository's object format: sha1 or sha256."""
    links: list[tuple[str, str]]
    """(path, blob id) of each symbolic link."""
    files: list[tuple[str, str]]
    """(path, blob id) of each file; submodules are neither (another repository's content)."""


_trees: dict[tuple[Path, str], _Tree] = {}
"""(root, tree id) -> the tree listed below root: the check after a run lists the tree the check
before it listed."""


def _head_tree(root: Path) -> _Tree | None:
    """HEAD's tree below `root`, paths relative to it."""
    head = _git_bytes(root, "rev-parse", "--show-object-format", "HEAD^{tree}")
    if head is None:
        return None
    algorithm, _, tree_id = head.decode().strip().partition("\n")
    if (root, tree_id) in _trees:
        return _trees[(root, tree_id)]
    listing = _git_bytes(root, "ls-tree", "-r", "-z", tree_id)
    if listing is None:
        return None
    tree = _Tree(algorithm, [], [])
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, _, oid = meta.split(b" ")
        if mode != _SUBMODULE:
            (tree.links if mode == _SYMLINK else tree.files).append((os.fsdecode(name), oid.decode()))
    if len(_trees) >= _LISTINGS_KEPT:
        _trees.clear()
    _trees[(root, tree_id)] = tree
    return tree


def differing_paths(root: Path, cached: bool = True) -> list[str] | None:
    """The paths of HEAD below `root` (relative to it) whose work-tree content is not the
    committed blob, missing files included; None when `root` is not in a git work tree with a
    commit. `cached=False` trusts no earlier run (see `file_digests`)."""
    tree = _head_tree(root)
    if tree is None:
        return None
    algorithm = tree.algorithm
    base = os.fsencode(root) + b"/"
    differing = [p for p, oid in tree.links if not _link_matches(algorithm, oid, base + os.fsencode(p))]
    digests = file_digests(root, [p for p, _ in tree.files], f"git-{algorithm}", cached)
    for (path, oid), digest in zip(tree.files, digests, strict=True):
        if digest != oid and not _crlf_copy_matches(algorithm, oid, base + os.fsencode(path)):
            differing.append(path)
    return sorted(differing)
