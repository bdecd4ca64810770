"""The verdict: one document that decides whether a release may be tagged and published.

The engine hands typed, frozen objects (`Verdict`, `GateResult`, `JudgedFinding`, the waiver
ledger) to every report and to release/. `to_json` gives the document
`schemas/verdict.schema.json` describes; the schema checks it whenever it is written (`dump`) and
read back (`load`: merge, baseline, report, history), so a corrupt or hand-edited file is exit 2.
Counts and the summary are derived from the findings, never stored twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from gates import __version__
from gates.errors import InputError
from gates.governance import LEDGER_STATUSES, GovernanceResult, LedgerEntry, assess
from gates.model import JSON, Collection, Finding, Severity, Status, Suppression
from gates.policy.model import Governance, Waiver
from gates.sbom.changes import Delta
from gates.schemas import describe_path, iter_errors, load_schema
from gates.util.atomic import dump_json
from gates.util.jsonfile import parse_json
from gates.util.mask import mask_finding, mask_message
from gates.util.yamlfile import read_input_text

VERDICT_VERSION = 1
TOOL_NAME = "governance-gates"
MAX_VERDICT_BYTES = 512 * 1024 * 1024
"""A verdict or findings file may list every finding of a large repository."""


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    """A verdict's `started_at` (`2026-06-01T12:00:00Z`; Python 3.10 reads no `Z`)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class JudgedFinding:
    """A finding as the policy judged it: new or known, waived (by a policy waiver or by evidence
    the gate attested, such as a VEX statement) and whether it counts towards the thresholds."""

    finding: Finding
    new: bool
    counted: bool
    waiver: Waiver | None = None
    suppression: Suppression | None = None
    """A policy waiver takes precedence where both apply."""

    @property
    def waived(self) -> bool:
        return self.waiver is not None or self.suppression is not None

    def sort_key(self) -> tuple[bool, tuple[int, str, str, int, str, str]]:
        """Counted findings first, then the finding's own order: what reports list first."""
        return not self.counted, self.finding.sort_key()

    def to_json(self) -> dict[str, JSON]:
        data = self.finding.to_json()
        del data["gate"]
        data["new"] = self.new
        data["counted"] = self.counted
        waived = self.waiver or self.suppression
        data["waived"] = waived.to_json() if waived is not None else None
        return data

    @classmethod
    def from_json(cls, gate: str, data: Mapping[str, Any]) -> JudgedFinding:
        waived = data["waived"]
        vex = waived is not None and waived.get("kind") == Suppression.VEX
        return cls(
            finding=Finding.from_json({**data, "gate": gate}),
            new=data["new"],
            counted=data["counted"],
            waiver=Waiver.from_json(waived) if waived is not None and not vex else None,
            suppression=Suppression.from_json(waived) if vex else None,
        )


@dataclass(frozen=True)
class Counts:
    total: int
    counted: int
    new: int
    waived: int
    by_severity: Mapping[Severity, int]
    """Counted findings per severity, every severity present."""

    @classmethod
    def of(cls, findings: Sequence[JudgedFinding]) -> Counts:
        counted = Counter(j.finding.severity for j in findings if j.counted)
        return cls(
            total=len(findings),
            counted=sum(counted.values()),
            new=sum(1 for j in findings if j.new),
            waived=sum(1 for j in findings if j.waived),
            by_severity={s: counted.get(s, 0) for s in Severity},
        )

    @property
    def existing(self) -> int:
        return self.total - self.new

    def to_json(self) -> dict[str, JSON]:
        return {
            "total": self.total,
            "counted": self.counted,
            "new": self.new,
            "waived": self.waived,
            "by_severity": {s.value: self.by_severity[s] for s in Severity},
        }


