"""Which files of a repository a gate looks at, and reading them safely.

One walker serves every gate so that they agree on what "the repository" is: the files git tracks
plus untracked ones it does not ignore (everything below the root outside git), never `.git` or the
untracked files in the gates' output folder (what a run wrote; what is committed there is scanned),
never a symlink (one pointing inside is scanned at its target, one pointing outside is never
followed).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import os
import stat
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from gates.errors import InputError
from gates.model import JSON
from gates.util.digests import file_digests

OUTPUT_DIR_NAME = ".gates"
_BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class RepoFile:
    path: str
    """Relative to the repository root, with forward slashes."""
    abspath: Path
    size: int


@dataclass
class FileSelection:
    files: list[RepoFile]
    skipped: Counter[str] = field(default_factory=Counter)

    def stats(self) -> dict[str, JSON]:
        return {
            "files": len(self.files),
            "bytes": sum(f.size for f in self.files),
            "skipped": dict(sorted(self.skipped.items())),
        }


UNREAD_REASONS = ("too_large", "not_utf8", "unreadable", "parse_error", "submodule", "ignored")
"""Skip reasons of files whose content a gate did not judge (a binary or a link is no content the
gates read; a submodule or nested repository, and the files git ignores in a folder where it lists
none, are); the policy's `skipped_files` says what they make of the gate's status."""


class SkippedFile(Exception):
    """A file a text-reading gate does not scan; `reason` is the stats key it is counted under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def glob_matcher(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec | None:
    """A matcher for gitignore-style globs (`tests/**`, `*.py`), or None for no patterns."""
    return _compiled(tuple(patterns))


@functools.lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec | None:
    # Evaluation matches every finding against the same few pattern lists (a gate's globs, each
    # waiver's path): compile each list once, not once per finding.
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


def path_selected(path: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> bool:
    """Whether a repository path passes include (any, when given) and exclude (none) globs."""
    inc, exc = glob_matcher(include), glob_matcher(exclude)
    return (inc is None or inc.match_file(path)) and not (exc is not None and exc.match_file(path))


def _candidate_paths(root: Path) -> tuple[list[str], list[str]]:
    """Tracked files wherever they lie, and untracked ones git does not ignore, except those in
    the output folder: what a run writes is no content, but whatever is committed there is. Also
    the folders that are other repositories (submodules, nested clones): no gate reads them."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "-t", "-s", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return sorted(p for p in _walk(root) if p.split("/", 1)[0] != OUTPUT_DIR_NAME), []
    paths: set[str] = set()
    repositories: set[str] = set()
    for entry in out.split(b"\0"):
        tag, _, rest = entry.partition(b" ")
        if tag == b"?":  # untracked: its name; a nested repository's folder ends with "/"
            path = os.fsdecode(rest)
            if path.split("/", 1)[0] != OUTPUT_DIR_NAME:
                (repositories if path.endswith("/") else paths).add(path.rstrip("/"))
        elif rest:  # tracked: "mode blob stage<TAB>name"; mode 160000 is a submodule's commit
            meta, _, name = rest.partition(b"\t")
            (repositories if meta.startswith(b"160000 ") else paths).add(os.fsdecode(name))
    return sorted(paths), sorted(repositories)


def _ignored(root: Path, inc: pathspec.GitIgnoreSpec | None, exc: pathspec.GitIgnoreSpec | None) -> int:
    """How many files below `root` that the globs select git ignores (asked when it lists none)."""
    return sum(
        1
        for p in _walk(root)
        if p.split("/", 1)[0] != OUTPUT_DIR_NAME
        and (inc is None or inc.match_file(p))
        and not (exc is not None and exc.match_file(p))
    )


def _walk(root: Path) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        rel = Path(dirpath).relative_to(root)
        for name in filenames:
            yield (rel / name).as_posix()


def select_files(
    root: Path,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    only_paths: Sequence[str] | None = None,
    max_bytes: int | None = None,
) -> FileSelection:
    """The regular files below `root` that the globs select, sorted by path.

    `only_paths` narrows the walk to given files (a pre-commit hook's staged files); `max_bytes`
    skips larger files and counts them as `too_large`.
    """
    root = root.resolve()
    inc, exc = glob_matcher(include), glob_matcher(exclude)
    selection = FileSelection(files=[])
    if only_paths is not None:
        candidates = sorted({Path(p).as_posix() for p in only_paths})
    else:
        candidates, repositories = _candidate_paths(root)
        # What no gate reads is counted, so that `skipped_files` can warn or fail: another
        # repository's content, and the files of a folder where git lists none because it
        # ignores them all.
        unread = Counter(
            submodule=sum(1 for r in repositories if exc is None or not exc.match_file(r)),
            ignored=0 if candidates or repositories else _ignored(root, inc, exc),
        )
        selection.skipped.update(+unread)
    base = f"{root}{os.sep}"
    for rel in candidates:  # forward slashes: git's and the walk's paths, and only_paths above
        if rel.split("/", 1)[0] == ".git":
            continue
        if (inc is not None and not inc.match_file(rel)) or (exc is not None and exc.match_file(rel)):
            continue
        # One lstat per file: Path's is_symlink/stat/is_file cost four times as much on a large tree.
        try:
            st = os.lstat(f"{base}{rel}")
        except OSError:
            continue  # listed by git but deleted in the work tree
        if stat.S_ISLNK(st.st_mode):
            try:
                target = (root / rel).resolve()
            except (OSError, RuntimeError):  # RuntimeError: a loop of links, which leads nowhere
                selection.skipped["symlink_loop"] += 1
                continue
            inside = target == root or root in target.parents
            selection.skipped["symlink" if inside else "symlink_outside"] += 1
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if max_bytes is not None and st.st_size > max_bytes:
            selection.skipped["too_large"] += 1
            continue
        selection.files.append(RepoFile(path=rel, abspath=root / rel, size=st.st_size))
    return selection


def repo_file(root: Path, name: str | Path, what: str) -> Path:
    """The real path of the file or folder a relative `name` gives in the repository at `root`,
    for a gate to read or hand to its tool; an absolute `name` (given by CI, not by the repository)
    is taken as it is. InputError `what: name: ...` when a symlink or `..` on the way leads out of
    the repository: the repository's content never makes a gate read a file outside it."""
    if Path(name).is_absolute():
        return Path(name)
    root = root.resolve()
    try:
        target = (root / name).resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop
        raise InputError(f"{what}: {name}: cannot resolve: {e}") from e
    if target != root and root not in target.parents:
        raise InputError(
            f"{what}: {name} leads outside the repository (to {target}); gates never follow it there"
        )
    return target


MAX_TEXT_FILE_BYTES = 2_000_000
"""Gates that read text skip larger files (counted as too_large) unless `max_file_bytes` says so."""
MAX_FILE_BYTES_SETTING: Mapping[str, Any] = {"max_file_bytes": {"type": "integer", "minimum": 1}}
"""The policy key of that limit, for a text-reading gate's settings_schema."""


def text_files(
    root: Path,
    settings: Mapping[str, Any],
    only_paths: Sequence[str] | None,
    exclude: Sequence[str] = (),
) -> FileSelection:
    """The files a text-reading gate scans: its include/exclude globs (plus `exclude`), within its
    `max_file_bytes`."""
    return select_files(
        root,
        include=settings.get("include", ()),
        exclude=[*settings.get("exclude", ()), *exclude],
        only_paths=only_paths,
        max_bytes=int(settings.get("max_file_bytes", MAX_TEXT_FILE_BYTES)),
    )


def _read_bytes(file: RepoFile) -> bytes:
    """The file's bytes through plain system calls: half the time of `Path.read_bytes()`, which a
    scan of thousands of small files feels."""
    fd = os.open(file.abspath, os.O_RDONLY)
    try:
        want = max(file.size + 1, 65536)
        chunks = [os.read(fd, want)]
        # Up to the end, whatever the size was when the file was selected: a regular file reads
        # short only at its end (os.read retries when a signal interrupts it).
        while len(chunks[-1]) == want:
            chunks.append(os.read(fd, want))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(file: RepoFile) -> str:
    """The file's text; raises SkippedFile("binary"|"not_utf8"|"unreadable") instead of guessing."""
    try:
        data = _read_bytes(file)
    except OSError as e:
        raise SkippedFile("unreadable") from e
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SkippedFile("not_utf8")  # text (UTF-16 or UTF-32), though its NUL bytes look binary
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        raise SkippedFile("binary")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SkippedFile("not_utf8") from e


def digest_selection(selection: FileSelection, *extra: object) -> str:
    """`digest_files` of a selection's files and of what it skipped: the skipped counts are part
    of the collection (`skipped_files` judges them), so a run that skips a file the cached one did
    not (a file grown over the size limit) is no cache hit."""
    return digest_files(selection.files, sorted(selection.skipped.items()), *extra)


def digest_files(files: Iterable[RepoFile], *extra: object) -> str:
    """A content hash of files (path and bytes) and any extra key material, for the collect cache.

    Each file's own digest is read and hashed, or kept from an earlier run while the file's inode,
    size and times are unchanged (gates/util/digests.py)."""
    h = hashlib.sha256()
    for part in extra:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\0")
    ordered = sorted(files, key=lambda f: f.path)
    for f, digest in zip(ordered, _content_digests(ordered), strict=True):
        h.update(f.path.encode("utf-8"))
        h.update(b"\0")
        h.update(bytes.fromhex(digest) if digest is not None else b"\0unreadable")
    return h.hexdigest()


def _content_digests(files: Sequence[RepoFile]) -> list[str | None]:
    """The SHA-256 of each file, asked of `file_digests` by the folder the files were selected in."""
    by_folder: dict[str, list[tuple[int, str]]] = {}
    for i, f in enumerate(files):
        whole = os.fspath(f.abspath)
        if whole.endswith(f"/{f.path}"):
            folder, name = whole[: -len(f.path) - 1], f.path
        else:
            folder, name = os.path.split(whole)
        by_folder.setdefault(folder, []).append((i, name))
    digests: list[str | None] = [None] * len(files)
    for folder, named in by_folder.items():
        found = file_digests(Path(folder), [name for _, name in named], "sha256")
        for (i, _), digest in zip(named, found, strict=True):
            digests[i] = digest
    return digests
