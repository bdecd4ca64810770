"""Finding the installed gates through the `gates.plugins` entry-point group.

Built-in gates are registered exactly like a third party's. Discovery is deterministic (sorted by
name); a plugin that fails to import or does not satisfy the Gate protocol is kept aside with its
reason, so `gates list` can show it and a policy that enables it gets an error, not a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, TypeGuard

from gates.model import Finding
from gates.plugins.interface import CollectContext, Collected, Gate
from gates.util.entrypoints import load_group

ENTRY_POINT_GROUP = "gates.plugins"


@dataclass(frozen=True)
class Registry:
    gates: Mapping[str, Gate]
    broken: Mapping[str, str]
    """Entry-point name -> why it could not be loaded."""
    distributions: Mapping[str, str]
    """Entry-point name -> 'distribution version' that provides it."""

    def names(self) -> list[str]:
        return sorted({*self.gates, *self.broken})

    def bind(self, instances: Mapping[str, str]) -> Registry:
        """This registry with the policy's gate instances (name -> the plugin it `uses`) added, so
        an instance is looked up, run and judged like any gate."""
        if not instances:
            return self
        gates, broken = dict(self.gates), dict(self.broken)
        for name, plugin in instances.items():
            if plugin in self.gates:
                gates[name] = GateInstance(name, self.gates[plugin])
            else:
                broken[name] = f"uses {plugin!r}, which " + self.broken.get(plugin, "is not installed")
        dists = {
            **self.distributions,
            **{n: self.distributions.get(p, "unknown") for n, p in instances.items()},
        }
        return Registry(gates=gates, broken=broken, distributions=dists)


class GateInstance:
    """A plugin run under another name (`uses:` in the policy): its findings carry that name, so
    waivers, baselines and reports keep the instances apart."""

    def __init__(self, name: str, plugin: Gate) -> None:
        self.name = name
        self.plugin = plugin
        self.version = plugin.version
        self.description = f"{plugin.description} (uses: {plugin.name})"
        self.settings_schema: Mapping[str, Any] = plugin.settings_schema

    def tool_versions(self) -> Mapping[str, str]:
        return self.plugin.tool_versions()

    def cache_key(self, ctx: CollectContext) -> str | None:
        return self.plugin.cache_key(ctx)

    def collect(self, ctx: CollectContext) -> Collected:
        collected = self.plugin.collect(ctx)
        return replace(collected, findings=[replace(f, gate=self.name) for f in collected.findings])

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        return self.plugin.evaluate(findings, settings)


def _is_gate(item: object) -> TypeGuard[Gate]:
    return isinstance(item, Gate)


@cache
def load_registry() -> Registry:
    group = load_group(ENTRY_POINT_GROUP, _is_gate, "gates Gate protocol")
    return Registry(gates=group.loaded, broken=group.broken, distributions=group.distributions)
