"""The jobs the CLI offers, as plain functions: run (collect + evaluate), evaluate, merge, and
writing their outputs. Each returns the verdict; the CLI turns it into an exit code."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gates import verdict as verdicts
from gates.engine import runner
from gates.engine.evaluate import evaluate, kept_findings
from gates.errors import InputError
from gates.model import Collection
from gates.plugins.registry import Registry
from gates.policy.model import Policy
from gates.report.registry import load_formats
from gates.util.atomic import dump_json, write_all
from gates.util.background import Pending
from gates.util.files import select_files
from gates.util.git import changed_since
from gates.util.git import subject as git_subject
from gates.util.mask import visible
from gates.verdict import BaselineRef, PolicySummary, Subject, Verdict

if TYPE_CHECKING:
    from gates.sbom.changes import Delta
    from gates.sbom.delta import NoRelease, Since

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
    projects: tuple[str, ...] = ()
    """`--project` names (ROOT_SCOPE for the files outside every project); empty: every scope."""
    since: Since | NoRelease | None = None
    """`--since`: the previous release's verdict, the baseline of the release delta (or why there
    is none)."""
    subject: Pending[Subject] | None = None
    """The repository's subject, already being taken (`start_subject`); None: taken by the run."""


ROOT_SCOPE = "."
"""`--project .`: the files of a monorepo outside every project folder, judged by the top level."""


@dataclass(frozen=True)
class ScopeRun:
    """What one scope (a project, or the top level) of a monorepo run produced."""

    project: str | None
    verdict: Verdict
    collections: list[Collection]


def check_installed(registry: Registry, names: Sequence[str]) -> None:
    """An InputError for the first of `names` (given with --only) that no installed gate has."""
    for name in names:
        if name not in registry.names():
            raise InputError(f"--only {name}: unknown gate (installed: {', '.join(registry.names())})")


def select_gates(policy: Policy, registry: Registry, only: Sequence[str]) -> list[str] | None:
    """The gates in scope: all the policy enables, or those named by --only (None: all)."""
    check_installed(registry.bind(policy.instances()), only)
    for name in only:
        if name not in policy.enabled():
            raise InputError(f"--only {name}: the policy {policy.name!r} does not enable this gate")
    return sorted(set(only)) if only else None


def _baseline(path: Path | None) -> tuple[dict[str, frozenset[str]] | None, BaselineRef | None]:
    if path is None:
        return None, None
    known = verdicts.load(path)
    return verdicts.baseline_fingerprints(known), verdicts.baseline_ref(known, path)


def _release_delta(
    since: Since | NoRelease,
    collections: Sequence[Collection],
    project: str | None,
    scope: Sequence[str] | None,
) -> tuple[list[Collection], Delta]:
    """The collections annotated with what changed since the release, and that delta."""
    from gates.sbom import delta  # the supply-chain extra, needed only with --since

    found = delta.release_delta(since, delta.collected_inventory(collections), project)
    annotated, counts = delta.annotate(collections, found, scope)
    return annotated, found.recorded(counts)


def decide(
    policy: Policy,
    registry: Registry,
    collections: Sequence[Collection],
    subject: Subject,
    scope: Sequence[str] | None,
    baseline: Path | None,
    started_at: dt.datetime,
    duration_s: float,
    since: Since | NoRelease | None = None,
) -> Verdict:
    """`since` (a previous release's verdict) is also the baseline of new findings, unless a
    `baseline` file is given."""
    fingerprints, baseline_ref = _baseline(baseline)
    project = policy.project.name if policy.project is not None else None
    delta = None
    if since is not None:
        collections, delta = _release_delta(since, collections, project, scope)
        from gates.sbom import delta as release  # loaded by _release_delta already

        if baseline is None and isinstance(since, release.Since):
            fingerprints = dict(since.fingerprints)
            baseline_ref = BaselineRef(since.label, since.commit, since.started_at)
    assessment = evaluate(policy, collections, registry, started_at.date(), fingerprints, scope)
    return Verdict.decide(
        assessment.gates,
        assessment.ledger,
        assessment.governance,
        subject=subject,
        policy=PolicySummary.from_json(policy.summary()),
        started_at=started_at,
        duration_s=duration_s,
        scope=scope,
        baseline=baseline_ref,
        project=project,
        delta=delta,
    )


def scope_files(policy: Policy, root: Path, only_paths: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The repository files a monorepo scope's gates may read (None: no restriction). Gates keep
    the repository root as their root, so paths, waivers and SARIF stay repository-relative."""
    if not policy.top_level().projects:
        return only_paths
    candidates = only_paths if only_paths is not None else [f.path for f in select_files(root).files]
    return tuple(path for path in candidates if policy.in_scope(path))


def _within_scope(collection: Collection, policy: Policy) -> Collection:
    """Drop findings located in another scope's files (a gate that reads a manifest or a report
    outside the project): each file's findings are judged by exactly one scope."""
    kept = tuple(
        f for f in collection.findings if f.location.path is None or policy.in_scope(f.location.path)
    )
    return collection if len(kept) == len(collection.findings) else replace(collection, findings=kept)


