"""The verdict: one JSON document that decides whether a release may be tagged and published.

Built from gate outcomes, validated against `schemas/verdict.schema.json` before it is written and
whenever it is read back (merge, baseline, report), so a corrupt or hand-edited file is exit 2.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gates import __version__
from gates.engine.evaluate import LEDGER_STATUSES, GateOutcome, assess_governance
from gates.errors import InputError
from gates.model import JSON, Collection, Status
from gates.policy.model import Governance
from gates.schemas import describe_path, iter_errors, load_schema
from gates.util.jsonfile import parse_json
from gates.util.yamlfile import read_input_text

VERDICT_VERSION = 1
MAX_VERDICT_BYTES = 512 * 1024 * 1024
"""A verdict or findings file may list every finding of a large repository."""

EXIT_CODES: Mapping[Status, int] = {
    Status.PASS: 0,
    Status.WARN: 0,
    Status.SKIPPED: 0,
    Status.FAIL: 1,
    Status.ERROR: 3,
}


def exit_code(verdict: Mapping[str, Any]) -> int:
    return EXIT_CODES[Status(verdict["status"])]


def _gate_json(outcome: GateOutcome) -> dict[str, JSON]:
    c = outcome.collection
    return {
        "name": outcome.name,
        "status": outcome.status.value,
        "mode": outcome.mode,
        "reason": outcome.reason,
        "version": c.gate_version if c is not None else None,
        "tool_versions": dict(sorted(c.tool_versions.items())) if c is not None else {},
        "duration_s": round(c.duration_s, 3) if c is not None else 0.0,
        "cached": c.cached if c is not None else False,
        "stats": dict(c.stats) if c is not None else {},
        "counts": outcome.counts(),
        "findings": [j.to_json() for j in outcome.findings],
    }


def _summary(gates: Sequence[Mapping[str, Any]]) -> dict[str, JSON]:
    statuses = Counter(g["status"] for g in gates)
    return {
        "gates": {s.value: statuses.get(s.value, 0) for s in Status},
        "findings": sum(g["counts"]["total"] for g in gates),
        "counted": sum(g["counts"]["counted"] for g in gates),
        "waived": sum(g["counts"]["waived"] for g in gates),
        "new": sum(g["counts"]["new"] for g in gates),
    }


def _overall(gates: Sequence[Mapping[str, Any]], governance: Mapping[str, Any]) -> Status:
    return Status.combine([*(Status(g["status"]) for g in gates), Status(governance["status"])])


def _governance(ledger: Sequence[Mapping[str, Any]], policy: Mapping[str, Any]) -> dict[str, JSON]:
    status, reasons = assess_governance(ledger, Governance.from_json(policy.get("governance", {})))
    return {"status": status.value, "reasons": reasons}


def build(
    *,
    outcomes: Sequence[GateOutcome],
    ledger: Sequence[Mapping[str, JSON]],
    policy_summary: Mapping[str, JSON],
    subject: Mapping[str, JSON],
    started_at: dt.datetime,
    duration_s: float,
    scope: Sequence[str] | None,
    baseline: Mapping[str, JSON] | None,
    project: str | None = None,
    delta: Mapping[str, JSON] | None = None,
) -> dict[str, JSON]:
    """`project`: the monorepo project (policy `paths:` section) the outcomes judge; its gate
    entries carry its name, so that reports and `gates merge` keep projects apart. `delta`: what
    changed since the release `gates run --since` compared with (gates.sbom.delta)."""
    gates = [{**_gate_json(o), **({"project": project} if project else {})} for o in outcomes]
    governance = _governance(ledger, policy_summary)
    verdict: dict[str, JSON] = {
        "verdict_version": VERDICT_VERSION,
        "status": _overall(gates, governance).value,
        "subject": dict(subject),
        "policy": dict(policy_summary),
        "tool": {"name": "governance-gates", "version": __version__},
        "started_at": started_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(duration_s, 3),
        "scope": sorted(scope) if scope is not None else None,
        "baseline": dict(baseline) if baseline is not None else None,
        "gates": gates,
        "waivers": [dict(w) for w in ledger],
        "governance": governance,
        "summary": _summary(gates),
    }
    if project:
        verdict["project"] = project
    if delta is not None:
        verdict["delta"] = dict(delta)
    _validate_built(verdict)
    return verdict


def _validate_built(verdict: Mapping[str, Any]) -> None:
    """Check a verdict this process built against the schema, its findings aside: each comes from a
    typed Finding, and checking thousands of them costs seconds (a warm run takes less). A verdict
    read back (`load`) is checked whole."""
    skeleton = {
        **verdict,
        "gates": [{**g, "findings": []} for g in verdict["gates"]],
    }
    validate(skeleton, "verdict")


def validate(verdict: Any, source: str) -> None:
    for error in iter_errors(verdict, load_schema("verdict")):
        raise InputError(
            f"{source}: not a gates verdict: {describe_path(error.absolute_path)}: {error.message}"
        )
    _check_dates(verdict, source)


def _check_dates(verdict: Mapping[str, Any], source: str) -> None:
    """The schema checks the shape of dates (2026-13-45 has it); the calendar is checked here."""
    dates: list[tuple[tuple[str | int, ...], Any]] = [(("started_at",), verdict["started_at"])]
    dates += [(("waivers", i, "expires"), w.get("expires")) for i, w in enumerate(verdict["waivers"])]
    for path, value in dates:
        if not isinstance(value, str):
            continue
        try:
            dt.date.fromisoformat(value[:10])
            dt.time.fromisoformat(value[11:19] or "00:00:00")
        except ValueError as e:
            raise InputError(f"{source}: not a gates verdict: {describe_path(path)}: {value}: {e}") from e


def load(path: Path) -> dict[str, Any]:
    """A verdict file, validated; any problem is an InputError naming the file."""
    data = load_json(path)
    validate(data, str(path))
    return data  # type: ignore[no-any-return]


def load_json(path: Path) -> Any:
    return parse_json(read_input_text(path, MAX_VERDICT_BYTES), str(path))


def baseline_fingerprints(verdict: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Per gate, the fingerprints a baseline verdict knew, waived or not (in any project)."""
    known: dict[str, set[str]] = {}
    for gate in verdict["gates"]:
        known.setdefault(gate["name"], set()).update(f["fingerprint"] for f in gate["findings"])
    return {name: frozenset(prints) for name, prints in known.items()}


