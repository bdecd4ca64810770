"""DAST gate: a passive baseline scan of a running web application, or an imported ZAP/SARIF report.

The live scan crawls from `url` within its origin only (scheme, host and port), sends nothing but
GET, stops at `max_pages` requests or `max_seconds`, and checks every response: security headers
(CSP and its strength, HSTS on https, X-Content-Type-Options, frame protection, Referrer-Policy),
cookie attributes (values are never shown), version disclosure, permissive CORS (a made-up Origin
is sent with each request to see whether it is trusted), directory listings and stack traces. A
target that cannot be reached is an error, never a pass. With no `url` and no import the gate
cannot run, so the shipped policies leave it off; turn it on where a test deployment exists.

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, timeout_s)::

    gates:
      dast:
        mode: enforce
        fail_on: medium
        url: https://staging.example.com/   # or --input dast.url=URL
        max_pages: 20
        max_seconds: 60
        tls_verify: true                    # false for a self-signed staging certificate
        rules: ["*"]                        # rule ids or globs to keep (also matches aliases)
        disabled_rules: [DAST-HDR-REFERRER]
        severity: {DAST-COOKIE-SAMESITE: medium, ZAP-10202: high}
        import: {zap: reports/zap.json}     # and/or {sarif: reports/semgrep.sarif}; or
                                            # --input dast.zap=FILE / --input dast.sarif=FILE

Rules (default severity): DAST-HDR-CSP (medium), DAST-HDR-CSP-WEAK (medium), DAST-HDR-HSTS (low),
DAST-HDR-XCTO (low), DAST-HDR-FRAME (medium), DAST-HDR-REFERRER (low), DAST-COOKIE-SECURE (low),
DAST-COOKIE-HTTPONLY (low), DAST-COOKIE-SAMESITE (low), DAST-DISCLOSURE-VERSION (low),
DAST-CORS-WILDCARD (medium), DAST-CORS-REFLECTED (high), DAST-DIR-LISTING (medium),
DAST-ERROR-STACKTRACE (medium). Imported ZAP alerts use these ids where ZAP has the same check
(`ZAP-<pluginid>` alias), else `ZAP-<pluginid>`; SARIF results keep their tool's rule id.
A missing or corrupt report file stops the run with exit 2.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gates.model import Finding, Location, Severity, fingerprint
from gates.plugins.interface import CollectContext, Collected, GateError
from gates.util.files import repo_file
from gates.util.mask import redact_url

_GLOBS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_KEEP_ERRORS = 10


def _imports(ctx: CollectContext) -> dict[str, Path]:
    configured = dict(ctx.settings.get("import", {}))
    configured.update({k: v for k, v in ctx.options.items() if k in ("zap", "sarif")})
    return {
        kind: repo_file(ctx.root, path, f"dast import {kind}") for kind, path in sorted(configured.items())
    }


def _url(ctx: CollectContext) -> str | None:
    url = ctx.options.get("url") or ctx.settings.get("url")
    return str(url) if url else None


def _scan(ctx: CollectContext, url: str, stats: dict[str, Any]) -> list[Finding]:
    from gates.dast.crawl import crawl  # http, ssl, html: only for a live scan
    from gates.dast.rules import RULES, check

    seconds = min(float(ctx.settings.get("max_seconds", 60)), ctx.remaining() - 1)
    result = crawl(url, int(ctx.settings.get("max_pages", 20)), seconds, ctx.settings.get("tls_verify", True))
    stats.update(
        pages=len(result.responses),
        fetch_errors=len(result.fetch_errors),
        fetch_error_examples=list(result.fetch_errors[:_KEEP_ERRORS]),
        offsite_links_skipped=result.offsite_skipped,
        stopped_by=result.stopped_by,
    )
    findings = []
    for response in result.responses:
        url = redact_url(response.url)
        for issue in check(response):
            findings.append(
                Finding(
                    gate="dast",
                    rule=issue.rule,
                    severity=RULES[issue.rule].severity,
                    message=issue.message,
                    location=Location(logical=url),
                    fingerprint=fingerprint("dast", issue.rule, url, issue.detail),
                    properties={
                        "url": url,
                        "status": response.status,
                        "evidence": issue.evidence,
                        "source": "scan",
                    },
                )
            )
    return findings


def _matches(finding: Finding, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(n, g) for n in (finding.rule, *finding.aliases) for g in globs)


class DastGate:
    name = "dast"
    version = "1.0.0"
    description = "Passive web scan of a running application; ZAP JSON and SARIF import"
    settings_schema: Mapping[str, Any] = {
        "url": {"type": "string", "pattern": "^https?://"},
        "max_pages": {"type": "integer", "minimum": 1},
        "max_seconds": {"type": "number", "exclusiveMinimum": 0},
        "tls_verify": {"type": "boolean"},
        "rules": _GLOBS,
        "disabled_rules": _GLOBS,
        "severity": {"type": "object", "additionalProperties": {"$ref": "#/$defs/severity"}},
        "import": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "zap": {"type": "string", "minLength": 1},
                "sarif": {"type": "string", "minLength": 1},
            },
        },
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {}  # the scanner is built in; its version is the gate's

    def cache_key(self, ctx: CollectContext) -> str | None:
        if _url(ctx) is not None:
            return None  # a live application can change between two runs
        digest = hashlib.sha256(f"dast-import\0{ctx.inline_suppressions}\0".encode())
        for kind, path in _imports(ctx).items():
            try:
                content = path.read_bytes()
            except OSError:
                return None  # collect reports the unreadable file
            digest.update(f"{kind}\0{path}\0".encode())
            digest.update(hashlib.sha256(content).digest())
        return digest.hexdigest()

    def collect(self, ctx: CollectContext) -> Collected:
        url, imports = _url(ctx), _imports(ctx)
        if url is None and not imports:
            raise GateError(
                "dast: no target: set gates.dast.url or gates.dast.import in the policy, "
                "or pass --input dast.url=URL (or dast.zap=FILE, dast.sarif=FILE)"
            )
        stats: dict[str, Any] = {}
        findings = _scan(ctx, url, stats) if url is not None else []
        if "zap" in imports:
            from gates.dast.zap import read_zap

            zap = read_zap(imports["zap"])
            stats["imported_zap"] = len(zap)
            findings += zap
        if "sarif" in imports:
            from gates.util.sarif import read_sarif

            sarif = read_sarif(imports["sarif"], ctx.root.resolve(), "dast", ctx.inline_suppressions)
            if sarif.failures:
                raise GateError(f"the imported SARIF report is incomplete: {sarif.failures[0]}")
            stats["imported_sarif"] = len(sarif.findings)
            stats["sarif_suppressed"] = sarif.suppressed
            findings += sarif.findings
        return Collected(findings=findings, stats=stats)

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        keep, drop = settings.get("rules", ["*"]), settings.get("disabled_rules", [])
        overrides = settings.get("severity", {})
        counted = []
        for finding in findings:
            if not _matches(finding, keep) or _matches(finding, drop):
                continue
            level = next((overrides[n] for n in (finding.rule, *finding.aliases) if n in overrides), None)
            counted.append(dataclasses.replace(finding, severity=Severity(level)) if level else finding)
        return counted
