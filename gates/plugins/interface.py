"""The contract every gate implements, built-in or third-party.

A gate is registered in the `gates.plugins` entry-point group under its name; the entry point names a
class that the registry instantiates without arguments. A gate has two steps:

- `collect` runs the tool and returns normalised findings. It is the slow part: the engine caches it by
  `cache_key`, runs it in parallel with other gates and turns any `GateError` (or any other exception)
  into an `error` status, never a pass.
- `evaluate` is pure (no I/O, no clock): it keeps the findings that count under the gate's policy
  settings. The engine then applies what every gate shares: path globs, waivers, baseline, thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from gates.errors import GateError, ToolMissing
from gates.model import CollectContext, Collected, Finding

# What a gate module imports to implement the contract; the types live where the engine and the
# helpers of several gates (sbom/, util/) can use them without importing the plugins.
__all__ = ["CollectContext", "Collected", "Gate", "GateError", "Preparing", "ToolMissing"]


@runtime_checkable
class Gate(Protocol):
    name: str
    """The key of the gate in the policy, in findings and in `--only`."""
    version: str
    description: str
    settings_schema: Mapping[str, Any]
    """JSON Schema `properties` of the gate's own policy keys (the shared keys are added for it)."""

    def tool_versions(self) -> Mapping[str, str]:
        """Versions of the tools the gate runs; must be cheap (no subprocess) and never raise:
        a missing tool is reported as "missing"."""
        ...

    def cache_key(self, ctx: CollectContext) -> str | None:
        """A digest of everything `collect` reads (input contents, collect-time settings), or None
        when the result must not be cached (a live URL, a remote database)."""
        ...

    def collect(self, ctx: CollectContext) -> Collected: ...

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        """Pure: the findings that count under `settings`, possibly with adjusted severity."""
        ...


@runtime_checkable
class Preparing(Protocol):
    """A gate whose collect has set-up worth starting early. The engine calls `prepare` with the
    gate's settings as soon as the run knows the gate will collect the whole repository (a run
    without the cache: right after the policy is read, while the repository's subject is taken).
    It may only start, in the background, work that reads and runs nothing of the repository
    (importing a tool in a helper process); it must return at once and never raise."""

    def prepare(self, settings: Mapping[str, Any]) -> None: ...