@dataclass(frozen=True)
class GateResult:
    """One gate's decision, with what it collected (None: it did not run here)."""

    name: str
    mode: str
    status: Status
    reason: str
    findings: tuple[JudgedFinding, ...] = ()
    version: str | None = None
    tool_versions: Mapping[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    cached: bool = False
    stats: Mapping[str, JSON] = field(default_factory=dict)
    project: str | None = None
    """The monorepo project this result judges; None for the top level of the policy."""

    @property
    def label(self) -> str:
        """How reports name the entry: `api/sast` for a monorepo project's gate, else `sast`."""
        return f"{self.project}/{self.name}" if self.project else self.name

    @property
    def key(self) -> tuple[str, str]:
        """Gate entries are unique by (project, gate); "" is the top level of the policy."""
        return self.project or "", self.name

    @property
    def counts(self) -> Counts:
        return Counts.of(self.findings)

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "name": self.name,
            "status": self.status.value,
            "mode": self.mode,
            "reason": self.reason,
            "version": self.version,
            "tool_versions": dict(sorted(self.tool_versions.items())),
            "duration_s": round(self.duration_s, 3),
            "cached": self.cached,
            "stats": dict(self.stats),
            "counts": self.counts.to_json(),
            "findings": [j.to_json() for j in self.findings],
        }
        if self.project:
            data["project"] = self.project
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateResult:
        return cls(
            name=data["name"],
            mode=data["mode"],
            status=Status(data["status"]),
            reason=data["reason"],
            findings=tuple(JudgedFinding.from_json(data["name"], f) for f in data["findings"]),
            version=data["version"],
            tool_versions=dict(data["tool_versions"]),
            duration_s=data["duration_s"],
            cached=data["cached"],
            stats=dict(data["stats"]),
            project=data.get("project"),
        )


@dataclass(frozen=True)
class Subject:
    """What was judged: the repository folder and, in a git repository, its commit."""

    path: str
    commit: str | None = None
    tree: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    scanned: str | None = None
    """What was scanned, relative to the top of the repository ("." for all of it); None where
    unknown (not in git, or a verdict of gates before it was recorded)."""
    tag: str | None = None
    """The release tag, when release control records it."""

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "path": self.path,
            "commit": self.commit,
            "tree": self.tree,
            "branch": self.branch,
            "dirty": self.dirty,
        }
        for key, value in (("scanned", self.scanned), ("tag", self.tag)):
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subject:
        return cls(
            data["path"],
            data["commit"],
            data["tree"],
            data["branch"],
            data["dirty"],
            data.get("scanned"),
            data.get("tag"),
        )


@dataclass(frozen=True)
class ProjectSummary:
    name: str
    path: str
    enabled_gates: tuple[str, ...]
    required_gates: tuple[str, ...]

    def to_json(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "path": self.path,
            "enabled_gates": list(self.enabled_gates),
            "required_gates": list(self.required_gates),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProjectSummary:
        return cls(data["name"], data["path"], tuple(data["enabled_gates"]), tuple(data["required_gates"]))


@dataclass(frozen=True)
class PolicySummary:
    """What the verdict records of the policy it was made under."""

    name: str
    source: str
    digest: str
    branch: str | None
    environment: str | None
    applied_overrides: tuple[str, ...]
    enabled_gates: tuple[str, ...]
    required_gates: tuple[str, ...] | None = None
    """None in verdicts written before gates recorded it."""
    governance: Governance | None = None
    """None in verdicts written before gates recorded it."""
    projects: tuple[ProjectSummary, ...] | None = None
    """The monorepo projects; None without `paths:` sections."""

    def expected(self) -> dict[tuple[str, str], bool]:
        """Every (project, gate) the policy enables or requires, with whether it is required;
        "" is the top level."""
        scopes = [("", self.enabled_gates, self.required_gates or ())]
        scopes += [(p.name, p.enabled_gates, p.required_gates) for p in self.projects or ()]
        return {
            (project, name): name in required
            for project, enabled, required in scopes
            for name in {*enabled, *required}
        }

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "name": self.name,
            "source": self.source,
            "digest": self.digest,
            "branch": self.branch,
            "environment": self.environment,
            "applied_overrides": list(self.applied_overrides),
            "enabled_gates": list(self.enabled_gates),
        }
        if self.required_gates is not None:
            data["required_gates"] = list(self.required_gates)
        if self.governance is not None:
            data["governance"] = self.governance.to_json()
        if self.projects is not None:
            data["projects"] = [p.to_json() for p in self.projects]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PolicySummary:
        required = data.get("required_gates")
        governance = data.get("governance")
        projects = data.get("projects")
        return cls(
            name=data["name"],
            source=data["source"],
            digest=data["digest"],
            branch=data["branch"],
            environment=data["environment"],
            applied_overrides=tuple(data["applied_overrides"]),
            enabled_gates=tuple(data["enabled_gates"]),
            required_gates=tuple(required) if required is not None else None,
            governance=Governance.from_json(governance) if governance is not None else None,
            projects=tuple(ProjectSummary.from_json(p) for p in projects) if projects is not None else None,
        )


