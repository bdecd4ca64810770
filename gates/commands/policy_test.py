"""`gates policy test DIR`: unit tests for policies, like `opa test` or `conftest verify`.

Every `test_*.yaml|yml|json` or `*_test.yaml|yml|json` file below DIR holds one case or a list of
them under `cases:`. A case names a policy, gives findings as if gates had collected them, and says
what the verdict must be; nothing is scanned, the engine's evaluation runs as in `gates run`::

    policy: ../gates.yaml          # relative to this file, or a shipped/packaged policy name
    branch: main                   # optional, for overrides
    environment: prod              # optional
    today: 2026-06-01              # the date waivers are judged on
    findings:
      - {gate: sast, rule: B602, severity: high, path: scripts/run.py, line: 4}
    errors: {sbom: "cyclonedx-py crashed"}   # gates whose collection failed
    missing: [dast]                          # gates that produced no result at all
    expect:
      status: pass
      gates: {sast: pass}

Output: one line per case, then `N passed, M failed`; exit 0 when all pass, 1 when one fails,
2 when a case file is malformed (with file:line).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gates.engine.evaluate import evaluate
from gates.engine.pipeline import now
from gates.errors import InputError
from gates.model import SEVERITIES, Collection, Finding, Location, Status, fingerprint
from gates.plugins.registry import Registry, load_registry
from gates.policy.loader import load_policy
from gates.policy.model import PolicyContext
from gates.schemas import describe_path, iter_errors
from gates.util.yamlfile import LoadedYaml, Path_, read_yaml

_STATUS = {"enum": ["pass", "warn", "fail", "error"]}
_CASE: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["policy", "expect"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "policy": {"type": "string", "minLength": 1},
        "branch": {"type": "string"},
        "environment": {"type": "string"},
        "today": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["gate", "rule", "severity"],
                "properties": {
                    "gate": {"type": "string", "minLength": 1},
                    "rule": {"type": "string", "minLength": 1},
                    "severity": {"enum": list(SEVERITIES)},
                    "path": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "logical": {"type": "string"},
                    "fingerprint": {"type": "string", "minLength": 1},
                    "message": {"type": "string"},
                    "aliases": {"type": "array", "items": {"type": "string"}},
                    "properties": {"type": "object"},
                },
            },
        },
        "errors": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "missing": {"type": "array", "items": {"type": "string"}},
        "expect": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "status": _STATUS,
                "gates": {"type": "object", "additionalProperties": {"enum": [*_STATUS["enum"], "skipped"]}},
            },
        },
    },
}
_CASES: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cases"],
    "properties": {"cases": {"type": "array", "minItems": 1, "items": _CASE}},
}


@dataclass(frozen=True)
class CaseResult:
    name: str
    failures: tuple[str, ...]


def case_files(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise InputError(f"{target}: no such file or folder")
    files = sorted(
        p
        for p in target.rglob("*")
        if p.suffix in (".yaml", ".yml", ".json") and (p.stem.startswith("test_") or p.stem.endswith("_test"))
    )
    if not files:
        raise InputError(f"{target}: no policy test files (test_*.yaml, *_test.yaml, .yml or .json)")
    return files


def _check(loaded: LoadedYaml) -> list[tuple[Path_, Mapping[str, Any]]]:
    data = loaded.data
    single = isinstance(data, dict) and "cases" not in data
    for error in iter_errors(data, _CASE if single else _CASES):
        where = loaded.where(tuple(error.absolute_path))
        raise InputError(f"{where}: {describe_path(error.absolute_path)}: {error.message}")
    if single:
        return [((), data)]
    return [(("cases", i), case) for i, case in enumerate(data["cases"])]


def _collections(case: Mapping[str, Any], gates: Sequence[str]) -> list[Collection]:
    by_gate: dict[str, list[Finding]] = {}
    for item in case.get("findings", []):
        location = Location(path=item.get("path"), line=item.get("line"), logical=item.get("logical"))
        by_gate.setdefault(item["gate"], []).append(
            # As a findings file records it: properties such as fixed_versions or decides are typed.
            Finding.from_json(
                {
                    "gate": item["gate"],
                    "rule": item["rule"],
                    "severity": item["severity"],
                    "message": item.get("message", ""),
                    "location": location.to_json(),
                    "fingerprint": item.get("fingerprint")
                    or fingerprint("policy-test", item["gate"], item["rule"], *location.to_json().values()),
                    "aliases": list(item.get("aliases", ())),
                    "properties": dict(item.get("properties", {})),
                }
            )
        )
    errors, missing = case.get("errors", {}), set(case.get("missing", []))
    return [
        Collection(
            gate=gate,
            gate_version="policy-test",
            tool_versions={},
            findings=tuple(by_gate.get(gate, ())),
            error=errors.get(gate),
        )
        for gate in sorted({*gates, *by_gate, *errors})
        if gate not in missing
    ]


def run_case(loaded: LoadedYaml, at: Path_, case: Mapping[str, Any], registry: Registry) -> CaseResult:
    base = Path(loaded.source).parent
    name = f"{loaded.source}::{case.get('name') or 'line ' + str(loaded.line_of(at))}"
    ref = case["policy"]
    policy_path = base / ref if ("/" in ref or Path(ref).suffix) else Path(ref)
    context = PolicyContext(branch=case.get("branch"), environment=case.get("environment"))
    policy = load_policy(policy_path, registry, context)
    today = dt.date.fromisoformat(case["today"]) if "today" in case else now().date()
    assessment = evaluate(policy, _collections(case, policy.enabled()), registry, today)
    status = Status.combine([*(g.status for g in assessment.gates), assessment.governance.status])
    expect = case["expect"]
    failures = []
    if "status" in expect and status.value != expect["status"]:
        why = "; ".join(assessment.governance.reasons)
        failures.append(f"status {status}, expected {expect['status']}" + (f" ({why})" if why else ""))
    gates = {g.name: g for g in assessment.gates}
    for gate, expected in sorted(expect.get("gates", {}).items()):
        actual = gates[gate].status.value if gate in gates else "absent"
        if actual != expected:
            reason = f" ({gates[gate].reason})" if gate in gates else ""
            failures.append(f"gate {gate} {actual}, expected {expected}{reason}")
    return CaseResult(name, tuple(failures))


@click.command(name="test")
@click.argument("target", type=click.Path(path_type=Path), default=".")
def policy_test(target: Path) -> int:
    """Run policy unit tests (test_*.yaml cases of findings with the expected verdict)."""
    registry = load_registry()
    cases = [
        (loaded, at, case) for loaded in map(read_yaml, case_files(target)) for at, case in _check(loaded)
    ]
    results = [run_case(loaded, at, case, registry) for loaded, at, case in cases]
    for result in results:
        click.echo(f"{'FAILED' if result.failures else 'PASSED'} {result.name}")
        for failure in result.failures:
            click.echo(f"    {failure}")
    failed = sum(1 for r in results if r.failures)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
