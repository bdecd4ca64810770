"""Secrets gate: credentials committed to the repository, found with detect-secrets.

Every detector detect-secrets ships runs on the repository's text files (the same files every gate
sees: git-tracked and untracked-not-ignored, no symlinks, no binary or non-UTF-8 files).

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, include, exclude, new_only,
timeout_s)::

    gates:
      secrets:
        fail_on: high
        baseline: .secrets.baseline      # a detect-secrets baseline: the secrets it lists are known
        disable: [IPPublicDetector]      # detect-secrets plugin class names not to run
        severity: {secret-keyword: medium}   # by rule, overrides the defaults below
        max_file_bytes: 2000000          # larger files are skipped and counted
        salt: null                       # or env GATES_SECRETS_SALT
        jobs: null                       # processes; default: every available core

Rules are detect-secrets' secret types in lower case with dashes (`aws-access-key`, `private-key`,
`basic-auth-credentials`, `base64-high-entropy-string`, `secret-keyword`...); the plugin class name
(`AWSKeyDetector`) is an alias, so a waiver may name either. Severity: high, except
`base64-high-entropy-string` and `hex-high-entropy-string` (medium: often hashes or test data) and
`public-ip-ipv4` (low).

Baseline: a file written by `detect-secrets scan > .secrets.baseline` (and audited with
`detect-secrets audit`). A secret listed there for the same file is not reported, unless the audit
marked it `is_secret: true`: a confirmed real secret must be removed and rotated, not carried. The
baseline is the repository's to write, like an inline marker: with `governance: {inline_suppressions:
false}` it hides nothing. The
policy, not the baseline, decides which detectors run. The baseline file itself is not scanned.

Inline markers: detect-secrets' `# pragma: allowlist secret` (and `allowlist nextline`) is honoured
only while the policy's `governance: {inline_suppressions: ...}` allows markers in code; when it
does not, only reviewed waivers suppress a finding.

A finding never carries the secret: its message and properties hold the type, a masked preview
(`A********LE`) and `value_hash`, an HMAC of the secret under the salt; the fingerprint is built
from path, rule and that hash, so a waiver or baseline matches the same secret without storing it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.errors import InputError
from gates.model import Finding, Location, Severity, fingerprint
from gates.plugins.interface import CollectContext, Collected, GateError, ToolMissing
from gates.schemas import describe_path, iter_errors
from gates.util.files import (
    MAX_FILE_BYTES_SETTING,
    FileSelection,
    RepoFile,
    SkippedFile,
    digest_selection,
    read_text,
    repo_file,
    text_files,
)
from gates.util.jsonfile import read_json
from gates.util.mask import mask_value, salted_hash
from gates.util.proc import distribution_version

DEFAULT_SALT = "gates-secrets-default-salt"
PARALLEL_MIN_BYTES = 500_000
"""detect-secrets scans about 0.16 MB/s: a worker (half a second to start) pays off from here."""
CHUNK_BYTES = 200_000
TIMED_OUT = "secrets: timed out (raise timeout_s or narrow include/exclude)"
DEFAULT_SEVERITY: Mapping[str, Severity] = {
    "base64-high-entropy-string": Severity.MEDIUM,
    "hex-high-entropy-string": Severity.MEDIUM,
    "public-ip-ipv4": Severity.LOW,
}
_ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"
# detect-secrets keeps its configuration in a process-wide singleton: one scan at a time.
_SCAN_LOCK = threading.Lock()

_BASELINE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "hashed_secret"],
                    "properties": {
                        "hashed_secret": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
                        "is_secret": {"type": "boolean"},
                    },
                },
            },
        }
    },
}


def rule_of(secret_type: str) -> str:
    """`AWS Access Key` -> `aws-access-key`."""
    return re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-")


def _known_secrets(root: Path, baseline: str | None) -> frozenset[tuple[str, str]]:
    """(path, sha1 of the secret) of every baseline entry not audited as a real secret."""
    if baseline is None:
        return frozenset()
    path = repo_file(root, baseline, "gates.secrets.baseline")
    if not path.is_file():
        raise InputError(f"gates.secrets.baseline: {baseline}: no such file in {root}")
    loaded = read_json(path)
    for error in iter_errors(loaded.data, _BASELINE_SCHEMA):
        raise loaded.error(
            tuple(error.absolute_path),
            f"not a detect-secrets baseline: {describe_path(error.absolute_path)}: {error.message}",
        )
    return frozenset(
        (filename, entry["hashed_secret"])
        for filename, entries in loaded.data["results"].items()
        for entry in entries
        if entry.get("is_secret") is not True
    )


def _plugins(disable: Sequence[str]) -> list[str]:
    """The detect-secrets plugins to run: all but `disable`, which must name known ones."""
    plugins = sorted(set(_plugin_classes().values()))
    unknown = sorted(set(disable) - set(plugins))
    if unknown:
        raise InputError(
            f"gates.secrets.disable: unknown detect-secrets plugin {', '.join(unknown)} "
            f"(known: {', '.join(plugins)})"
        )
    return [name for name in plugins if name not in disable]


@contextmanager
def _detect_secrets(disable: Sequence[str], allow_inline: bool) -> Iterator[None]:
    """detect-secrets configured with every plugin but `disable`, under the process-wide lock."""
    from detect_secrets.settings import transient_settings

    config = {"plugins_used": [{"name": name} for name in _plugins(disable)]}
    with _SCAN_LOCK, transient_settings(config) as settings:
        if not allow_inline:
            settings.disable_filters(_ALLOWLIST_FILTER)
        yield


def _plugin_classes() -> dict[str, str]:
    """Rule -> the detect-secrets plugin class that reports it (`aws-access-key` -> AWSKeyDetector)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    mapping: dict[str, type] = get_mapping_from_secret_type_to_class()
    return {rule_of(secret_type): cls.__name__ for secret_type, cls in mapping.items()}


