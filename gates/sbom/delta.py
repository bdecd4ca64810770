"""The release delta: what the supply chain changed since a previous release's verdict.

The sbom gate records its inventory (name, version, purl, licences of every component) in its
stats, so every verdict, and the note `gates release` keeps on the release tag, knows what that
release shipped. Against that baseline each supply-chain gate's findings are annotated before the
gate evaluates them under its policy keys:

- sbom: a `component-added` record per new component, a `component-downgraded` record per
  downgrade (`new_components`, `downgrades`: ignore | warn | fail);
- licence: a `licence-category-changed` record per component whose licences gained a category
  (`category_changes`: ignore | warn | fail);
- vulnerabilities: every advisory finding is `introduced` (its component is new or its version
  changed) or `disclosed` (same component and version as at the baseline: the advisory is what is
  new), marked as `Finding.delta_mark` (`introduced`, `disclosed`: ignore | warn | fail).

When the delta cannot be known (the baseline verdict records no inventory, the clone is too
shallow to find the release, this run has no inventory of its own) the sbom and licence gates get a
`delta-unknown` record that their delta keys judge as they would judge a change, so `fail` blocks
(fail closed), and advisories are judged in full. A first release (nothing to compare with) is no
change: only its reason is recorded.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gates import decision, versions
from gates.model import (
    DELTA_PROPERTY,
    JSON,
    Collection,
    DeltaMark,
    Finding,
    Location,
    Severity,
    fingerprint,
)
from gates.sbom.changes import DOWNGRADE, Changed, Delta, Listed, SbomDiff
from gates.sbom.diff import diff, ecosystem_of, identity
from gates.sbom.read import Component

INVENTORY_STAT = "inventory"
"""The sbom gate's stats key holding its components."""
ADDED, DOWNGRADED, CATEGORY_CHANGED = "component-added", "component-downgraded", "licence-category-changed"
UNKNOWN = "delta-unknown"
INTRODUCED, DISCLOSED = DeltaMark.INTRODUCED.value, DeltaMark.DISCLOSED.value


def inventory_stat(components: Iterable[Component]) -> list[dict[str, JSON]]:
    return [
        {"name": c.name, "version": c.version, "purl": c.purl, "licences": list(c.licences)}
        for c in components
    ]


def _components(stat: Any) -> tuple[Component, ...] | None:
    if not isinstance(stat, list):
        return None
    found = []
    for item in stat:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            return None
        licences = item.get("licences")
        found.append(
            Component(
                name=item["name"],
                version=item["version"] if isinstance(item.get("version"), str) else None,
                purl=item["purl"] if isinstance(item.get("purl"), str) else None,
                licences=tuple(str(x) for x in licences) if isinstance(licences, list) else (),
            )
        )
    return tuple(found)


_INVENTORY_GATES = ("licence", "sbom")
"""The gates that record the inventory, the sbom gate's preferred (last wins): a CI job of the
licence gate alone (`gates run --only licence`) still knows what it ships."""


def recorded_inventories(
    gate_stats: Iterable[tuple[str, str | None, Mapping[str, JSON]]],
) -> dict[str | None, tuple[Component, ...]]:
    """Per monorepo project (None: the top level), the components a verdict's sbom gates (else its
    licence gates) recorded in their stats, given as (gate, project, stats); a project whose gates
    recorded none is absent."""
    given = list(gate_stats)
    found: dict[str | None, tuple[Component, ...]] = {}
    for name in _INVENTORY_GATES:
        of_gate: dict[str | None, tuple[Component, ...]] = {}
        for gate, project, stats in given:
            components = _components(stats.get(INVENTORY_STAT)) if gate == name else None
            if components is not None:
                of_gate[project] = of_gate.get(project, ()) + components
        found |= of_gate
    return found


def collected_inventory(collections: Sequence[Collection]) -> tuple[Component, ...] | None:
    for name in reversed(_INVENTORY_GATES):
        for collection in collections:
            if collection.gate == name and collection.error is None:
                components = _components(collection.stats.get(INVENTORY_STAT))
                if components is not None:
                    return components
    return None


