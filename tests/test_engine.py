"""The engine on gates that misbehave, and bandit sharding: fail closed, same findings."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gates.engine import runner
from gates.engine.evaluate import evaluate
from gates.model import Finding, Location, Severity, Status
from gates.plugins import sast
from gates.plugins.interface import CollectContext, Collected
from gates.plugins.registry import Registry
from gates.policy.loader import build_policy
from gates.policy.model import PolicyContext
from gates.verdict import Subject
from tests.conftest import VULNERABLE_CODE, Repo


class ScriptedGate:
    """A gate whose collect step does what the test says: return, sleep or raise."""

    version = "1"
    description = "test gate"
    settings_schema: Mapping[str, Any] = {}

    def __init__(self, name: str, behaviour: Callable[[], Collected]) -> None:
        self.name = name
        self._behaviour = behaviour

    def tool_versions(self) -> Mapping[str, str]:
        return {}

    def cache_key(self, ctx: CollectContext) -> str | None:
        return None

    def collect(self, ctx: CollectContext) -> Collected:
        return self._behaviour()

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        return list(findings)


def _finding() -> Collected:
    return Collected([Finding("ok", "R1", Severity.LOW, "m", Location("a.py", 1), "fp")])


def _sleep() -> Collected:
    time.sleep(30)
    return Collected([])


def _crash() -> Collected:
    raise ZeroDivisionError("division by zero")


def test_crash_and_timeout_are_errors_and_the_other_gates_still_run(tmp_path: Path) -> None:
    gates = {n: ScriptedGate(n, b) for n, b in (("ok", _finding), ("slow", _sleep), ("crash", _crash))}
    registry = Registry(gates=gates, broken={}, distributions={})
    document = {
        "version": 1,
        "gates": {"ok": {}, "slow": {"timeout_s": 0.5}, "crash": {}, "missing": {}},
    }
    policy = build_policy(document, "test", "test", PolicyContext())
    started = time.monotonic()
    collections = runner.collect(
        ["crash", "missing", "ok", "slow"], policy, registry, runner.RunOptions(tmp_path, tmp_path)
    )
    assert time.monotonic() - started < 10  # the slow gate was abandoned at its timeout
    by_gate = {c.gate: c for c in collections}
    assert by_gate["slow"].error == "timed out after 0.5s"
    assert by_gate["crash"].error == "crashed: ZeroDivisionError: division by zero"
    assert by_gate["missing"].error == "gate plugin is not installed"
    assert by_gate["ok"].error is None and len(by_gate["ok"].findings) == 1

    assessment = evaluate(policy, collections, registry, dt.date(2026, 1, 1))
    statuses = {o.name: o.status for o in assessment.gates}
    assert statuses == {
        "crash": Status.ERROR,
        "missing": Status.ERROR,
        "ok": Status.PASS,
        "slow": Status.ERROR,
    }
    assert Status.combine(list(statuses.values())) is Status.ERROR


def test_error_wins_over_fail_and_fail_over_warn() -> None:
    assert Status.combine([Status.PASS, Status.WARN]) is Status.WARN
    assert Status.combine([Status.WARN, Status.FAIL]) is Status.FAIL
    assert Status.combine([Status.FAIL, Status.ERROR]) is Status.ERROR
    assert Status.combine([Status.SKIPPED]) is Status.PASS


def test_sharded_bandit_finds_exactly_what_one_process_finds(
    make_repo: Callable[..., Repo], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"pkg/m{i}.py": VULNERABLE_CODE + f"\nVALUE_{i} = {i}\n" for i in range(12)}
    repo = make_repo(files)
    document = {"version": 1, "gates": {"sast": {"workers": 1}}}
    policy = build_policy(document, "test", "test", PolicyContext())
    gate = sast.SastGate()

    def collect(workers: int) -> tuple[list[tuple[str, str, int | None, str]], Any]:
        settings = {**policy.gates["sast"], "workers": workers}
        ctx = CollectContext(repo.root, settings, repo.root / ".gates", time.monotonic() + 120)
        collected = gate.collect(ctx)
        rows = sorted(
            (f.rule, f.location.path or "", f.location.line, f.fingerprint) for f in collected.findings
        )
        return rows, collected.stats

    single, single_stats = collect(1)
    monkeypatch.setattr(sast, "_SHARD_MIN_BYTES", 1)  # make the small tree worth sharding
    sharded, sharded_stats = collect(2)
    assert single_stats["shards"] == 1 and sharded_stats["shards"] == 2
    assert sharded == single
    assert len(single) == 24


def test_nosec_is_honoured_unless_the_policy_forbids_it(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo({"a.py": "import pickle\n\ndef load(b):\n    return pickle.loads(b)  # nosec B301\n"})
    gate = sast.SastGate()

    def rules(allow: bool) -> set[str]:
        settings = {
            **build_policy({"version": 1, "gates": {"sast": {}}}, "t", "t", PolicyContext()).gates["sast"],
            "allow_nosec": allow,
        }
        ctx = CollectContext(repo.root, settings, repo.root / ".gates", time.monotonic() + 60)
        return {f.rule for f in gate.collect(ctx).findings}

    assert "B301" not in rules(True)
    assert "B301" in rules(False)


def test_confidence_filter_is_applied_at_evaluation() -> None:
    gate = sast.SastGate()
    findings = [
        Finding("sast", r, Severity.HIGH, "m", Location("a.py", 1), r, properties={"confidence": c})
        for r, c in (("B1", "low"), ("B2", "medium"), ("B3", "high"))
    ]
    assert [f.rule for f in gate.evaluate(findings, {"confidence": "medium"})] == ["B2", "B3"]
    assert len(gate.evaluate(findings, {})) == 3


def test_sast_counts_unscannable_files_and_never_follows_a_symlink_out(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text(VULNERABLE_CODE)
    repo = make_repo({"ok.py": "import pickle\n"})
    (repo.root / "linked.py").symlink_to(outside)
    (repo.root / "latin.py").write_bytes(b"# caf\xe9\nx = 1\n")
    (repo.root / "blob.py").write_bytes(b"\x00\x01binary")
    repo.commit()
    policy = build_policy({"version": 1, "gates": {"sast": {}}}, "t", "t", PolicyContext())
    ctx = CollectContext(repo.root, policy.gates["sast"], repo.root / ".gates", time.monotonic() + 60)
    collected = sast.SastGate().collect(ctx)
    assert collected.stats["skipped"] == {"parse_error": 2, "symlink_outside": 1}
    paths = {(f.rule, f.location.path) for f in collected.findings}
    assert paths == {("B403", "ok.py"), ("parse-error", "latin.py"), ("parse-error", "blob.py")}


class ArtefactGate(ScriptedGate):
    def cache_key(self, ctx: CollectContext) -> str | None:
        return "unchanged-inputs"


def test_artefacts_are_written_also_when_the_collection_comes_from_the_cache(tmp_path: Path) -> None:
    from gates.engine import pipeline

    calls = []

    def behaviour() -> Collected:
        calls.append(1)
        return Collected([], artefacts={"inventory.json": '{"items": 3}\n'})

    registry = Registry(gates={"inv": ArtefactGate("inv", behaviour)}, broken={}, distributions={})
    policy = build_policy({"version": 1, "gates": {"inv": {}}}, "test", "test", PolicyContext())
    options = runner.RunOptions(tmp_path, tmp_path / "out")
    first = runner.collect(["inv"], policy, registry, options)
    second = runner.collect(["inv"], policy, registry, runner.RunOptions(tmp_path, tmp_path / "out"))
    assert len(calls) == 1 and second[0].cached
    fresh = tmp_path / "fresh-out"
    verdict = pipeline.decide(
        policy,
        registry,
        second,
        Subject(str(tmp_path)),
        None,
        None,
        pipeline.now(),
        0.0,
    )
    pipeline.write_outputs(fresh, verdict, [], second)
    assert (fresh / "inventory.json").read_text() == '{"items": 3}\n'
    findings = json.loads((fresh / "findings.json").read_text())
    assert "artefacts" not in findings["collections"][0]  # artefacts stay out of findings.json
    assert first[0].artefacts == second[0].artefacts


def test_a_gate_that_fails_to_prepare_is_left_to_its_collect() -> None:
    class Failing:
        name = "failing"

        def prepare(self, settings: Mapping[str, Any]) -> None:
            raise RuntimeError("no helper process here")

    registry = Registry(gates={"failing": Failing()}, broken={}, distributions={})  # type: ignore[dict-item]
    policy = SimpleNamespace(instances=dict, gates={"failing": {}})
    runner.prepare(["failing", "absent"], policy, registry)  # type: ignore[arg-type]
