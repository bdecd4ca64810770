"""Loading one entry-point group in deterministic steps, for gates (`gates.plugins`) and report
formats (`gates.reports`) alike: built-in and third-party entries are found the same way.

Entries are loaded sorted by name; an entry point may name a class (instantiated without
arguments) or an object. One that fails to import, does not satisfy its contract, calls itself by
another name or is registered twice is kept aside with the reason instead of crashing the run.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeGuard, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Group(Generic[T]):
    loaded: Mapping[str, T]
    broken: Mapping[str, str]
    """Entry-point name -> why it could not be loaded."""
    distributions: Mapping[str, str]
    """Entry-point name -> 'distribution version' that provides it."""


def _load(ep: importlib.metadata.EntryPoint, accept: Callable[[object], TypeGuard[T]], contract: str) -> T:
    obj = ep.load()
    item = obj() if isinstance(obj, type) else obj
    if not accept(item):
        raise TypeError(f"{ep.value} does not implement the {contract}")
    name = getattr(item, "name", None)
    if name != ep.name:
        raise TypeError(f"{ep.value} calls itself {name!r}, registered as {ep.name!r}")
    return item


def _describe(dist: importlib.metadata.Distribution | None, known: dict[str, str]) -> str:
    """'name version' of a distribution, its metadata parsed once for all its entry points (each
    parse costs a few milliseconds of every command's start-up)."""
    if dist is None:
        return "unknown"
    where = str(getattr(dist, "_path", id(dist)))
    if where not in known:
        metadata = dist.metadata
        known[where] = f"{metadata['Name']} {metadata['Version']}"
    return known[where]


def load_group(group: str, accept: Callable[[object], TypeGuard[T]], contract: str) -> Group[T]:
    loaded: dict[str, T] = {}
    broken: dict[str, str] = {}
    dists: dict[str, str] = {}
    described: dict[str, str] = {}
    for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
        dists[ep.name] = _describe(ep.dist, described)
        if ep.name in loaded or ep.name in broken:
            broken[ep.name] = f"registered twice (again by {dists[ep.name]})"
            loaded.pop(ep.name, None)
            continue
        try:
            loaded[ep.name] = _load(ep, accept, contract)
        except Exception as e:  # a third-party plugin may raise anything at import
            broken[ep.name] = f"{type(e).__name__}: {e}"
    return Group(loaded, broken, dists)
