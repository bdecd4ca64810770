"""One SBOM per run, shared by the sbom, licence and vulnerabilities gates.

Each of the three gates takes the same `sbom:` policy key and can produce the SBOM alone (for
`gates run --only licence` in its own CI job). When they run together, the engine runs them in
parallel threads: the first to ask generates, the others wait for it and reuse the result, keyed by
the content hash of the inputs, so an unchanged tree is inventoried once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gates.errors import InputError
from gates.model import CollectContext, Finding
from gates.sbom.generate import LOCK_FILES, SbomSource, generate, input_digest, resolve_source
from gates.util.proc import distribution_version

if TYPE_CHECKING:
    from gates.sbom.read import Sbom


def artefact_name(sbom: Sbom) -> str:
    """The release artefact's file name: the SBOM is released as it was read, JSON or XML."""
    return f"sbom.cdx.{sbom.format}"


@dataclass(frozen=True)
class ProvidedSbom:
    sbom: Sbom
    source: SbomSource
    description: str
    """The source as the report shows it: `requirements:requirements.txt`, `file:bom.json`."""
    manifest: str | None
    """The repository file the components come from (lock, requirements, pyproject, SBOM file)."""

    def anchor(self, findings: Sequence[Finding]) -> list[Finding]:
        """The findings, naming the manifest so that formats which need a file (SARIF for GitHub,
        GitLab's reports) show a component's finding at the file that declares it."""
        if self.manifest is None:
            return list(findings)
        return [f if f.manifest is not None else replace(f, manifest=self.manifest) for f in findings]


def _manifest(source: SbomSource, root: Path) -> str | None:
    path = source.path / LOCK_FILES[source.kind] if source.kind in LOCK_FILES else source.path
    try:
        return path.resolve().relative_to(root).as_posix() if path.is_file() else None
    except ValueError:  # outside the repository (an interpreter, an SBOM elsewhere)
        return None


_memo: dict[str, Sbom] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def source_and_key(ctx: CollectContext) -> tuple[SbomSource, str]:
    """The SBOM source of the gate's policy block and a digest of its inputs and generator."""
    from gates.sbom.read import read_sbom_bytes  # XML and schema validation: not to check a policy

    source = resolve_source(ctx.root, ctx.settings.get("sbom", {}))
    if source.kind == "file":
        if not source.path.is_file():
            raise InputError(f"policy sbom.file: {source.path}: no such file")
        return source, "file\0" + hashlib.sha256(read_sbom_bytes(source.path)).hexdigest()
    key = input_digest(source, ctx.remaining())
    return source, f"{key}\0cyclonedx-bom {distribution_version('cyclonedx-bom')}"


def provide(ctx: CollectContext) -> ProvidedSbom:
    """The SBOM for the gate's policy (the sbom gate returns it as the release artefact)."""
    from gates.sbom.read import parse_sbom, read_sbom_bytes

    source, key = source_and_key(ctx)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        sbom = _memo.get(key)
        if sbom is None:
            if source.kind == "file":
                sbom = parse_sbom(read_sbom_bytes(source.path), str(source.path))
            else:
                raw = generate(source, ctx.remaining())
                sbom = parse_sbom(raw, f"cyclonedx-py {source.describe(ctx.root.resolve())}")
            _memo[key] = sbom
    root = ctx.root.resolve()
    return ProvidedSbom(sbom, source, source.describe(root), _manifest(source, root))