@dataclass(frozen=True)
class Since:
    """The baseline a run is compared with: what a previous release's verdict knew."""

    label: str
    """The tag (`v1.2.0`) or verdict file it came from."""
    commit: str | None
    signed_by: str | None
    started_at: str
    """When the release's verdict was made."""
    fingerprints: Mapping[str, frozenset[str]]
    """Per gate, the findings the release's verdict knew (the baseline of new findings)."""
    inventories: Mapping[str | None, tuple[Component, ...]]
    """What the release shipped, per monorepo project (see `recorded_inventories`)."""


@dataclass(frozen=True)
class NoRelease:
    """`--since auto` found no release to compare with."""

    reason: str
    known: bool
    """True: no release precedes HEAD (a first release, nothing to judge as a change); False: the
    history cannot tell (a shallow clone), so the delta is unknown."""


@dataclass(frozen=True)
class ReleaseDelta:
    since: str | None
    """None: no release to compare with (`reason` says why)."""
    commit: str | None
    signed_by: str | None
    baseline_versions: Mapping[str, frozenset[str]] | None
    """Component identity -> versions the baseline shipped; None when its verdict recorded none."""
    components: SbomDiff | None
    """None when the baseline or this run has no inventory (`reason` says which)."""
    reason: str | None
    unknown: bool
    """No component delta although one is asked for: judged as unknown, never as no change."""

    def classify(self, finding: Finding) -> str | None:
        """introduced or disclosed, for a finding about a component (None: nothing to compare)."""
        purl, version = finding.location.logical, finding.properties.get("version")
        if self.baseline_versions is None or not purl or not isinstance(version, str):
            return None
        name = str(finding.properties.get("package") or purl)
        component = Component(name, version, purl if purl.startswith("pkg:") else None, ())
        shipped = self.baseline_versions.get(identity(component), frozenset())
        ecosystem = ecosystem_of(component)  # the auditor may spell a version as its ecosystem does
        same = version in shipped or any(versions.compare(ecosystem, v, version) == 0 for v in shipped)
        return DISCLOSED if same else INTRODUCED

    def recorded(self, counts: Mapping[str, int]) -> Delta:
        """The delta as the verdict records it, with the advisories `annotate` counted."""
        return Delta(
            self.since,
            self.commit,
            self.signed_by,
            self.components,
            self.reason,
            counts[INTRODUCED],
            counts[DISCLOSED],
        )


def release_delta(
    since: Since | NoRelease, current: tuple[Component, ...] | None, project: str | None
) -> ReleaseDelta:
    """The delta of a run (of one monorepo project, or the top level) against `since`."""
    if isinstance(since, NoRelease):
        return ReleaseDelta(None, None, None, None, None, since.reason, unknown=not since.known)
    baseline = since.inventories.get(project)
    versions: dict[str, set[str]] = {}
    for component in baseline or ():
        versions.setdefault(identity(component), set()).add(component.version or "")
    reason = None
    if baseline is None:
        reason = f"{since.label}'s verdict records no SBOM inventory (no sbom gate in it)"
    elif current is None:
        reason = "the sbom gate did not run here, or failed: no component delta"
    return ReleaseDelta(
        since.label,
        since.commit,
        since.signed_by,
        {k: frozenset(v) for k, v in versions.items()} if baseline is not None else None,
        diff(baseline, current) if baseline is not None and current is not None else None,
        reason,
        unknown=reason is not None,
    )


def _record(gate: str, rule: str, what: Listed | Changed, message: str, props: dict[str, JSON]) -> Finding:
    ref = what.purl or what.name
    return Finding(
        gate=gate,
        rule=rule,
        severity=Severity.INFO,
        message=message,
        location=Location(logical=ref),
        fingerprint=fingerprint(gate, rule, ref),
        properties=props,
    )


def _sbom_records(changes: SbomDiff, since: str) -> list[Finding]:
    records = [
        _record("sbom", ADDED, a, f"{a.purl or a.name} is new since {since}", a.to_json())
        for a in changes.added
    ]
    for c in changes.changed:
        if c.change == DOWNGRADE:
            message = f"{c.name} went down from {c.from_version} to {c.to_version} since {since}"
            records.append(_record("sbom", DOWNGRADED, c, message, c.to_json()))
    return records


def _licence_records(changes: SbomDiff, since: str) -> list[Finding]:
    return [
        _record(
            "licence",
            CATEGORY_CHANGED,
            c,
            f"{c.name}: licence {c.licences_from or 'none'} ({', '.join(c.categories_from) or 'unknown'}) is "
            f"{c.licences_to or 'none'} ({', '.join(c.categories_to) or 'unknown'}) since {since}",
            c.to_json(),
        )
        for c in changes.changed
        if c.licence_changed and c.gained_categories
    ]


