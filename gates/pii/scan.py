"""Scanning a list of repository files: skipping what is not text, and sharing work across cores.

Each file is read once and run through the candidate regexes, and scanned if some recognizer has
candidates there (or the policy needs every file: custom recognizers, entities the pre-filter does
not know, a spaCy model). Presidio is imported for the first such file; for a large input, by a
fork server started first, which imports it while this process reads and pre-filters the files,
and forks the workers that scan the texts with candidates (gates.util.pool).
"""

from __future__ import annotations

import pickle
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gates.errors import GateError
from gates.pii.candidates import PREFILTERED_ENTITIES, Candidates
from gates.pii.config import Hit, ScanConfig
from gates.pii.precision import REPOSITORY, mask_path_data
from gates.pii.settings import SERVER_PRELOAD
from gates.util import pool as pool_module
from gates.util.files import RepoFile, SkippedFile, read_text

if TYPE_CHECKING:
    from gates.pii.analyzer import Scanner

PARALLEL_MIN_BYTES = 10_000_000
"""Below this, one process is faster, unless its fork server was started early (gates.plugins.pii):
scanning takes about 0.07 s a MB, and workers start once their server imported Presidio (about
1.4 s, against 1.1 s for this process to import it)."""
CHUNK_BYTES = 250_000
HELD_BYTES = 64_000_000
"""What waits for the workers at most (see `_scan_shared`): texts with their candidates, pickled as
they are handed over, since the pre-filter's record of a text's candidates can take many times
the text (an e-mail candidate every four characters: thirty times)."""


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
    parallel = workers > 1 and (
        pool_module.fork_server_started(SERVER_PRELOAD) or sum(f.size for f in files) >= PARALLEL_MIN_BYTES
    )
    # Without a fork server (Windows), every worker would import Presidio again: one process.
    if parallel and pool_module.forkserver_available():
        result = _scan_shared(files, config, workers, deadline)
    else:
        result = ScanResult()
        analyzer: Scanner | None = None  # Presidio is imported for the first text that needs it
        for path, candidates in _needing_presidio(files, config, result, deadline):
            analyzer = analyzer or _scanner(config)
            _analyze(analyzer, path, candidates, result)
    result.hits.sort(key=lambda h: (h.path, h.start, h.end, h.entity))
    return result


Part = Sequence[tuple[str, bytes]]
"""Texts for a worker: each file's path and its candidates (which hold its text), pickled."""


def _scan_shared(files: Sequence[RepoFile], config: ScanConfig, workers: int, deadline: float) -> ScanResult:
    """Workers forked from a server that imports Presidio (gates.pii.preloaded) while this process
    reads and pre-filters every file: they scan only the texts with candidates, handed over in
    parts once the pre-filter is done, or whenever HELD_BYTES of them wait (memory stays bounded:
    the parts handed over before are finished first)."""
    result = ScanResult(workers=workers)
    pool = pool_module.ForkedWorkers(workers, SERVER_PRELOAD, _scanner, (config,))
    try:
        held: list[tuple[str, bytes]] = []
        held_bytes = 0
        running: list[Future[ScanResult]] = []
        for path, candidates in _needing_presidio(files, config, result, deadline):
            # This process waits for the server's import anyway: the workers get every candidate.
            packed = pickle.dumps(candidates.find_all(config.entities), pickle.HIGHEST_PROTOCOL)
            held.append((path, packed))
            held_bytes += len(packed)
            if held_bytes >= HELD_BYTES:
                _add(result, pool_module.results(running, deadline, TIMED_OUT))
                running = [pool.submit(_scan_part, part, deadline) for part in _parts(held)]
                held, held_bytes = [], 0
        running += [pool.submit(_scan_part, part, deadline) for part in _parts(held)]
        _add(result, pool_module.results(running, deadline, TIMED_OUT))
    finally:
        pool.close()
    return result


def _parts(texts: Sequence[tuple[str, bytes]]) -> Sequence[Part]:
    return pool_module.chunks(texts, CHUNK_BYTES, lambda item: len(item[1]))


def _add(result: ScanResult, parts: Sequence[ScanResult]) -> None:
    for part in parts:
        result.hits += part.hits
        result.presidio_files += part.presidio_files
        result.not_personal += part.not_personal


def _reads_any(cluster: str) -> bool:
    """Whether some phone region reads the cluster alone: phonenumbers' metadata is loaded for
    the first text with a digit cluster (a few hundredths of a second), not for every scan."""
    from gates.pii.phone import presidio_regions

    return presidio_regions().reads_any(cluster)


def _needing_presidio(
    files: Sequence[RepoFile], config: ScanConfig, result: ScanResult, deadline: float
) -> Iterator[tuple[str, Candidates]]:
    """Reads every file once, counting it (or why it is skipped) in `result`, and yields the path
    and candidates of those Presidio must see: where some recognizer has candidates, or all of
    them when the policy has custom recognizers, entities the pre-filter does not know or a spaCy
    model."""
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
            yield file.path, candidates


def _analyze(analyzer: Scanner, path: str, candidates: Candidates, result: ScanResult) -> None:
    result.presidio_files += 1
    for hit in analyzer.scan(path, candidates.text, candidates):
        if hit.not_personal:
            result.not_personal[hit.not_personal] += 1
        else:
            result.hits.append(hit)


def _scan_part(analyzer: Scanner, part: Part, deadline: float) -> ScanResult:
    """A worker's share: the texts of `part` through its analyzer."""
    result = ScanResult()
    for path, packed in part:
        _check_deadline(deadline)
        _analyze(analyzer, path, pickle.loads(packed), result)
    return result
