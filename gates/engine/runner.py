"""Collecting: every selected gate in its own thread, each with its own deadline.

Gates mostly wait on subprocesses, so threads give real parallelism; a gate that overruns its
timeout is reported as an error and abandoned (its thread is a daemon and its tool's process group
is killed by the subprocess helper when the deadline passes).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from gates.engine import cache
from gates.errors import GateError, InputError
from gates.model import CollectContext, Collection
from gates.plugins.interface import Gate, Preparing
from gates.plugins.registry import Registry
from gates.policy.model import Policy
from gates.util.mask import mask_finding, mask_message, redact_credentials_in
from gates.util.sealed import default_folder


@dataclass(frozen=True)
class RunOptions:
    root: Path
    out_dir: Path
    use_cache: bool = True
    only_paths: tuple[str, ...] | None = None
    inputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Gate name -> the `--input GATE.KEY=VALUE` options given for it."""


ProgressCallback = Callable[[str, Collection | None], None]
"""Called with (gate, None) when a gate starts and (gate, collection) when it ends."""


def _collect_one(gate: Gate, ctx: CollectContext, store: cache.Cache | None) -> Collection:
    started = time.monotonic()
    entry = None
    if store is not None:
        key = gate.cache_key(ctx)
        if key is not None:
            entry = store.entry_path(gate, key)
            hit = store.load(entry)
            if hit is not None:  # masked when stored, under the rules its key names
                return replace(hit, cached=True, duration_s=time.monotonic() - started)
    collected = gate.collect(ctx)
    collection = Collection(
        gate=gate.name,
        gate_version=gate.version,
        tool_versions=dict(gate.tool_versions()),
        findings=tuple(mask_finding(f) for f in collected.findings),
        stats=redact_credentials_in(dict(collected.stats)),
        duration_s=time.monotonic() - started,
        artefacts=dict(collected.artefacts),
    )
    if store is not None and entry is not None and collected.cacheable:
        store.store(entry, collection)
    return collection


def masked(collection: Collection) -> Collection:
    """A collection read back (`gates evaluate` on a findings file, older than masking or edited)
    as every output may show it: masked as a fresh collection is."""
    return replace(
        collection,
        findings=tuple(mask_finding(f) for f in collection.findings),
        error=mask_message(collection.error) if collection.error is not None else None,
        stats=redact_credentials_in(dict(collection.stats)),
    )


def _error(gate: str, message: str, duration_s: float, registry: Registry) -> Collection:
    plugin = registry.gates.get(gate)
    return Collection(
        gate=gate,
        gate_version=plugin.version if plugin is not None else "missing",
        tool_versions=dict(plugin.tool_versions()) if plugin is not None else {},
        error=mask_message(message),
        duration_s=duration_s,
    )


def prepare(names: Sequence[str], policy: Policy, registry: Registry) -> None:
    """Lets the named gates that have set-up to start early (`Preparing`) start it."""
    gates = registry.bind(policy.instances()).gates
    for name in names:
        gate = gates.get(name)
        if isinstance(gate, Preparing):
            with contextlib.suppress(Exception):  # its collect reports whatever is wrong
                gate.prepare(policy.gates[name])


def collect(
    names: Sequence[str],
    policy: Policy,
    registry: Registry,
    options: RunOptions,
    progress: ProgressCallback | None = None,
) -> list[Collection]:
    """Collections for the named gates, in name order. A gate that crashes, times out or is not
    installed yields a Collection with `error` set; an InputError (a corrupt file the user gave a
    gate) is raised after all gates have stopped."""
    results: dict[str, Collection] = {}
    finished: dict[str, Collection] = {}
    abandoned: set[str] = set()
    input_errors: list[InputError] = []
    threads: dict[str, tuple[threading.Thread, float, float]] = {}
    store = None
    if options.use_cache:
        store = cache.open_cache(default_folder(), options.root)
    registry = registry.bind(policy.instances())

    def work(gate: Gate, ctx: CollectContext, started: float) -> None:
        try:
            result = _collect_one(gate, ctx, store)
        except InputError as e:
            input_errors.append(e)
            result = _error(gate.name, str(e), time.monotonic() - started, registry)
        except GateError as e:
            result = _error(gate.name, str(e), time.monotonic() - started, registry)
        except Exception as e:  # a gate's bug must become an error, never a pass
            message = f"crashed: {type(e).__name__}: {e}"
            result = _error(gate.name, message, time.monotonic() - started, registry)
        finished[gate.name] = result
        if progress is not None and gate.name not in abandoned:
            progress(gate.name, result)

    for name in names:
        gate = registry.gates.get(name)
        if progress is not None:
            progress(name, None)
        if gate is None:
            why = registry.broken.get(name, "is not installed")
            results[name] = _error(name, f"gate plugin {why}", 0.0, registry)
            if progress is not None:
                progress(name, results[name])
            continue
        timeout = float(policy.gates[name]["timeout_s"])
        started = time.monotonic()
        ctx = CollectContext(
            root=options.root,
            settings=policy.gates[name],
            out_dir=options.out_dir,
            deadline=started + timeout,
            only_paths=options.only_paths,
            options=dict(options.inputs.get(name, {})),
            inline_suppressions=policy.governance.inline_suppressions,
        )
        thread = threading.Thread(target=work, args=(gate, ctx, started), daemon=True)
        thread.start()
        threads[name] = (thread, started, timeout)

    for name, (thread, started, timeout) in threads.items():
        thread.join(max(0.0, started + timeout - time.monotonic()))
        if thread.is_alive():
            abandoned.add(name)
            results[name] = _error(name, f"timed out after {timeout:g}s", timeout, registry)
            if progress is not None:
                progress(name, results[name])
        else:
            results[name] = finished[name]
    if input_errors:
        raise input_errors[0]
    return [results[name] for name in sorted(results)]