@dataclass(frozen=True)
class BaselineRef:
    """The earlier verdict findings were compared with (new or known)."""

    path: str
    commit: str | None
    started_at: str

    def to_json(self) -> dict[str, JSON]:
        return {"path": self.path, "commit": self.commit, "started_at": self.started_at}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaselineRef:
        return cls(data["path"], data["commit"], data["started_at"])


@dataclass(frozen=True)
class Summary:
    gates: Mapping[Status, int]
    findings: int
    counted: int
    waived: int
    new: int

    def to_json(self) -> dict[str, JSON]:
        return {
            "gates": {s.value: self.gates[s] for s in Status},
            "findings": self.findings,
            "counted": self.counted,
            "waived": self.waived,
            "new": self.new,
        }


@dataclass(frozen=True)
class Verdict:
    """One decision on whether a release may be tagged and published."""

    status: Status
    subject: Subject
    policy: PolicySummary
    started_at: dt.datetime
    duration_s: float
    scope: tuple[str, ...] | None
    """The gates this run was limited to (`--only`); None: all the policy enables."""
    baseline: BaselineRef | None
    gates: tuple[GateResult, ...]
    waivers: tuple[LedgerEntry, ...]
    governance: GovernanceResult | None
    """None in verdicts written before gates recorded it."""
    project: str | None = None
    """The monorepo project this verdict is for; None for the whole repository or several."""
    tool_version: str = __version__
    delta: Delta | None = None
    """What changed since the release `gates run --since` compared with (gates.sbom.delta)."""

    verdict_version: ClassVar[int] = VERDICT_VERSION

    @classmethod
    def decide(
        cls,
        gates: Sequence[GateResult],
        waivers: Sequence[LedgerEntry],
        governance: GovernanceResult,
        *,
        subject: Subject,
        policy: PolicySummary,
        started_at: dt.datetime,
        duration_s: float,
        scope: Sequence[str] | None,
        baseline: BaselineRef | None,
        project: str | None = None,
        tool_version: str = __version__,
        delta: Delta | None = None,
    ) -> Verdict:
        """A verdict whose status combines its gates' and the ledger's."""
        return cls(
            status=Status.combine([*(g.status for g in gates), governance.status]),
            subject=subject,
            policy=policy,
            started_at=started_at,
            duration_s=round(duration_s, 3),
            scope=tuple(sorted(scope)) if scope is not None else None,
            baseline=baseline,
            gates=tuple(gates),
            waivers=tuple(waivers),
            governance=governance,
            project=project,
            tool_version=tool_version,
            delta=delta,
        )

    @property
    def started(self) -> str:
        """`started_at` as the verdict writes it (UTC, seconds)."""
        return _time(self.started_at)

    @property
    def summary(self) -> Summary:
        statuses = Counter(g.status for g in self.gates)
        counts = [g.counts for g in self.gates]
        return Summary(
            gates={s: statuses.get(s, 0) for s in Status},
            findings=sum(c.total for c in counts),
            counted=sum(c.counted for c in counts),
            waived=sum(c.waived for c in counts),
            new=sum(c.new for c in counts),
        )

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "verdict_version": VERDICT_VERSION,
            "status": self.status.value,
            "subject": self.subject.to_json(),
            "policy": self.policy.to_json(),
            "tool": {"name": TOOL_NAME, "version": self.tool_version},
            "started_at": self.started,
            "duration_s": round(self.duration_s, 3),
            "scope": sorted(self.scope) if self.scope is not None else None,
            "baseline": self.baseline.to_json() if self.baseline is not None else None,
            "gates": [g.to_json() for g in self.gates],
            "waivers": [w.to_json() for w in self.waivers],
            "summary": self.summary.to_json(),
        }
        if self.governance is not None:
            data["governance"] = self.governance.to_json()
        if self.project:
            data["project"] = self.project
        if self.delta is not None:
            data["delta"] = self.delta.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        governance = data.get("governance")
        baseline = data["baseline"]
        return cls(
            status=Status(data["status"]),
            subject=Subject.from_json(data["subject"]),
            policy=PolicySummary.from_json(data["policy"]),
            started_at=parse_time(data["started_at"]),
            duration_s=data["duration_s"],
            scope=tuple(data["scope"]) if data["scope"] is not None else None,
            baseline=BaselineRef.from_json(baseline) if baseline is not None else None,
            gates=tuple(GateResult.from_json(g) for g in data["gates"]),
            waivers=tuple(LedgerEntry.from_json(w) for w in data["waivers"]),
            governance=GovernanceResult.from_json(governance) if governance is not None else None,
            project=data.get("project"),
            tool_version=data["tool"]["version"],
            delta=Delta.from_json(data["delta"]) if data.get("delta") is not None else None,
        )


