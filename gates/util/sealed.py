"""Files a run wrote for a later run (the collect cache, the OSV index), authenticated.

Their names are computable from content the repository supplies, so a file is trusted only when
its HMAC verifies under a secret the repository cannot supply ($GATES_CACHE_KEY, else a random one
kept in the folder), and a folder inside the scanned repository is never used: a committed or
edited file is a miss, never a result.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gates.util.atomic import write_bytes

SECRET_VARIABLE = "GATES_CACHE_KEY"  # pragma: allowlist secret
_SECRET_FILE = "secret"  # pragma: allowlist secret
FOLDER_VARIABLE = "GATES_CACHE_DIR"


def default_folder() -> Path:
    """$GATES_CACHE_DIR, else $XDG_CACHE_HOME/gates, else ~/.cache/gates."""
    if os.environ.get(FOLDER_VARIABLE):
        return Path(os.environ[FOLDER_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gates"


@dataclass(frozen=True)
class SealedFolder:
    folder: Path
    secret: bytes

    def _mac(self, path: Path, payload: bytes) -> bytes:
        # The file's path in the folder is signed with its content: a valid file moved under
        # another name (another key, another package's folder) is a miss.
        name = path.relative_to(self.folder).as_posix() if path.is_relative_to(self.folder) else path.name
        digest = hmac.new(self.secret, name.encode() + b"\0" + payload, hashlib.sha256)
        return digest.hexdigest().encode()

    def read_sealed(self, path: Path) -> bytes | None:
        """The payload `write_sealed` wrote, or None when the file is missing or its HMAC does not
        verify."""
        try:
            mac, _, payload = path.read_bytes().partition(b"\n")
        except OSError:
            return None
        return payload if hmac.compare_digest(mac, self._mac(path, payload)) else None

    def write_sealed(self, path: Path, payload: bytes) -> None:
        # The user's alone: an entry holds digests of the repository's files (a small secret file's
        # could be guessed) and what the gates found, masked.
        write_bytes(path, self._mac(path, payload) + b"\n" + payload, private=True)


def _secret(folder: Path) -> bytes:
    given = os.environ.get(SECRET_VARIABLE)
    if given:
        return given.encode()
    path = folder / _SECRET_FILE
    if not path.exists():
        # Written aside and linked into place: a run racing this one reads a whole secret or none.
        fd, tmp = tempfile.mkstemp(dir=folder)
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.close(fd)
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes()


def work_tree(path: Path) -> Path:
    """The top of the git work tree `path` lies in (the nearest folder holding `.git`, as git finds
    it), else `path` itself: where no cache may lie, since the repository could supply its files."""
    path = path.resolve()
    return next((p for p in (path, *path.parents) if (p / ".git").exists()), path)


def folder_secret(folder: Path, within: Path) -> bytes | None:
    """The secret of `folder` (made if need be), or None (keep nothing there) when that folder lies
    inside the repository `within` lies in (see `work_tree`) or its secret cannot be read or made."""
    folder, repository = folder.resolve(), work_tree(within)
    if folder == repository or repository in folder.parents:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = _secret(folder)
    except OSError:
        return None
    return secret if len(secret) >= 16 else None


def open_sealed(folder: Path, within: Path) -> SealedFolder | None:
    """`folder` sealed, or None when it lies in the repository `within` lies in (`folder_secret`)."""
    secret = folder_secret(folder, within)
    return SealedFolder(folder.resolve(), secret) if secret is not None else None


def keep_newest(entries: Iterable[Path], keep: int) -> None:
    """Removes all but the `keep` most recently written of `entries` (a folder's oldest entries), as
    best it can: another run sharing the folder may be pruning them at the same time, which is no
    reason for this one to fail."""
    for old in sorted(entries, key=_written, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            old.unlink(missing_ok=True)


def _written(entry: Path) -> float:
    """When `entry` was written; 0 for one that is gone."""
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0
