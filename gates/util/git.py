"""What the verdict records of the repository it was made for."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gates.model import JSON
from gates.util.committed import differing_paths
from gates.util.files import OUTPUT_DIR_NAME

# CI systems check out a detached HEAD; they say the branch in the environment.
BRANCH_VARIABLES = (
    "GATES_BRANCH",
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",
    "BRANCH_NAME",
    "BUILD_SOURCEBRANCHNAME",
)


def _git_text(root: Path, *args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def git_output(root: Path, *args: str) -> str | None:
    """What a git command printed (stripped), or None when it failed or git is missing."""
    out = _git_text(root, *args)
    return out.strip() if out is not None else None


def _start(root: Path, *args: str) -> subprocess.Popen[str] | None:
    try:
        return subprocess.Popen(
            ["git", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
    except OSError:
        return None


def _output(process: subprocess.Popen[str] | None) -> str | None:
    """What a process `_start` started printed (stripped), or None when it failed."""
    if process is None:
        return None
    out, _ = process.communicate()
    return out.strip() if process.returncode == 0 else None


def _ci_branch() -> str | None:
    return next((os.environ[v] for v in BRANCH_VARIABLES if os.environ.get(v)), None)


def current_branch(root: Path) -> str | None:
    branch = _ci_branch() or git_output(root, "rev-parse", "--abbrev-ref", "HEAD")
    return None if branch in (None, "HEAD") else branch


@dataclass(frozen=True)
class Head:
    prefix: str
    """The folder below the top of the work tree, with a trailing slash ("" at the top)."""
    commit: str
    tree: str
    branch: str | None
    """None: a detached HEAD."""


def head(root: Path) -> Head | None:
    """HEAD as seen from `root`, asked in one git call (every process is a few milliseconds of a
    warm run); None when there is no commit, no repository, or a folder name git prints over two
    lines."""
    out = _git_text(root, "rev-parse", "--show-prefix", "HEAD", "HEAD^{tree}", "--abbrev-ref", "HEAD")
    lines = out.removesuffix("\n").split("\n") if out is not None else []
    if len(lines) != 4:
        return None
    prefix, commit, tree, branch = lines
    return Head(prefix, commit, tree, None if branch == "HEAD" else branch)


def is_dirty(root: Path, exclude: Sequence[str] = (), cached: bool = True) -> bool | None:
    """Whether the work tree below `root` differs from HEAD: any change `git status` shows, an
    untracked file outside the gates' own output folder (and the paths in `exclude`, relative to
    root), or committed content whose work-tree bytes differ though status hides it (index flags,
    .gitattributes conversions: gates/util/committed.py). `cached=False` trusts no digest
    an earlier run kept under unchanged file times (see `file_digests`)."""
    excluded = [f":(exclude,literal){p}" for p in exclude]
    # Both listings run while the committed content is compared (git status walks the same tree).
    tracked = _start(root, "status", "--porcelain", "--untracked-files=no", "--", ".")
    untracked = _start(
        root,
        "status",
        "--porcelain",
        "--untracked-files=normal",
        "--",
        ".",
        f":(exclude){OUTPUT_DIR_NAME}",
        *excluded,
    )
    try:
        differing = differing_paths(root, cached)
    finally:  # never leave a git process (status takes the index's lock) behind
        changes, new = _output(tracked), _output(untracked)
    if changes is None or new is None or differing is None:
        return None
    return bool(changes or new or differing)


def scanned_path(root: Path) -> str | None:
    """`root` relative to the top of its repository: "." for the whole of it (None: not in git)."""
    prefix = git_output(root, "rev-parse", "--show-prefix")
    return None if prefix is None else prefix.rstrip("/") or "."


def subject(root: Path, check_clean: bool = True, cached: bool = True) -> dict[str, JSON]:
    """`check_clean=False` leaves `dirty` unknown (None) without reading every committed file: for
    runs that judge some files only (the pre-commit hook) and release nothing; `cached`: see
    `is_dirty`."""
    commit: str | None
    tree: str | None
    scanned: str | None
    branch: str | None
    found = head(root)
    if found is not None:
        commit, tree = found.commit, found.tree
        scanned, branch = found.prefix.rstrip("/") or ".", _ci_branch() or found.branch
        branch = None if branch == "HEAD" else branch
    else:
        commit = git_output(root, "rev-parse", "--verify", "-q", "HEAD")
        tree = git_output(root, "rev-parse", "--verify", "-q", "HEAD^{tree}") if commit else None
        scanned, branch = scanned_path(root), current_branch(root)
    return {
        "path": str(root),
        "scanned": scanned,
        "commit": commit,
        "tree": tree,
        "branch": branch,
        "dirty": is_dirty(root, cached=cached) if commit and check_clean else None,
    }


def changed_since(root: Path, before: Mapping[str, JSON], cached: bool = True) -> str | None:
    """What changed in the repository since `before` (its subject, taken before the gates ran),
    or None. A gate's tool may run the repository's code (a build backend, a benchmark), which can
    rewrite files another gate reads later or commit: then the gates judged something that is not
    the commit the verdict names. Only a subject that could release (clean) is checked again."""
    if before["dirty"] is not False:
        return None
    after = subject(root, cached=cached)
    if after["commit"] != before["commit"] or after["tree"] != before["tree"]:
        return f"HEAD moved from {str(before['commit'])[:12]} to {str(after['commit'])[:12]}"
    if after["dirty"] is not False:
        return "the work tree no longer holds the committed content"
    return None
