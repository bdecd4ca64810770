"""The collect cache: one file per gate and key, in the user's cache folder, authenticated.

The key covers the gate and tool versions and the gate's own `cache_key` (input contents and
collect-time settings), so an unchanged tree under an unchanged tool is not scanned twice. Entries
are sealed (gates/util/sealed.py): one the repository supplied or someone edited is a miss, and
any entry that cannot be read or verified is a miss: the gate runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from gates import __version__
from gates.model import Collection
from gates.plugins.interface import Gate
from gates.util.atomic import dump_json
from gates.util.sealed import SealedFolder, folder_secret

FOLDER_VARIABLE = "GATES_CACHE_DIR"


def default_folder() -> Path:
    """$GATES_CACHE_DIR, else $XDG_CACHE_HOME/gates, else ~/.cache/gates."""
    if os.environ.get(FOLDER_VARIABLE):
        return Path(os.environ[FOLDER_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gates"


@dataclass(frozen=True)
class Cache(SealedFolder):
    def entry_path(self, gate: Gate, gate_key: str) -> Path:
        material = json.dumps(
            [__version__, gate.name, gate.version, sorted(gate.tool_versions().items()), gate_key]
        )
        return self.folder / f"{gate.name}-{hashlib.sha256(material.encode()).hexdigest()[:40]}.json"

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


def open_cache(folder: Path, repository: Path) -> Cache | None:
    """The cache in `folder`, or None (no caching) when that folder lies inside `repository` or
    its secret cannot be read or made."""
    secret = folder_secret(folder, repository)
    return Cache(folder.resolve(), secret) if secret is not None else None
