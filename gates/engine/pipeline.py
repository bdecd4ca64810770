"""The jobs the CLI offers, as plain functions: run (collect + evaluate), evaluate, merge, and
writing their outputs. Each returns the verdict; the CLI turns it into an exit code."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates import verdict as verdicts
from gates.engine import runner
from gates.engine.evaluate import evaluate
from gates.errors import InputError
from gates.model import JSON, Collection
from gates.plugins.registry import Registry
from gates.policy.model import Policy
from gates.report import FORMATS
from gates.util.atomic import dump_json, write_all
from gates.util.git import subject as git_subject

FINDINGS_FILE = "findings.json"


def now() -> dt.datetime:
    """The current time, or SOURCE_DATE_EPOCH when set (reproducible outputs, tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
        except ValueError as e:
            raise InputError(f"SOURCE_DATE_EPOCH: not a whole number of seconds: {epoch!r}") from e
    return dt.datetime.now(tz=dt.timezone.utc)


@dataclass(frozen=True)
class RunRequest:
    root: Path
    out_dir: Path
    only: tuple[str, ...] = ()
    use_cache: bool = True
    baseline: Path | None = None
    inputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    only_paths: tuple[str, ...] | None = None


def select_gates(policy: Policy, registry: Registry, only: Sequence[str]) -> list[str] | None:
    """The gates in scope: all the policy enables, or those named by --only (None: all)."""
    for name in only:
        if name not in registry.names():
            raise InputError(f"--only {name}: unknown gate (installed: {', '.join(registry.names())})")
        if name not in policy.enabled():
            raise InputError(f"--only {name}: the policy {policy.name!r} does not enable this gate")
    return sorted(set(only)) if only else None


def _baseline(path: Path | None) -> tuple[dict[str, frozenset[str]] | None, dict[str, JSON] | None]:
    if path is None:
        return None, None
    data = verdicts.load(path)
    return verdicts.baseline_fingerprints(data), verdicts.baseline_summary(data, path)


def decide(
    policy: Policy,
    registry: Registry,
    collections: Sequence[Collection],
    subject: Mapping[str, JSON],
    scope: Sequence[str] | None,
    baseline: Path | None,
    started_at: dt.datetime,
    duration_s: float,
) -> dict[str, JSON]:
    fingerprints, baseline_info = _baseline(baseline)
    outcomes, ledger = evaluate(
        policy,
        collections,
        registry,
        started_at.date(),
        fingerprints,
        scope,
    )
    return verdicts.build(
        outcomes=outcomes,
        ledger=ledger,
        policy_summary=policy.summary(),
        subject=subject,
        started_at=started_at,
        duration_s=duration_s,
        scope=scope,
        baseline=baseline_info,
    )


def run(
    request: RunRequest,
    policy: Policy,
    registry: Registry,
    progress: runner.ProgressCallback | None = None,
) -> tuple[dict[str, JSON], list[Collection]]:
    started_at, clock = now(), time.monotonic()
    scope = select_gates(policy, registry, request.only)
    if request.baseline is not None:
        verdicts.load(request.baseline)  # a corrupt baseline stops the run before any scanning
    options = runner.RunOptions(
        root=request.root,
        out_dir=request.out_dir,
        use_cache=request.use_cache,
        only_paths=request.only_paths,
        inputs=request.inputs,
    )
    names = scope if scope is not None else policy.enabled()
    collections = runner.collect(names, policy, registry, options, progress)
    verdict = decide(
        policy,
        registry,
        collections,
        git_subject(request.root),
        scope,
        request.baseline,
        started_at,
        time.monotonic() - clock,
    )
    return verdict, collections


def render_reports(verdict: Mapping[str, Any], formats: Sequence[str], out_dir: Path) -> dict[Path, str]:
    outputs = {out_dir / FORMATS["json"].filename: FORMATS["json"].render(verdict)}
    for name in formats:
        fmt = FORMATS[name]
        outputs[out_dir / fmt.filename] = fmt.render(verdict)
    return outputs


def write_outputs(
    out_dir: Path,
    verdict: Mapping[str, Any],
    formats: Sequence[str],
    collections: Sequence[Collection] | None = None,
) -> list[Path]:
    """Render every output first, then write each atomically: a failure writes nothing."""
    outputs = render_reports(verdict, formats, out_dir)
    if collections is not None:
        document = verdicts.collections_document(collections, verdict["subject"])
        outputs[out_dir / FINDINGS_FILE] = dump_json(document)
        for collection in collections:
            for name, text in collection.artefacts.items():
                outputs[out_dir / name] = text
    write_all(outputs)
    return sorted(outputs)
