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


def store(path: Path, collection: Collection) -> None:
    write_text(path, dump_json(collection.to_json()))
