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


DELTA_PROPERTY = "delta"
"""The release delta's key: a supply-chain gate's share of it in its stats, and where the document
records an advisory's `Finding.delta_mark` (gates/sbom/delta.py)."""


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
class Remediation:
    """How a finding is fixed: for an advisory, the versions that fix it (none published: empty)."""

    fixed_versions: tuple[str, ...]

    @property
    def text(self) -> str:
        if not self.fixed_versions:
            return "no fixed version published"
        return f"upgrade to {', '.join(self.fixed_versions)}"


class Decides(str, enum.Enum):
    """What a counted finding does to its gate whatever its severity and the thresholds, when one of
    the gate's own policy keys says so (licence `unknown: warn`, a delta choice)."""

    WARN = "warn"
    FAIL = "fail"


class DeltaMark(str, enum.Enum):
    """With `gates run --since`, where an advisory comes from: this change brought its component or
    version (introduced), or it was disclosed since on a component the release shipped unchanged."""

    INTRODUCED = "introduced"
    DISCLOSED = "disclosed"

    def __str__(self) -> str:
        return self.value


DETAILS: Mapping[str, str] = {
    "fix": "Fix",
    "category": "Licence category",
    "expression": "Licence",
    "declared": "Declared licence",
    "cvss_score": "CVSS score",
    "confidence": "Confidence",
    "evidence": "Evidence",
    "description": "Advisory",
    "url": "URL",
}
"""Finding properties a report shows a reader as details, with their labels, in this order: the
names are part of the finding contract, so any gate (a third party's too) gets a property shown by
recording it under one of them; reports know only `Finding.details`."""

# Where the document (findings.json, verdict.json) records the typed fields: in `properties`,
# under the names verdicts have always used, so the format is unchanged.
_HELP_URI = "more_info"
_HELP_URI_READ = (_HELP_URI, "help_uri")  # the sarif gate's verdicts recorded `help_uri`
_FIXED_VERSIONS = "fixed_versions"
_MANIFEST = "manifest"
_DECIDES = "decides"
_DELTA_MARK = DELTA_PROPERTY
_RECORDED_NAMES = frozenset({*_HELP_URI_READ, _FIXED_VERSIONS, _MANIFEST, _DECIDES, _DELTA_MARK})
_DECIDES_VALUES = frozenset(d.value for d in Decides)
_DELTA_MARK_VALUES = frozenset(m.value for m in DeltaMark)


@dataclass(frozen=True)
class Finding:
    """One normalised result of a gate. `message` and `properties` must never hold secrets or PII
    in clear text: gates mask them before they build the finding.

    `properties` are the gate's own data, recorded and shown as they are; what every report needs
    to understand is typed (`help_uri`, `remediation`, `manifest`, `decides`, `delta_mark`,
    `suppression`)."""

    gate: str
    rule: str
    severity: Severity
    message: str
    location: Location
    fingerprint: str
    aliases: tuple[str, ...] = ()
    properties: Mapping[str, JSON] = field(default_factory=dict)
    help_uri: str | None = None
    """A page that explains the rule (bandit's more_info, a SARIF rule's helpUri)."""
    remediation: Remediation | None = None
    """How to fix it, where the gate knows (an advisory's fixed versions)."""
    manifest: str | None = None
    """For a finding without a file (a component, a URL): the repository file that declares what it
    is about (a lock file, requirements.txt), where reports that need a file show it."""
    decides: Decides | None = None
    """Set by the gate's `evaluate` when its policy says what this finding does (see Decides)."""
    delta_mark: DeltaMark | None = None
    """Set on an advisory when a run is compared with a release (`--since`)."""
    suppression: Suppression | None = None
    """Set by the gate's pure `evaluate` only, never by collect (so never in findings.json): the
    engine takes it off the finding and records it in the verdict as the finding's waiver."""

    def recorded_properties(self) -> dict[str, JSON]:
        """`properties` with the typed fields as the document records them."""
        recorded = dict(self.properties)
        if self.help_uri is not None:
            recorded[_HELP_URI] = self.help_uri
        if self.remediation is not None:
            recorded[_FIXED_VERSIONS] = list(self.remediation.fixed_versions)
        if self.manifest is not None:
            recorded[_MANIFEST] = self.manifest
        if self.decides is not None:
            recorded[_DECIDES] = self.decides.value
        if self.delta_mark is not None:
            recorded[_DELTA_MARK] = self.delta_mark.value
        return recorded

    def details(self) -> tuple[tuple[str, str], ...]:
        """(label, text) of each property in DETAILS that holds a value, in DETAILS' order."""
        shown = []
        for key, label in DETAILS.items():
            value = self.properties.get(key)
            if value in (None, "", [], {}) or isinstance(value, dict):
                continue
            text = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
            shown.append((label, text))
        return tuple(shown)

    def to_json(self) -> dict[str, JSON]:
        return {
            "gate": self.gate,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "location": self.location.to_json(),
            "fingerprint": self.fingerprint,
            "aliases": list(self.aliases),
            "properties": self.recorded_properties(),
        }

    def __post_init__(self) -> None:
        # A finding built with the recorded names in its properties (read from a document, or made
        # by a gate written against the document) gets them as its typed fields: one representation.
        if _RECORDED_NAMES.isdisjoint(self.properties):
            return
        rest = dict(self.properties)
        help_uri = next((rest.pop(k) for k in _HELP_URI_READ if isinstance(rest.get(k), str)), None)
        fixed = rest.pop(_FIXED_VERSIONS) if isinstance(rest.get(_FIXED_VERSIONS), list) else None
        manifest = rest.pop(_MANIFEST) if isinstance(rest.get(_MANIFEST), str) else None
        decides = rest.pop(_DECIDES) if rest.get(_DECIDES) in _DECIDES_VALUES else None
        mark = rest.pop(_DELTA_MARK) if rest.get(_DELTA_MARK) in _DELTA_MARK_VALUES else None
        typed = {
            "help_uri": help_uri,
            "remediation": Remediation(tuple(str(v) for v in fixed)) if fixed is not None else None,
            "manifest": manifest,
            "decides": Decides(decides) if decides is not None else None,
            "delta_mark": DeltaMark(mark) if mark is not None else None,
        }
        for name, value in typed.items():
            if value is not None and getattr(self, name) is None:
                object.__setattr__(self, name, value)
        object.__setattr__(self, "properties", rest)

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
            properties=dict(data.get("properties", {})),  # typed fields taken out by __post_init__
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