_UNKNOWN_WHAT = {
    "sbom": "which components are new or downgraded cannot be said",
    "licence": "which licences changed category cannot be said",
}


def _unknown_record(gate: str, delta: ReleaseDelta) -> Finding:
    since = delta.since or "the last release"
    return Finding(
        gate=gate,
        rule=UNKNOWN,
        severity=Severity.INFO,
        message=f"what changed since {since} is unknown: {delta.reason}; {_UNKNOWN_WHAT[gate]}",
        location=Location(),
        fingerprint=fingerprint(gate, UNKNOWN, since),
        properties={"since": delta.since, "reason": delta.reason},
    )


def annotate(
    collections: Sequence[Collection], delta: ReleaseDelta, scope: Sequence[str] | None
) -> tuple[list[Collection], dict[str, int]]:
    """The collections with the delta's records and marks, and each supply-chain gate's share of
    the delta in its stats (`delta`), for evaluation: never for findings.json, which stays what the
    gates collected. Also the count of introduced and disclosed advisories among the gates in
    `scope` (None: all)."""
    counts = {INTRODUCED: 0, DISCLOSED: 0}
    annotated = []
    for collection in collections:
        if collection.error is not None or collection.gate not in _GATES:
            annotated.append(collection)
            continue
        findings, summary = list(collection.findings), _summary(collection.gate, delta)
        if collection.gate == "vulnerabilities":
            marks = {INTRODUCED: 0, DISCLOSED: 0}
            findings = [_marked(f, delta, marks) for f in findings]
            summary |= marks
            if scope is None or collection.gate in scope:
                counts = marks
        elif delta.components is not None:
            findings += (_sbom_records if collection.gate == "sbom" else _licence_records)(
                delta.components, str(delta.since)
            )
        elif delta.unknown:
            findings.append(_unknown_record(collection.gate, delta))
        stats = {**collection.stats, DELTA_PROPERTY: summary}
        annotated.append(replace(collection, findings=tuple(findings), stats=stats))
    return annotated, counts


_GATES = ("sbom", "licence", "vulnerabilities")


def _summary(gate: str, delta: ReleaseDelta) -> dict[str, JSON]:
    summary: dict[str, JSON] = {"since": delta.since}
    changes = delta.components
    if gate == "vulnerabilities":
        return summary
    if changes is None:
        return summary | {"reason": delta.reason}
    if gate == "sbom":
        return summary | {
            "added": len(changes.added),
            "removed": len(changes.removed),
            "changed": len(changes.changed),
            "downgraded": sum(1 for c in changes.changed if c.change == DOWNGRADE),
        }
    return summary | {
        "licence_changed": sum(1 for c in changes.changed if c.licence_changed),
        "category_changed": sum(1 for c in changes.changed if c.licence_changed and c.gained_categories),
    }


def _marked(finding: Finding, delta: ReleaseDelta, counts: dict[str, int]) -> Finding:
    if finding.remediation is None:  # not an advisory (unaudited, VEX without reason)
        return finding
    kind = delta.classify(finding)
    if kind is None:
        return finding
    counts[kind] += 1
    return replace(
        finding,
        message=f"{finding.message} [{kind} since {delta.since}]",
        delta_mark=DeltaMark(kind),
    )


def judge_records(
    findings: Sequence[Finding], settings: Mapping[str, Any], choices: Mapping[str, str]
) -> tuple[list[Finding], list[Finding]]:
    """The findings that are no delta record, and the delta records (rule -> the policy key that
    decides for it, default ignore) as their keys decide them (gates.decision). A `delta-unknown`
    record is decided by the strictest of the keys: it could be any such change."""
    keys = {UNKNOWN: tuple(choices.values()), **{rule: (key,) for rule, key in choices.items()}}
    rest, judged = [], []
    for finding in findings:
        if finding.rule not in keys:
            rest.append(finding)
            continue
        choice = decision.strictest(str(settings.get(k, "ignore")) for k in keys[finding.rule])
        key = next(k for k in keys[finding.rule] if str(settings.get(k, "ignore")) == choice)
        decided = decision.decide(finding, choice, key=key, shown_at=settings)
        judged += [decided] if decided is not None else []
    return rest, judged