EXIT_CODES: Mapping[Status, int] = {
    Status.PASS: 0,
    Status.WARN: 0,
    Status.SKIPPED: 0,
    Status.FAIL: 1,
    Status.ERROR: 3,
}


def exit_code(verdict: Verdict) -> int:
    return EXIT_CODES[verdict.status]


def validate(document: object, source: str) -> None:
    """A document that is not a gates verdict is an InputError naming `source`."""
    for error in iter_errors(document, load_schema("verdict")):
        raise InputError(
            f"{source}: not a gates verdict: {describe_path(error.absolute_path)}: {error.message}"
        )
    if isinstance(document, Mapping):  # the schema says it is one
        _check_dates(document, source)


def _check_dates(verdict: Mapping[str, Any], source: str) -> None:
    """The schema checks the shape of dates (2026-13-45 has it); the calendar is checked here."""
    _check_date(("started_at",), verdict["started_at"], source)
    for i, waiver in enumerate(verdict["waivers"]):
        _check_date(("waivers", i, "expires"), waiver.get("expires"), source)


def _check_date(path: tuple[str | int, ...], value: object, source: str) -> None:
    if not isinstance(value, str):
        return
    try:
        dt.date.fromisoformat(value[:10])
        dt.time.fromisoformat(value[11:19] or "00:00:00")
    except ValueError as e:
        raise InputError(f"{source}: not a gates verdict: {describe_path(path)}: {value}: {e}") from e


_FIXED_CLOCK = {"started_at": "2000-01-01T00:00:00Z", "duration_s": 0}


def dump(verdict: Verdict) -> str:
    """verdict.json's text, checked against the schema before it is written: its findings aside,
    since each comes from a typed Finding and checking thousands of them costs seconds (a warm run
    takes less). Its clock readings (when it started, how long it and each gate took) are checked
    apart and the rest with fixed ones: within `remembering_valid`, a verdict the same but for them
    (a warm run's) is then known valid without jsonschema. A verdict read back (`load`) is checked
    whole."""
    document = verdict.to_json()
    _check_clock(document)
    gates = [{**g, "findings": [], "duration_s": 0} for g in document["gates"]]
    validate({**document, **_FIXED_CLOCK, "gates": gates}, "verdict")
    return dump_json(document)