def _judged(
    progress: runner.ProgressCallback | None, policy: Policy, registry: Registry
) -> runner.ProgressCallback | None:
    """Progress that reports a finished gate's findings as the verdict counts them (its `total`),
    not the records it collected."""
    if progress is None:
        return None

    def report(name: str, collection: Collection | None) -> None:
        gate = registry.gates.get(name)
        if collection is not None and collection.error is None and gate is not None:
            kept = kept_findings(gate, collection.findings, policy.gates[name])
            collection = replace(collection, findings=tuple(kept))
        progress(name, collection)

    return report


@dataclass(frozen=True)
class _Collected:
    """One scope's collections, before they are judged."""

    project: str | None
    policy: Policy
    request: RunRequest
    scope: Sequence[str] | None
    collections: list[Collection]
    started_at: dt.datetime
    duration_s: float


def _collect_scope(
    request: RunRequest,
    policy: Policy,
    registry: Registry,
    project: str | None,
    progress: runner.ProgressCallback | None = None,
) -> _Collected:
    """One scope's collect step; `_decide_scope` judges it."""
    started_at, clock = now(), time.monotonic()
    scope = select_gates(policy, registry, request.only)
    options = runner.RunOptions(
        root=request.root,
        out_dir=request.out_dir,
        use_cache=request.use_cache,
        only_paths=scope_files(policy, request.root, request.only_paths),
        inputs=request.inputs,
    )
    names = scope if scope is not None else policy.enabled()
    collections = runner.collect(names, policy, registry, options, _judged(progress, policy, registry))
    if policy.top_level().projects:
        collections = [_within_scope(c, policy) for c in collections]
    return _Collected(project, policy, request, scope, collections, started_at, time.monotonic() - clock)


def _decide_scope(collected: _Collected, registry: Registry, subject: Subject) -> Verdict:
    request = collected.request
    return decide(
        collected.policy,
        registry,
        collected.collections,
        subject,
        collected.scope,
        request.baseline,
        collected.started_at,
        collected.duration_s,
        request.since,
    )


def _labelled(
    progress: runner.ProgressCallback | None, project: str | None
) -> runner.ProgressCallback | None:
    if progress is None or project is None:
        return progress
    return lambda gate, collection: progress(f"{project}/{gate}", collection)


SUBJECT_THREAD = "gates-subject"


def start_subject(root: Path, use_cache: bool) -> Pending[Subject]:
    """The subject of a whole-repository run, taken in a thread while the command loads its
    policy and gates: those read files but run nothing of the repository's, so the subject is
    still taken before anything that could change the repository runs."""
    return Pending(lambda: Subject.from_json(git_subject(root, cached=use_cache)), SUBJECT_THREAD)


def run_projects(
    request: RunRequest,
    policy: Policy,
    registry: Registry,
    progress: runner.ProgressCallback | None = None,
) -> Judged:
    """A monorepo run: each scope `request.projects` names (all of them when empty) in turn, then
    one verdict merged from theirs. `--only` keeps, in each scope, the named gates it enables.
    The merged verdict fails closed on a missing (project, gate) only when every scope and gate ran;
    a partial one is a part for `gates merge`."""
    top = policy.top_level()
    every: list[str | None] = [None, *(p.name for p in top.projects)]
    if request.projects and not top.projects:
        raise InputError(f"--project: the policy {top.name!r} has no paths: sections")
    names = {None if n == ROOT_SCOPE else n for n in request.projects}
    scoped = [top.scoped(n) for n in sorted(names, key=lambda n: (n is not None, n or ""))] or [
        top.scoped(n) for n in every
    ]
    if not top.projects:
        select_gates(top, registry, request.only)
    for name in request.only:
        if not any(name in p.enabled() for p in scoped):
            select_gates(top, registry, [name])  # an unknown gate: the usual error
            raise InputError(
                f"--only {name}: no selected project of the policy {top.name!r} enables this gate"
            )
    if request.baseline is not None:
        verdicts.load(request.baseline)  # a corrupt baseline stops the run before any scanning
    if not (request.use_cache or top.projects or request.only_paths is not None):
        # Every gate will collect the whole repository: those with set-up to start early start it
        # while the subject is taken.
        (whole,) = scoped
        runner.prepare(select_gates(whole, registry, request.only) or whole.enabled(), whole, registry)
    # What every scope shares is read once: the repository's subject and, in a monorepo, the file
    # listing each scope takes its own files from.
    if request.subject is not None and request.only_paths is None:
        subject = request.subject.result()
    else:
        subject = Subject.from_json(
            git_subject(request.root, check_clean=request.only_paths is None, cached=request.use_cache)
        )
    if top.projects and request.only_paths is None:
        request = replace(request, only_paths=tuple(f.path for f in select_files(request.root).files))
    collected = []
    for scope_policy in scoped:
        only = tuple(n for n in request.only if n in scope_policy.enabled())
        if request.only and not only:
            continue
        project = scope_policy.project.name if scope_policy.project is not None else None
        scope_request, labelled = replace(request, only=only), _labelled(progress, project)
        collected.append(_collect_scope(scope_request, scope_policy, registry, project, labelled))
    # Every tool has ended: the repository is checked again while the scopes are judged (pure) and
    # the caller renders the outputs. That thread imports nothing: the subject's check before the
    # gates ran the same code.
    before = subject.to_json()
    after = Pending(lambda: changed_since(request.root, before, cached=request.use_cache), "gates-after")
    complete = not request.only and len(scoped) == len(every)
    try:
        runs = [ScopeRun(c.project, _decide_scope(c, registry, subject), c.collections) for c in collected]
        return Judged(_merged([(r.project, r.verdict) for r in runs], complete), runs, complete, after)
    except BaseException:
        after.wait()  # its git processes never outlive the run
        raise