def baseline_summary(verdict: Mapping[str, Any], path: Path) -> dict[str, JSON]:
    return {
        "path": str(path),
        "commit": verdict["subject"].get("commit"),
        "started_at": verdict["started_at"],
    }


def _key(gate: Mapping[str, Any]) -> tuple[str, str]:
    """Gate entries are unique by (project, gate); "" is the top level of the policy."""
    return gate.get("project", ""), gate["name"]


def gate_label(gate: Mapping[str, Any]) -> str:
    """How reports name a gate entry: `api/sast` for a monorepo project's gate, else `sast`."""
    return f"{gate['project']}/{gate['name']}" if gate.get("project") else str(gate["name"])


def _expected(policy: Mapping[str, Any]) -> dict[tuple[str, str], bool]:
    """Every (project, gate) the policy enables or requires, with whether it is required."""
    scopes = [("", policy), *((p["name"], p) for p in policy.get("projects", []))]
    return {
        (project, name): name in scope.get("required_gates", [])
        for project, scope in scopes
        for name in {*scope["enabled_gates"], *scope.get("required_gates", [])}
    }


def merge(parts: Sequence[tuple[Path, Mapping[str, Any]]], complete: bool = True) -> dict[str, JSON]:
    """One verdict from verdicts that separate jobs produced with `gates run --only` or
    `--project` (monorepo projects of the same policy).

    The parts must come from the same policy, commit, tree and scanned path; the merge is dirty
    when any part is. A gate the policy enables or requires, in
    any of its projects, that no part carries becomes an error (fail closed), so a job that never
    ran cannot pass silently; so does a required gate that a part skipped. `complete=False` skips
    that check: the result is itself a part, for a later merge.
    """
    first_path, first = parts[0]
    gates: dict[tuple[str, str], Mapping[str, Any]] = {}
    for path, part in parts:
        for key in ("digest", "branch", "environment"):
            if part["policy"].get(key) != first["policy"].get(key):
                raise InputError(
                    f"{path}: policy {key} {part['policy'].get(key)!r} differs from "
                    f"{first_path}'s {first['policy'].get(key)!r}"
                )
        for key in ("commit", "tree", "scanned"):
            if part["subject"].get(key) != first["subject"].get(key):
                raise InputError(
                    f"{path}: made for {key} {part['subject'].get(key)}, "
                    f"{first_path} for {first['subject'].get(key)}"
                )
        for gate in part["gates"]:
            if _key(gate) in gates:
                raise InputError(f"{path}: gate {gate_label(gate)!r} is also in another part")
            gates[_key(gate)] = gate
    for slot, required in sorted(_expected(first["policy"]).items()) if complete else ():
        if slot not in gates:
            which = "required gate" if required else "gate"
            missing = _gate_json(
                GateOutcome(
                    slot[1],
                    "enforce",
                    Status.ERROR,
                    f"no result: no merged part carried this {which} (fail closed)",
                    (),
                    None,
                )
            )
            gates[slot] = {**missing, **({"project": slot[0]} if slot[0] else {})}
        elif required and gates[slot]["status"] == Status.SKIPPED.value:
            gates[slot] = {
                **gates[slot],
                "status": Status.ERROR.value,
                "reason": f"required gate did not run: {gates[slot]['reason']} (fail closed)",
            }
    ordered = [dict(gates[slot]) for slot in sorted(gates)]
    ledger = merge_ledgers([p["waivers"] for _, p in parts])
    governance = _governance(ledger, first["policy"])
    starts = [dt.datetime.fromisoformat(p["started_at"].replace("Z", "+00:00")) for _, p in parts]
    ends = [s + dt.timedelta(seconds=p["duration_s"]) for s, (_, p) in zip(starts, parts, strict=True)]
    verdict: dict[str, JSON] = {
        **{k: v for k, v in first.items() if k in ("verdict_version", "policy", "tool")},
        "subject": {**first["subject"], "dirty": _merged_dirty([p["subject"]["dirty"] for _, p in parts])},
        "status": _overall(ordered, governance).value,
        "started_at": min(starts).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round((max(ends) - min(starts)).total_seconds(), 3),
        "scope": None,
        "baseline": first["baseline"],
        "gates": ordered,
        "waivers": ledger,
        "governance": governance,
        "summary": _summary(ordered),
    }
    projects = {p.get("project") for _, p in parts}
    if len(projects) == 1 and None not in projects:
        verdict["project"] = projects.pop()
    if any(p.get("delta") is not None for _, p in parts):
        from gates.sbom.delta import merge_json  # the supply-chain extra made these parts

        verdict["delta"] = merge_json([(p.get("project"), p.get("delta")) for _, p in parts])
    validate(verdict, "merged verdict")
    return verdict