def _check_clock(document: Mapping[str, Any]) -> None:
    """What the schema says of the readings `dump` fixes: durations are numbers of at least 0,
    started_at a UTC time to the second (and a real one)."""
    durations: list[tuple[tuple[str | int, ...], Any]] = [(("duration_s",), document["duration_s"])]
    durations += [(("gates", i, "duration_s"), g["duration_s"]) for i, g in enumerate(document["gates"])]
    for path, value in durations:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise InputError(f"verdict: not a gates verdict: {describe_path(path)}: {value!r} is no duration")
    started = document["started_at"]
    pattern = load_schema("verdict")["properties"]["started_at"]["pattern"]
    if not isinstance(started, str) or not re.search(pattern, started):
        raise InputError(f"verdict: not a gates verdict: started_at: {started!r} is no UTC time")
    _check_date(("started_at",), started, "verdict")


def load(path: Path) -> Verdict:
    """A verdict file, validated; any problem is an InputError naming the file."""
    data = load_json(path)
    validate(data, str(path))
    return Verdict.from_json(data)


def masked(verdict: Verdict) -> Verdict:
    """A verdict read back (older than masking, or edited) as every output may show it: `gates
    report` and `gates merge` render it again, masked as a fresh run's findings are."""
    gates = tuple(
        replace(
            g,
            reason=mask_message(g.reason),
            findings=tuple(replace(j, finding=mask_finding(j.finding)) for j in g.findings),
        )
        for g in verdict.gates
    )
    return replace(verdict, gates=gates)


def load_json(path: Path) -> Any:
    return parse_json(read_input_text(path, MAX_VERDICT_BYTES), str(path))


def baseline_fingerprints(verdict: Verdict) -> dict[str, frozenset[str]]:
    """Per gate, the fingerprints a baseline verdict knew, waived or not (in any project)."""
    known: dict[str, set[str]] = {}
    for gate in verdict.gates:
        known.setdefault(gate.name, set()).update(j.finding.fingerprint for j in gate.findings)
    return {name: frozenset(prints) for name, prints in known.items()}


def baseline_ref(verdict: Verdict, path: Path) -> BaselineRef:
    return BaselineRef(str(path), verdict.subject.commit, verdict.started)


