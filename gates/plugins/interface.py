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

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gates.model import JSON, Finding


class GateError(Exception):
    """The gate could not collect; the message says why in one line and what would fix it."""


class ToolMissing(GateError):
    """The tool the gate runs is not installed."""


@dataclass(frozen=True)
class CollectContext:
    """Everything a collect step may use. `settings` is the gate's block of the effective policy."""

    root: Path
    settings: Mapping[str, Any]
    out_dir: Path
    """The run's output folder, for reading what earlier runs left there (never for writing)."""
    deadline: float
    only_paths: tuple[str, ...] | None = None
    """Restrict the scan to these repository-relative paths (staged files in a pre-commit hook)."""
    options: Mapping[str, str] = field(default_factory=dict)
    """Gate inputs given on the command line as `--input NAME=VALUE` (a URL, a report file)."""

    def remaining(self) -> float:
        """Seconds left before the gate's timeout."""
        return self.deadline - time.monotonic()


@dataclass(frozen=True)
class Collected:
    findings: Sequence[Finding]
    stats: Mapping[str, JSON] = field(default_factory=dict)
    artefacts: Mapping[str, str] = field(default_factory=dict)
    """File name -> text of release artefacts (an SBOM, the next benchmark baseline). The engine
    writes them into the output folder with the other outputs, also when the result came from the
    cache; a gate never writes into the output folder itself."""
    cacheable: bool = True
    """False when the result is incomplete for a reason that may pass (a service that could not be
    reached): the engine then does not keep it for the next run."""


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