@dataclass(frozen=True)
class _Options:
    disable: tuple[str, ...]
    allow_inline: bool
    salt: str
    known: frozenset[tuple[str, str]]
    """(path, hashed secret) pairs of the baseline."""


@dataclass
class _Scanned:
    findings: list[Finding] = field(default_factory=list)
    files: list[RepoFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    known: int = 0


def _scan_files(options: _Options, files: Sequence[RepoFile], deadline: float) -> _Scanned:
    from gates.secrets.scan import scan_file

    aliases = _plugin_classes()
    out = _Scanned()
    with _detect_secrets(options.disable, options.allow_inline):
        for file in files:
            if time.monotonic() > deadline:
                raise GateError(TIMED_OUT)
            try:
                read_text(file)  # the shared rules decide what is text; detect-secrets re-reads it
            except SkippedFile as e:
                out.skipped[e.reason] += 1
                continue
            out.files.append(file)
            for secret in scan_file(str(file.abspath)):
                if (file.path, secret.secret_hash) in options.known:
                    out.known += 1
                    continue
                out.findings.append(
                    _finding(
                        file.path, secret.type, secret.secret_value, secret.line_number, aliases, options.salt
                    )
                )
    return out


class SecretsGate:
    name = "secrets"
    version = "1.0.0"
    description = "Credentials and keys committed to the repository, found with detect-secrets"
    settings_schema: Mapping[str, Any] = {
        "baseline": {"type": ["string", "null"], "minLength": 1},
        "disable": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "severity": {
            "type": "object",
            "additionalProperties": {"enum": [s.value for s in Severity]},
        },
        **MAX_FILE_BYTES_SETTING,
        "salt": {"type": ["string", "null"]},
        "jobs": {"type": ["integer", "null"], "minimum": 1},
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {"detect-secrets": distribution_version("detect-secrets")}

    def _files(self, ctx: CollectContext) -> FileSelection:
        baseline = ctx.settings.get("baseline")
        return text_files(ctx.root, ctx.settings, ctx.only_paths, [f"/{baseline}"] if baseline else [])

    def _scan_options(self, ctx: CollectContext) -> tuple[list[str], bool, str]:
        salt = ctx.settings.get("salt") or os.environ.get("GATES_SECRETS_SALT") or DEFAULT_SALT
        return (
            sorted(ctx.settings.get("disable", [])),
            ctx.inline_suppressions,
            salt,
        )

    def cache_key(self, ctx: CollectContext) -> str | None:
        baseline = ctx.settings.get("baseline")
        baseline_file = repo_file(ctx.root, baseline, "gates.secrets.baseline") if baseline else None
        baseline_digest = (
            hashlib.sha256(baseline_file.read_bytes()).hexdigest()
            if baseline_file is not None and baseline_file.is_file()
            else None
        )
        return digest_selection(
            self._files(ctx),
            self.version,
            sorted(self.tool_versions().items()),
            self._scan_options(ctx),
            baseline_digest,
        )

    def collect(self, ctx: CollectContext) -> Collected:
        if importlib.util.find_spec("detect_secrets") is None:
            raise ToolMissing("detect-secrets is not installed: pip install 'governance-gates[secrets]'")
        disable, allow_inline, salt = self._scan_options(ctx)
        _plugins(disable)  # an unknown name is the policy's error, before any process starts
        # The baseline is the repository's file, as inline markers are: both hide a secret only
        # while the policy lets the repository's own suppressions count.
        known = _known_secrets(ctx.root, ctx.settings.get("baseline")) if allow_inline else frozenset()
        options = _Options(tuple(disable), allow_inline, salt, known)
        selection = self._files(ctx)
        deadline = time.monotonic() + ctx.remaining()
        workers = ctx.settings.get("jobs") or os.cpu_count() or 1
        if workers < 2 or sum(f.size for f in selection.files) < PARALLEL_MIN_BYTES:
            parts = [_scan_files(options, selection.files, deadline)]
        else:
            from gates.util import pool as pool_module  # multiprocessing: not for a hook's few files

            parts = pool_module.scan_in_parts(
                selection.files,
                workers=workers,
                make_state=_Options,
                args=(options.disable, allow_inline, salt, options.known),
                part_bytes=CHUNK_BYTES,
                scan=_scan_files,
                local_state=lambda: options,
                deadline=deadline,
                timed_out=TIMED_OUT,
            )
        order = {f.path: i for i, f in enumerate(selection.files)}
        scanned = [f for part in parts for f in part.files]
        findings = [finding for part in parts for finding in part.findings]
        # In the files' order, as one process would give them (stable: each file's own order stays).
        findings.sort(key=lambda f: order.get(f.location.path or "", -1))
        skipped: Counter[str] = Counter(selection.skipped)
        for part in parts:
            skipped += part.skipped
        return Collected(
            findings=findings,
            stats={
                "files": len(scanned),
                "bytes": sum(f.size for f in scanned),
                "skipped": dict(sorted(skipped.items())),
                "baseline_known": sum(part.known for part in parts),
            },
        )

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        overrides = {rule: Severity(s) for rule, s in (settings.get("severity") or {}).items()}
        return [
            dataclasses.replace(f, severity=overrides[f.rule]) if f.rule in overrides else f for f in findings
        ]


def _finding(
    path: str, secret_type: str, value: str | None, line: int, aliases: Mapping[str, str], salt: str
) -> Finding:
    rule = rule_of(secret_type)
    secret = value or ""
    value_hash = salted_hash(secret, salt)
    preview = mask_value(secret)
    return Finding(
        gate="secrets",
        rule=rule,
        severity=DEFAULT_SEVERITY.get(rule, Severity.HIGH),
        message=f"{secret_type} {preview}",
        location=Location(path=path, line=line or None),
        fingerprint=fingerprint("secrets", path, rule, value_hash),
        aliases=(aliases[rule],) if rule in aliases else (),
        properties={"type": secret_type, "preview": preview, "value_hash": value_hash},
    )
