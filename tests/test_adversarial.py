"""The adversarial review of issue 14: one test per case, each an attack a contributor or a careless
user can make, run with the real tools on real git repositories (docs/security.md lists them)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.engine.cache import Cache
from gates.model import Collection
from tests.conftest import VULNERABLE_CODE, CliResult, Repo

SAST_POLICY = "version: 1\ngates:\n  sast: {fail_on: high}\n"


def _verdict(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "verdict.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _gate(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g["name"] == name)  # type: ignore[no-any-return]


# --- 5: the collect cache -------------------------------------------------------------------------


def _emptied(entry: Path) -> None:
    """The attacker's edit: the entry's findings dropped, whatever else the file holds."""
    text = entry.read_text(encoding="utf-8")
    start = text.index("{")
    data = json.loads(text[start:])
    data["findings"] = []
    entry.write_text(text[:start] + json.dumps(data), encoding="utf-8")


def test_case5_an_edited_or_repository_supplied_cache_entry_is_a_miss(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": SAST_POLICY})
    assert run_cli("run", repo.root, "--format", "json").code == 1
    entries = [
        *Path(os.environ["GATES_CACHE_DIR"]).glob("sast-*.json"),
        *(repo.root / ".gates" / "cache").glob("sast-*.json"),
    ]
    assert len(entries) == 1
    _emptied(entries[0])
    assert run_cli("run", repo.root, "--format", "json").code == 1
    assert not _gate(_verdict(repo.root / ".gates"), "sast")["cached"]

    # A cache committed into the repository, entry and secret both, made valid with that secret:
    # the cache folder points into the repository, so it is never read.
    inside = repo.root / ".cache" / "gates"
    forged = Cache(inside, b"a secret the attacker chose")
    collection = json.loads(entries[0].read_text(encoding="utf-8").partition("\n")[2])
    forged.store(inside / entries[0].name, Collection.from_json({**collection, "findings": []}))
    (inside / "secret").write_bytes(forged.secret)
    repo.commit("cache")
    monkeypatch.setenv("GATES_CACHE_DIR", str(inside))
    assert run_cli("run", repo.root, "--format", "json").code == 1
    assert not _gate(_verdict(repo.root / ".gates"), "sast")["cached"]