def merge(parts: Sequence[tuple[Path, Verdict]], complete: bool = True) -> Verdict:
    """One verdict from verdicts that separate jobs produced with `gates run --only` or
    `--project` (monorepo projects of the same policy).

    The parts must come from the same policy, commit, tree and scanned path; the merge is dirty
    when any part is. A gate the policy enables or requires, in any of its projects, that no part
    carries becomes an error (fail closed), so a job that never ran cannot pass silently; so does
    a required gate that a part skipped. `complete=False` skips that check: the result is itself a
    part, for a later merge.
    """
    first_path, first = parts[0]
    gates: dict[tuple[str, str], GateResult] = {}
    for path, part in parts:
        for key in ("digest", "branch", "environment"):
            if getattr(part.policy, key) != getattr(first.policy, key):
                raise InputError(
                    f"{path}: policy {key} {getattr(part.policy, key)!r} differs from "
                    f"{first_path}'s {getattr(first.policy, key)!r}"
                )
        for key in ("commit", "tree", "scanned"):
            if getattr(part.subject, key) != getattr(first.subject, key):
                raise InputError(
                    f"{path}: made for {key} {getattr(part.subject, key)}, "
                    f"{first_path} for {getattr(first.subject, key)}"
                )
        for gate in part.gates:
            if gate.key in gates:
                raise InputError(f"{path}: gate {gate.label!r} is also in another part")
            gates[gate.key] = gate
    for slot, required in sorted(first.policy.expected().items()) if complete else ():
        project = slot[0] or None
        if slot not in gates:
            which = "required gate" if required else "gate"
            reason = f"no result: no merged part carried this {which} (fail closed)"
            gates[slot] = GateResult(slot[1], "enforce", Status.ERROR, reason, project=project)
        elif required and gates[slot].status is Status.SKIPPED:
            reason = f"required gate did not run: {gates[slot].reason} (fail closed)"
            gates[slot] = replace(gates[slot], status=Status.ERROR, reason=reason)
    ledger = merge_ledgers([p.waivers for _, p in parts])
    starts = [p.started_at for _, p in parts]
    ends = [p.started_at + dt.timedelta(seconds=p.duration_s) for _, p in parts]
    projects = {p.project for _, p in parts}
    delta = Delta.merge([(p.project, p.delta) for _, p in parts])
    return Verdict.decide(
        [gates[slot] for slot in sorted(gates)],
        ledger,
        assess(ledger, first.policy.governance or Governance()),
        subject=replace(first.subject, dirty=_merged_dirty([p.subject.dirty for _, p in parts])),
        policy=first.policy,
        started_at=min(starts),
        duration_s=(max(ends) - min(starts)).total_seconds(),
        scope=None,
        baseline=first.baseline,
        project=projects.pop() if len(projects) == 1 and None not in projects else None,
        tool_version=first.tool_version,
        delta=delta,
    )


def _merged_dirty(parts: Sequence[bool | None]) -> bool | None:
    """Dirty when any part was made on a dirty tree; unknown when any could not tell."""
    if any(parts):
        return True
    return None if None in parts else False


def merge_ledgers(ledgers: Sequence[Sequence[LedgerEntry]]) -> list[LedgerEntry]:
    """One entry per waiver: matches add up, and the most telling status wins (the part that ran
    the waiver's gate knows whether it was used; the others say `not_evaluated`)."""
    merged: dict[Waiver, LedgerEntry] = {}
    for ledger in ledgers:
        for entry in ledger:
            known = merged.get(entry.waiver)
            if known is None:
                merged[entry.waiver] = entry
                continue
            matched = (known.matched or 0) + (entry.matched or 0)
            statuses = [known.status, entry.status]
            if matched:
                # A top-level waiver one project used is not unused because another had no match.
                statuses = [s for s in statuses if s != "unused"]
            status = min(statuses, key=LEDGER_STATUSES.index)
            merged[entry.waiver] = LedgerEntry(entry.waiver, status, matched)
    return list(merged.values())


def collections_document(
    collections: Sequence[Collection], subject: Subject, project: str | None = None
) -> dict[str, JSON]:
    """`findings.json`: what the gates collected, before any policy; input of `gates evaluate`.
    `project`: the monorepo project they were collected for (absent: the top level)."""
    return {
        "findings_version": VERDICT_VERSION,
        "subject": subject.to_json(),
        **({"project": project} if project is not None else {}),
        "collections": [c.to_json(with_artefacts=False) for c in collections],
    }


@dataclass(frozen=True)
class CollectedFile:
    """A loaded `findings.json`."""

    subject: Subject
    project: str | None
    collections: list[Collection]


def load_collections(path: Path) -> CollectedFile:
    data = load_json(path)
    if not isinstance(data, dict) or data.get("findings_version") != VERDICT_VERSION:
        raise InputError(f"{path}: not a gates findings file (findings_version {VERDICT_VERSION})")
    try:
        project = data.get("project")
        if project is not None and not isinstance(project, str):
            raise TypeError(f"project is {type(project).__name__}, not a string")
        collections = [Collection.from_json(c) for c in data["collections"]]
        return CollectedFile(Subject.from_json(data["subject"]), project, collections)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{path}: corrupt findings file: {type(e).__name__}: {e}") from e
