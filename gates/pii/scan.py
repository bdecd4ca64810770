"""Scanning a list of repository files: skipping what is not text, and sharing work across cores.

Each file is read and run through the candidate regexes; Presidio is imported when a file has
candidates (or the policy needs every file: custom recognizers, entities the pre-filter does not
know, a spaCy model). In one process a file is scanned as soon as it is read. A large input is
shared with worker processes (gates.util.pool), spawned before that first pass, each building its
analyzer once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gates.pii.candidates import PREFILTERED_ENTITIES, Candidates
from gates.pii.config import Hit, ScanConfig
from gates.plugins.interface import GateError
from gates.util import pool as pool_module
from gates.util.files import RepoFile, SkippedFile, read_text

if TYPE_CHECKING:
    from gates.pii.analyzer import Scanner

PARALLEL_MIN_BYTES = 4_000_000
"""Below this, one process is faster than starting a worker (importing Presidio takes ~1 s)."""
CHUNK_BYTES = 1_000_000


@dataclass
class ScanResult:
    hits: list[Hit] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0
    presidio_files: int = 0
    """Files that had candidates and went through Presidio."""
    workers: int = 1


TIMED_OUT = "pii: timed out (raise timeout_s or narrow include/exclude)"


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise GateError(TIMED_OUT)


def _scan_files(scanner: Scanner, files: Sequence[RepoFile], deadline: float) -> list[Hit]:
    hits: list[Hit] = []
    for file in files:
        _check_deadline(deadline)
        try:
            text = read_text(file)
        except SkippedFile:
            continue  # changed since the first pass; it was counted there
        hits += scanner.scan(file.path, text)
    return hits


_built: tuple[ScanConfig, Scanner] | None = None


def _scanner(config: ScanConfig) -> Scanner:
    """This process's analyzer for `config`, built once (about 0.15 s): a run may scan several
    projects, and its caches of phone units are worth keeping."""
    global _built
    if _built is None or _built[0] != config:
        from gates.pii.analyzer import Scanner

        _built = (config, Scanner(config))
    return _built[1]


def prepare(config: ScanConfig) -> Scanner:
    """This process's analyzer, built and warmed up: a worker does it while this process reads
    files (and the benchmark before it times a scan)."""
    return _scanner(config).warm_up()


def _scan_parallel(
    pool: ProcessPoolExecutor, config: ScanConfig, work: Sequence[RepoFile], deadline: float
) -> list[Hit]:
    # Built on this process's first chunk, once the workers have theirs.
    parts = pool_module.chunks(work, CHUNK_BYTES)
    results = pool_module.scan_together(
        pool, parts, _scan_files, lambda: _scanner(config), deadline, TIMED_OUT
    )
    return [hit for hits in results for hit in hits]


def scan(files: Sequence[RepoFile], config: ScanConfig, *, workers: int, deadline: float) -> ScanResult:
    # A spawned worker takes about a second to import Presidio: it starts before the first pass
    # when the input is large enough to share, and is let go if too little of it has candidates.
    if workers > 1 and sum(f.size for f in files) >= PARALLEL_MIN_BYTES:
        result = _scan_shared(files, config, workers, deadline)
    else:
        # One pass: each file is read once and scanned at once.
        hits: list[Hit] = []

        def scan_text(file: RepoFile, text: str, candidates: Candidates) -> None:
            _check_deadline(deadline)
            hits.extend(_scanner(config).scan(file.path, text, candidates))

        result = _read_pass(files, config, scan_text)
        result.hits = hits
    result.hits.sort(key=lambda h: (h.path, h.start, h.end, h.entity))
    return result


def _scan_shared(files: Sequence[RepoFile], config: ScanConfig, workers: int, deadline: float) -> ScanResult:
    pool = pool_module.start(workers, prepare, (config,))
    try:
        work: list[RepoFile] = []
        result = _read_pass(files, config, lambda file, _text, _candidates: work.append(file))
        if sum(f.size for f in work) >= PARALLEL_MIN_BYTES:
            result.workers = workers
            result.hits = _scan_parallel(pool, config, work, deadline)
        elif work:
            result.hits = _scan_files(_scanner(config), work, deadline)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return result


def _read_pass(
    files: Sequence[RepoFile], config: ScanConfig, on_work: Callable[[RepoFile, str, Candidates], None]
) -> ScanResult:
    """Reads every file, counting the skipped ones, and hands `on_work` those Presidio must see:
    with candidates, or all of them when the policy has custom recognizers, entities the
    pre-filter does not know or a spaCy model."""
    result = ScanResult()
    every_file = (
        bool(config.recognizers)
        or config.spacy_model is not None
        or not PREFILTERED_ENTITIES.issuperset(config.entities)
    )
    for file in files:
        try:
            text = read_text(file)
        except SkippedFile as e:
            result.skipped[e.reason] += 1
            continue
        result.files += 1
        result.bytes += file.size
        candidates = Candidates(text)
        if every_file or candidates.found():
            result.presidio_files += 1
            on_work(file, text, candidates)
    return result