@dataclass(frozen=True)
class Judged:
    """A run's verdict and each scope's, judged while the repository is checked again: `settled`
    waits for that check."""

    verdict: Verdict
    runs: list[ScopeRun]
    complete: bool
    """Whether every scope and gate ran (see `_merged`)."""
    after: Pending[str | None]
    """What changed in the repository while the gates ran (`changed_since`)."""

    def settled(self) -> tuple[Verdict, list[ScopeRun]]:
        """The verdicts, marked dirty (they release nothing) when the repository changed while the
        gates ran."""
        changed = self.after.result()
        if changed is None:
            return self.verdict, self.runs
        print(f"gates: the repository changed while the gates ran ({changed}): the verdict is "
              "marked dirty and cannot release", file=sys.stderr)  # fmt: skip
        dirty = replace(self.verdict.subject, dirty=True)
        runs = [replace(r, verdict=replace(r.verdict, subject=dirty)) for r in self.runs]
        return _merged([(r.project, r.verdict) for r in runs], self.complete), runs


def _merged(scopes: Sequence[tuple[str | None, Verdict]], complete: bool) -> Verdict:
    """One verdict from the scopes' (a single scope's is itself). It fails closed on a missing
    (project, gate) only when `complete`: a partial one is a part for `gates merge`."""
    if len(scopes) == 1:
        return scopes[0][1]
    return verdicts.merge([(Path(f"project {p or ROOT_SCOPE}"), v) for p, v in scopes], complete=complete)


def decide_scopes(
    policy: Policy,
    registry: Registry,
    scopes: Mapping[str | None, Sequence[Collection]],
    subject: Subject,
    only: Sequence[str],
    baseline: Path | None,
    since: Since | NoRelease | None = None,
) -> Verdict:
    """`gates evaluate`: each scope's collections (None: the top level) judged by its section of
    the policy, without scanning, and merged as a monorepo run is."""
    top = policy.top_level()
    decided = []
    for project in sorted(scopes, key=lambda p: (p is not None, p or "")):
        scoped = top.scoped(project)
        names = [n for n in only if n in scoped.enabled()] if top.projects else list(only)
        if only and not names:
            continue
        collections = [runner.masked(c) for c in scopes[project]]
        if top.projects:
            collections = [_within_scope(c, scoped) for c in collections]
        duration = sum(c.duration_s for c in collections)
        gates = select_gates(scoped, registry, names)
        verdict = decide(scoped, registry, collections, subject, gates, baseline, now(), duration, since)
        decided.append((project, verdict))
    if not decided:
        select_gates(top, registry, only)  # an unknown gate: the usual error
        raise InputError(f"--only: no scope of these findings enables {', '.join(only)}")
    every = {None, *(p.name for p in top.projects)}
    return _merged(decided, complete=not only and set(scopes) == every)


def render_reports(verdict: Verdict, formats: Sequence[str], out_dir: Path) -> dict[Path, str]:
    """verdict.json and every format asked for, rendered in memory (nothing is written yet)."""
    installed = load_formats()
    outputs = {}
    for name in dict.fromkeys(("json", *formats)):  # `--format json` asks for verdict.json once more
        fmt = installed.get(name)
        outputs[out_dir / fmt.filename] = visible(fmt.render(verdict))
    return outputs


def render_outputs(
    out_dir: Path,
    verdict: Verdict,
    formats: Sequence[str],
    collections: Sequence[Collection] | None = None,
) -> dict[Path, str]:
    """Every output of a verdict, rendered in memory: its reports and, given the collections,
    findings.json and the gates' artefacts."""
    outputs = render_reports(verdict, formats, out_dir)
    if collections is not None:
        document = verdicts.collections_document(collections, verdict.subject, verdict.project)
        outputs[out_dir / FINDINGS_FILE] = visible(dump_json(document))
        for collection in collections:
            for name, text in collection.artefacts.items():
                outputs[out_dir / name] = text
    return outputs


def write_outputs(
    out_dir: Path,
    verdict: Verdict,
    formats: Sequence[str],
    collections: Sequence[Collection] | None = None,
) -> list[Path]:
    """Render every output first, then write each atomically: a failure writes nothing."""
    outputs = render_outputs(out_dir, verdict, formats, collections)
    write_all(outputs)
    return sorted(outputs)
