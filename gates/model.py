"""The normalised data every gate produces and the engine consumes.

Everything here is frozen and converts to and from plain JSON values, so findings can be cached,
shipped between CI jobs and re-evaluated under another policy without re-scanning.
"""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

JSON = Any  # a value json.dumps accepts


class Severity(str, enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_ORDER = list(Severity)
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)


class Status(str, enum.Enum):
    """A gate's or the verdict's outcome; later members win when outcomes are combined."""

    SKIPPED = "skipped"
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def combine(statuses: Sequence[Status]) -> Status:
        order = list(Status)
        counted = [s for s in statuses if s is not Status.SKIPPED]
        return max(counted, key=order.index) if counted else Status.PASS


DECIDES_PROPERTY = "decides"
"""A gate's `evaluate` may set this finding property to "warn" or "fail" when one of its own policy
keys says what such a finding does to the gate (licence `unknown: warn`): counted, the finding warns
or fails the gate whatever its severity and the thresholds."""
DELTA_PROPERTY = "delta"
"""The release delta's mark on an advisory finding: introduced or disclosed since the previous
release (gates/sbom/delta.py)."""


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file in the repository and/or a logical place (a purl, a URL)."""

    path: str | None = None
    line: int | None = None
    logical: str | None = None

    @property
    def where(self) -> str:
        """How reports show the place: `path:line`, the logical place, or ""."""
        where = self.path or self.logical or ""
        return f"{where}:{self.line}" if self.line else where

    def to_json(self) -> dict[str, JSON]:
        return {"path": self.path, "line": self.line, "logical": self.logical}

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> Location:
        return cls(path=data.get("path"), line=data.get("line"), logical=data.get("logical"))


@dataclass(frozen=True)
class Suppression:
    """Evidence in the repository that a finding does not apply (a VEX statement), attested by the
    gate's `evaluate` on the finding: the engine records it like a waiver and does not count it."""

    VEX: ClassVar[str] = "vex"
    kind: str
    reason: str
    source: str
    """Where the evidence is written (`vex/app.cdx.json:23`)."""
    details: Mapping[str, JSON] = field(default_factory=dict)
    """The rest of what the verdict records of it (for VEX: format, vulnerability, products...)."""

    def to_json(self) -> dict[str, JSON]:
        return {**self.details, "kind": self.kind, "reason": self.reason, "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> Suppression:
        rest = {k: v for k, v in data.items() if k not in ("kind", "reason", "source")}
        return cls(data["kind"], data["reason"], data["source"], rest)


@dataclass(frozen=True)
class Finding:
    """One normalised result of a gate. `message` and `properties` must never hold secrets or PII
    in clear text: gates mask them before they build the finding."""

    gate: str
    rule: str
    severity: Severity
    message: str
    location: Location
    fingerprint: str
    aliases: tuple[str, ...] = ()
    properties: Mapping[str, JSON] = field(default_factory=dict)
    suppression: Suppression | None = None
    """Set by the gate's pure `evaluate` only, never by collect (so never in findings.json): the
    engine takes it off the finding and records it in the verdict as the finding's waiver."""

    def to_json(self) -> dict[str, JSON]:
        return {
            "gate": self.gate,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "location": self.location.to_json(),
            "fingerprint": self.fingerprint,
            "aliases": list(self.aliases),
            "properties": dict(self.properties),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> Finding:
        return cls(
            gate=data["gate"],
            rule=data["rule"],
            severity=Severity(data["severity"]),
            message=data["message"],
            location=Location.from_json(data["location"]),
            fingerprint=data["fingerprint"],
            aliases=tuple(data.get("aliases", ())),
            properties=dict(data.get("properties", {})),
        )

    def sort_key(self) -> tuple[int, str, str, int, str, str]:
        """Most severe first, then by place, so every output is deterministic."""
        return (
            -self.severity.rank,
            self.location.path or "",
            self.location.logical or "",
            self.location.line or 0,
            self.rule,
            self.fingerprint,
        )


def fingerprint(*parts: object) -> str:
    """A stable id for a finding, built from what identifies it (never from line numbers alone,
    so that a finding keeps its id when code above it moves)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Collection:
    """What one gate's collect step produced: findings plus how the collection went."""

    gate: str
    gate_version: str
    tool_versions: Mapping[str, str]
    findings: tuple[Finding, ...] = ()
    stats: Mapping[str, JSON] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    cached: bool = False
    artefacts: Mapping[str, str] = field(default_factory=dict)

    def to_json(self, with_artefacts: bool = True) -> dict[str, JSON]:
        return {
            "gate": self.gate,
            "gate_version": self.gate_version,
            "tool_versions": dict(sorted(self.tool_versions.items())),
            "findings": [f.to_json() for f in sorted(self.findings, key=Finding.sort_key)],
            "stats": dict(self.stats),
            "error": self.error,
            "duration_s": round(self.duration_s, 3),
            "cached": self.cached,
            **({"artefacts": dict(sorted(self.artefacts.items()))} if with_artefacts else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> Collection:
        return cls(
            gate=data["gate"],
            gate_version=data["gate_version"],
            tool_versions=dict(data["tool_versions"]),
            findings=tuple(Finding.from_json(f) for f in data["findings"]),
            stats=dict(data.get("stats", {})),
            error=data.get("error"),
            duration_s=float(data.get("duration_s", 0.0)),
            cached=bool(data.get("cached", False)),
            artefacts=dict(data.get("artefacts", {})),
        )


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
    inline_suppressions: bool = True
    """Whether the policy's governance lets the gate honour markers in code (`# nosec`, `pragma:
    allowlist secret`); off, only the policy's waivers excuse a finding. A gate that honours them
    makes this part of its cache key."""

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
