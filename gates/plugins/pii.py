"""PII gate: personal data in the repository's text files, found with Presidio.

Solution assets (dashboards, workflow JSON, notebooks, fixtures, sample data, docs) leak customer
data more often than code does. The gate scans every text file of the repository with Presidio's
recognizers and fails the release when personal data is present, under the policy.

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, include, exclude, timeout_s)::

    gates:
      pii:
        fail_on: medium
        entities: [EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, IP_ADDRESS]
        min_score: {default: 0.4, US_SSN: 0.5}   # or one number for every entity
        max_file_bytes: 2000000                  # larger files are skipped and counted
        allow:
          values: ["support@acme.io"]            # pragma: allowlist pii (not PII here)
          regexes: ['.*@acme\\.io']               # matched against the whole value
          documentation_examples: true           # example.com, RFC 5737/3849 IPs, 555 numbers,
                                                 # published test cards and IBANs
        recognizers:                             # custom regex recognizers (Presidio patterns)
          - {name: employee_id, entity: EMPLOYEE_ID, regex: 'EMP-\\d{6}', score: 0.6,
             context: [employee, staff]}
        severity: {IP_ADDRESS: info}             # overrides the table below
        spacy_model: en_core_web_sm              # installed package or saved pipeline directory
        salt: null                               # or env GATES_PII_SALT
        jobs: null                               # processes; default: every available core
        precision: repository                    # or presidio: every value Presidio reports

Entities are Presidio's names. Without `spacy_model` the gate uses a tokenizer-only spaCy pipeline
built locally (no model download) and Presidio's pattern recognizers; with it, NER entities such as
PERSON and LOCATION can be listed too. A named model that is not installed is an `error`.

Severity by entity: CREDIT_CARD, US_SSN, IBAN_CODE high; EMAIL_ADDRESS, PHONE_NUMBER, PERSON and
custom entities medium; IP_ADDRESS, LOCATION and other NER entities low.

With `precision: repository` (the default), values that are not personal data in a source tree
are dropped and counted in the stats (`not_personal`, by rule; gates.pii.precision): path data,
decimals, hashes, phone-like digits without a phone's form or a phone word, addresses of no one,
version numbers, credited authors' and roles' addresses, contact data typed in test code.
`precision: presidio` reports exactly what Presidio's recognizers report.

Binary files, files over `max_file_bytes`, non-UTF-8 files and symlinks pointing outside the
repository are never scanned; they are counted in the gate's stats under `skipped`. Findings point to
the file and line (for JSON, YAML, CSV and notebooks too: the text is scanned as it is stored).

The matched value never leaves the scanner: a finding carries the entity (its rule), score, line, a
masked preview (`j***@***.com`, `***-***-**00`) and `value_hash`, an HMAC of the value under the
salt. The fingerprint is built from path, entity and that hash, so a waiver or baseline matches the
same value without storing it. The default salt is a constant, so hashes match between runs,
machines and shallow CI clones; anyone holding a verdict can then test guesses (a phone number is
cheap to guess), so set a secret salt (`GATES_PII_SALT` from the CI's secret store) for anything
shared outside the team.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from collections.abc import Mapping, Sequence
from typing import Any

from gates.model import Finding, Location, Severity, fingerprint
from gates.pii.config import Hit
from gates.pii.precision import PRECISIONS
from gates.pii.settings import SERVER_PRELOAD, scan_config
from gates.plugins.interface import CollectContext, Collected, ToolMissing
from gates.util.files import MAX_FILE_BYTES_SETTING, FileSelection, digest_selection, text_files
from gates.util.proc import distribution_version

SEVERITY: Mapping[str, Severity] = {
    "CREDIT_CARD": Severity.HIGH,
    "US_SSN": Severity.HIGH,
    "IBAN_CODE": Severity.HIGH,
    "EMAIL_ADDRESS": Severity.MEDIUM,
    "PHONE_NUMBER": Severity.MEDIUM,
    "PERSON": Severity.MEDIUM,
    "IP_ADDRESS": Severity.LOW,
    "LOCATION": Severity.LOW,
    "NRP": Severity.LOW,
    "ORGANIZATION": Severity.LOW,
    "DATE_TIME": Severity.LOW,
}
_SEVERITY_NAMES = [s.value for s in Severity]

_SCORE = {"type": "number", "minimum": 0, "maximum": 1}
SETTINGS_SCHEMA: Mapping[str, Any] = {
    "entities": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "min_score": {
        "oneOf": [_SCORE, {"type": "object", "additionalProperties": _SCORE}],
    },
    **MAX_FILE_BYTES_SETTING,
    "allow": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "values": {"type": "array", "items": {"type": "string"}},
            "regexes": {"type": "array", "items": {"type": "string", "format": "regex"}},
            "documentation_examples": {"type": "boolean"},
        },
    },
    "recognizers": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "entity", "regex"],
            "properties": {
                "name": {"type": "string"},
                "entity": {"type": "string"},
                "regex": {"type": "string", "format": "regex"},
                "score": _SCORE,
                "context": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "severity": {"type": "object", "additionalProperties": {"enum": _SEVERITY_NAMES}},
    "spacy_model": {"type": ["string", "null"]},
    "salt": {"type": ["string", "null"]},
    "jobs": {"type": ["integer", "null"], "minimum": 1},
    "precision": {"enum": list(PRECISIONS)},
}


def _finding(hit: Hit) -> Finding:
    return Finding(
        gate="pii",
        rule=hit.entity,
        severity=SEVERITY.get(hit.entity, Severity.MEDIUM),
        message=f"{hit.entity} {hit.preview} (score {hit.score:.2f})",
        location=Location(path=hit.path, line=hit.line),
        fingerprint=fingerprint("pii", hit.path, hit.entity, hit.value_hash),
        properties={
            "entity": hit.entity,
            "score": hit.score,
            "preview": hit.preview,
            "value_hash": hit.value_hash,
            **({"inline_marker": True} if hit.marked else {}),
        },
    )


def _workers(settings: Mapping[str, Any]) -> int:
    return int(settings.get("jobs") or os.cpu_count() or 1)


class PiiGate:
    name = "pii"
    version = "1.1.0"
    description = "Personal data (e-mails, phones, cards, IBANs, SSNs, IPs...) in text files"
    settings_schema = SETTINGS_SCHEMA

    def tool_versions(self) -> Mapping[str, str]:
        return {d: distribution_version(d) for d in ("presidio-analyzer", "spacy", "tldextract")}

    def _files(self, ctx: CollectContext) -> FileSelection:
        return text_files(ctx.root, ctx.settings, ctx.only_paths)

    def cache_key(self, ctx: CollectContext) -> str | None:
        config = scan_config(ctx.settings)
        return digest_selection(
            self._files(ctx),
            self.version,
            sorted(self.tool_versions().items()),
            config,
            ctx.inline_suppressions,
        )

    def prepare(self, settings: Mapping[str, Any]) -> None:
        """The fork server the scan's workers fork from imports Presidio while the run goes on (the
        scan then uses it, whatever its size)."""
        if importlib.util.find_spec("presidio_analyzer") is None or _workers(settings) < 2:
            return
        from gates.util import pool  # the scan's own modules are imported by the server meanwhile

        if pool.forkserver_available():
            pool.start_fork_server(SERVER_PRELOAD)

    def collect(self, ctx: CollectContext) -> Collected:
        if importlib.util.find_spec("presidio_analyzer") is None:
            raise ToolMissing("presidio-analyzer is not installed: pip install 'governance-gates[pii]'")
        from gates.pii.scan import scan  # its process pool and pre-filter: only when the gate runs

        config = scan_config(ctx.settings)
        selection = self._files(ctx)
        result = scan(
            selection.files,
            config,
            workers=_workers(ctx.settings),
            deadline=ctx.deadline,
        )
        skipped = selection.skipped + result.skipped
        # A line marked `pragma: allowlist pii` is a reviewed exception, unless governance turned
        # inline suppressions off so that only the policy's waivers count.
        return Collected(
            findings=[_finding(h) for h in result.hits if not (h.marked and ctx.inline_suppressions)],
            stats={
                "files": result.files,
                "bytes": result.bytes,
                "presidio_files": result.presidio_files,
                "skipped": dict(sorted(skipped.items())),
                "processes": result.workers,
                "inline_marked": sum(1 for h in result.hits if h.marked),
                "not_personal": dict(sorted(result.not_personal.items())),
            },
        )

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        overrides = {k: Severity(v) for k, v in (settings.get("severity") or {}).items()}
        return [
            dataclasses.replace(f, severity=overrides[f.rule]) if f.rule in overrides else f for f in findings
        ]