def _merged_dirty(parts: Sequence[bool | None]) -> bool | None:
    """Dirty when any part was made on a dirty tree; unknown when any could not tell."""
    if any(parts):
        return True
    return None if None in parts else False


def merge_ledgers(ledgers: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, JSON]]:
    """One entry per waiver: matches add up, and the most telling status wins (the part that ran
    the waiver's gate knows whether it was used; the others say `not_evaluated`)."""
    merged: dict[str, dict[str, Any]] = {}
    for ledger in ledgers:
        for entry in ledger:
            waiver = {k: v for k, v in entry.items() if k not in ("matched", "status")}
            key = json.dumps(waiver, sort_keys=True)
            if key in merged:
                merged[key]["matched"] += entry["matched"]
                statuses = [merged[key]["status"], entry["status"]]
                if merged[key]["matched"]:
                    # A top-level waiver one project used is not unused because another had no match.
                    statuses = [s for s in statuses if s != "unused"]
                merged[key]["status"] = min(statuses, key=LEDGER_STATUSES.index)
            else:
                merged[key] = dict(entry)
    return list(merged.values())


def collections_document(
    collections: Sequence[Collection], subject: Mapping[str, JSON], project: str | None = None
) -> dict[str, JSON]:
    """`findings.json`: what the gates collected, before any policy; input of `gates evaluate`.
    `project`: the monorepo project they were collected for (absent: the top level)."""
    return {
        "findings_version": VERDICT_VERSION,
        "subject": dict(subject),
        **({"project": project} if project is not None else {}),
        "collections": [c.to_json(with_artefacts=False) for c in collections],
    }


@dataclass(frozen=True)
class CollectedFile:
    """A loaded `findings.json`."""

    subject: dict[str, Any]
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
        return CollectedFile(data["subject"], project, [Collection.from_json(c) for c in data["collections"]])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{path}: corrupt findings file: {type(e).__name__}: {e}") from e
