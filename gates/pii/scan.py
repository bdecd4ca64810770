"""Scanning a list of repository files: skipping what is not text, and sharing work across cores.

Each file is read once and run through the candidate regexes, and scanned at once if some
recognizer has candidates there (or the policy needs every file: custom recognizers, entities the
pre-filter does not know, a spaCy model); Presidio is imported for the first such file. A large
input is cut into parts scanned by worker processes forked from a server that imported Presidio
once (gates.util.pool), each building its analyzer once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gates.errors import GateError
from gates.pii.candidates import PREFILTERED_ENTITIES, Candidates
from gates.pii.config import Hit, ScanConfig
from gates.pii.precision import REPOSITORY, mask_path_data
from gates.util import pool as pool_module
from gates.util.files import RepoFile, SkippedFile, read_text

if TYPE_CHECKING:
    from gates.pii.analyzer import Scanner

PARALLEL_MIN_BYTES = 10_000_000
"""Below this, one process is faster: scanning takes about 0.07 s a MB, and workers start after
their server imported the command's main module and Presidio (about 1.4 s, against 1.1 s for this
process to import Presidio)."""
CHUNK_BYTES = 1_000_000


@dataclass
class ScanResult:
    hits: list[Hit] = field(default_factory=list)
    """The values reported, without those a precision rule finds not personal."""
    not_personal: Counter[str] = field(default_factory=Counter)
    """Values found but not reported, by precision rule."""
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0
    presidio_files: int = 0
    """Files where some recognizer had candidates, which went through Presidio."""
    workers: int = 1


TIMED_OUT = "pii: timed out (raise timeout_s or narrow include/exclude)"


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise GateError(TIMED_OUT)


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
    """This process's analyzer, built and warmed up: the benchmarks build it before they time a
    scan."""
    return _scanner(config).warm_up()


def scan(files: Sequence[RepoFile], config: ScanConfig, *, workers: int, deadline: float) -> ScanResult:
    parallel = workers > 1 and sum(f.size for f in files) >= PARALLEL_MIN_BYTES
    # Without a fork server (Windows), every worker would import Presidio again: one process.
    if parallel and pool_module.forkserver_available():
        result = _scan_shared(files, config, workers, deadline)
    else:
        # Presidio is imported when the first file with candidates needs it.
        result = _scan_part(lambda: _scanner(config), config, files, deadline)
    result.hits.sort(key=lambda h: (h.path, h.start, h.end, h.entity))
    return result


def _scan_shared(files: Sequence[RepoFile], config: ScanConfig, workers: int, deadline: float) -> ScanResult:
    """Workers forked from a server that imported Presidio once (importing it is most of a
    worker's start-up) and warmed up an analyzer (gates.pii.preloaded), each scanning parts; every
    file is read once."""
    results = pool_module.scan_in_forked_workers(
        files,
        workers=workers,
        preload=("gates.pii.preloaded",),
        make_state=_scanner,
        args=(config,),
        part_bytes=CHUNK_BYTES,
        scan=_scan_prepared,
        deadline=deadline,
        timed_out=TIMED_OUT,
    )
    merged = ScanResult(workers=workers)
    for part in results:
        merged.hits += part.hits
        merged.skipped += part.skipped
        merged.files += part.files
        merged.bytes += part.bytes
        merged.presidio_files += part.presidio_files
        merged.not_personal += part.not_personal
    return merged


def _reads_any(cluster: str) -> bool:
    """Whether some phone region reads the cluster alone: phonenumbers' metadata is loaded for
    the first text with a digit cluster (a few hundredths of a second), not for every scan."""
    from gates.pii.phone import presidio_regions

    return presidio_regions().reads_any(cluster)


def _scan_prepared(scanner: Scanner, files: Sequence[RepoFile], deadline: float) -> ScanResult:
    return _scan_part(lambda: scanner, scanner.config, files, deadline)


def _scan_part(
    scanner: Callable[[], Scanner], config: ScanConfig, files: Sequence[RepoFile], deadline: float
) -> ScanResult:
    """Reads every file once, counting the skipped ones, and scans those Presidio must see: where
    some recognizer has candidates, or all of them when the policy has custom recognizers,
    entities the pre-filter does not know or a spaCy model."""
    result = ScanResult()
    analyzer: Scanner | None = None  # asked for once, at the first file it must see
    every_file = (
        bool(config.recognizers)
        or config.spacy_model is not None
        or not PREFILTERED_ENTITIES.issuperset(config.entities)
    )
    for file in files:
        _check_deadline(deadline)
        try:
            text = read_text(file)
        except SkippedFile as e:
            result.skipped[e.reason] += 1
            continue
        result.files += 1
        result.bytes += file.size
        if config.precision == REPOSITORY:
            text = mask_path_data(text)
        candidates = Candidates(text, _reads_any)
        if every_file or candidates.needed_by(config.entities):
            result.presidio_files += 1
            analyzer = analyzer or scanner()
            for hit in analyzer.scan(file.path, text, candidates):
                if hit.not_personal:
                    result.not_personal[hit.not_personal] += 1
                else:
                    result.hits.append(hit)
    return result
