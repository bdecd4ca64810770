"""The collect cache: one file per gate and key, in the user's cache folder, authenticated.

The key covers the gate and tool versions and the gate's own `cache_key` (input contents and
collect-time settings), so an unchanged tree under an unchanged tool is not scanned twice. The key
is computable from the repository's content, so an entry is trusted only when its HMAC verifies
under a secret the repository cannot supply ($GATES_CACHE_KEY, else a random one kept in the cache
folder), and a cache folder inside the scanned repository is never used: a committed or edited
entry is a miss, never a result. Any entry that cannot be read or verified is a miss: the gate runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gates import __version__
from gates.model import Collection
from gates.plugins.interface import Gate
from gates.util.atomic import dump_json, write_bytes

FOLDER_VARIABLE = "GATES_CACHE_DIR"
SECRET_VARIABLE = "GATES_CACHE_KEY"  # pragma: allowlist secret
_SECRET_FILE = "secret"  # pragma: allowlist secret


def default_folder() -> Path:
    """$GATES_CACHE_DIR, else $XDG_CACHE_HOME/gates, else ~/.cache/gates."""
    if os.environ.get(FOLDER_VARIABLE):
        return Path(os.environ[FOLDER_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gates"


@dataclass(frozen=True)
class Cache:
    folder: Path
    secret: bytes

    def entry_path(self, gate: Gate, gate_key: str) -> Path:
        material = json.dumps(
            [__version__, gate.name, gate.version, sorted(gate.tool_versions().items()), gate_key]
        )
        return self.folder / f"{gate.name}-{hashlib.sha256(material.encode()).hexdigest()[:40]}.json"

    def _mac(self, path: Path, payload: bytes) -> bytes:
        # The entry's name is signed with its content: a valid entry moved under another key is a miss.
        digest = hmac.new(self.secret, path.name.encode() + b"\0" + payload, hashlib.sha256)
        return digest.hexdigest().encode()

    def read_sealed(self, path: Path) -> bytes | None:
        """The payload of an entry written by `write_sealed`, or None when it is missing or its
        HMAC does not verify."""
        try:
            mac, _, payload = path.read_bytes().partition(b"\n")
        except OSError:
            return None
        return payload if hmac.compare_digest(mac, self._mac(path, payload)) else None

    def write_sealed(self, path: Path, payload: bytes) -> None:
        write_bytes(path, self._mac(path, payload) + b"\n" + payload)

    def load(self, path: Path) -> Collection | None:
        payload = self.read_sealed(path)
        try:
            return None if payload is None else Collection.from_json(json.loads(payload))
        except (ValueError, KeyError, TypeError):
            return None

    def store(self, path: Path, collection: Collection) -> None:
        self.write_sealed(path, dump_json(collection.to_json()).encode())
        # Same name length: the entries of gate "sast", not of a gate called "sast-extra".
        siblings = sorted(
            (p for p in path.parent.glob(f"{collection.gate}-*.json") if len(p.name) == len(path.name)),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in siblings[KEEP_PER_GATE:]:
            old.unlink(missing_ok=True)


# Entries kept per gate: enough for a few branches or policies side by side in one checkout.
KEEP_PER_GATE = 8


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


def open_cache(folder: Path, repository: Path) -> Cache | None:
    """The cache in `folder`, or None (no caching) when that folder lies inside `repository` or
    its secret cannot be read or made. Other caches of parsed input (the OSV index) use it too."""
    folder, repository = folder.resolve(), repository.resolve()
    if folder == repository or repository in folder.parents:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        secret = _secret(folder)
    except OSError:
        return None
    return Cache(folder, secret) if len(secret) >= 16 else None
