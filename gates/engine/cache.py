"""The collect cache: one file per gate and key, in the user's cache folder, authenticated.

The key covers the gate and tool versions, the masking rules the entry's findings were masked under
and the gate's own `cache_key` (input contents and collect-time settings), so an unchanged tree under
an unchanged tool is not scanned twice, and a hit is shown as it was stored. Entries
are sealed (gates/util/sealed.py): one the repository supplied or someone edited is a miss, and
any entry that cannot be read or verified is a miss: the gate runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from gates import __version__
from gates.model import Collection
from gates.plugins.interface import Gate
from gates.util.atomic import dump_json
from gates.util.mask import rules_digest
from gates.util.sealed import SealedFolder, folder_secret, keep_newest


@dataclass(frozen=True)
class Cache(SealedFolder):
    def entry_path(self, gate: Gate, gate_key: str) -> Path:
        material = json.dumps(
            [
                __version__,
                rules_digest(),
                gate.name,
                gate.version,
                sorted(gate.tool_versions().items()),
                gate_key,
            ]
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
        keep_newest(
            (p for p in path.parent.glob(f"{collection.gate}-*.json") if len(p.name) == len(path.name)),
            KEEP_PER_GATE,
        )


# Entries kept per gate: enough for a few branches or policies side by side in one checkout.
KEEP_PER_GATE = 8


def open_cache(folder: Path, within: Path) -> Cache | None:
    """The cache in `folder`, or None (no caching) when that folder lies inside the repository
    `within` lies in or its secret cannot be read or made."""
    secret = folder_secret(folder, within)
    return Cache(folder.resolve(), secret) if secret is not None else None
