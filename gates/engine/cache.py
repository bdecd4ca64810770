"""The collect cache: one JSON file per gate and key, in the output folder's `cache/`.

The key covers the gate and tool versions and the gate's own `cache_key` (input contents and
collect-time settings), so an unchanged tree under an unchanged tool is not scanned twice. A cache
file that cannot be read is a miss, never an error: the gate simply runs again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gates import __version__
from gates.model import Collection
from gates.plugins.interface import Gate
from gates.util.atomic import dump_json, write_text


def entry_path(cache_dir: Path, gate: Gate, gate_key: str) -> Path:
    material = json.dumps(
        [__version__, gate.name, gate.version, sorted(gate.tool_versions().items()), gate_key]
    )
    return cache_dir / f"{gate.name}-{hashlib.sha256(material.encode()).hexdigest()[:40]}.json"


def load(path: Path) -> Collection | None:
    try:
        return Collection.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


# Entries kept per gate: enough for a few branches or policies side by side in one checkout.
KEEP_PER_GATE = 8


def store(path: Path, collection: Collection) -> None:
    write_text(path, dump_json(collection.to_json()))
    # Same name length: the entries of gate "sast", not of a gate called "sast-extra".
    siblings = sorted(
        (p for p in path.parent.glob(f"{collection.gate}-*.json") if len(p.name) == len(path.name)),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in siblings[KEEP_PER_GATE:]:
        old.unlink(missing_ok=True)
