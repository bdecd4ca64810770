"""Vulnerabilities gate: every component of the SBOM that has a purl, at its pinned version (no
dependency resolution at audit time), against OSV. PyPI components are audited by pip-audit (against
OSV or PyPI's advisory feed); npm, Maven, Go, Composer, NuGet, cargo, RubyGems and Hex
components are asked of the same OSV service in one batch query, and a local database matches their
ranges in each ecosystem's own ordering (`gates.osv.match`).

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, include, exclude, new_only,
timeout_s)::

    gates:
      vulnerabilities:
        sbom: {source: auto}          # as for the sbom gate (or `file:` for an SBOM from elsewhere)
        service: osv                  # osv | pypi
        osv_url: http://127.0.0.1:8765   # an internal OSV mirror (also env GATES_OSV_URL or
                                         # `--input vulnerabilities.osv_url=...`)
        # osv_database: ../osv-pypi   # or answer from this OSV checkout / export zip in the gate
        default_severity: high        # for advisories without a CVSS v3 vector or rating
        ignore_unfixed: false         # true: advisories with no fixed version do not count
        vex: [vex/*.openvex.json, vex/app.cdx.json]   # VEX documents in the repository (globs)
        fail_on: high
        # with `gates run --since REF`: an advisory on a component new or changed since that
        # release is `introduced`, one on a component it shipped unchanged is `disclosed`
        introduced: fail              # fail: judged in full | warn: warns at most | ignore
        disclosed: fail
    waivers:
      - {gate: vulnerabilities, rule: CVE-2019-10906, reason: "sandbox unused", owner: web,
         expires: 2027-01-31}         # by advisory id or any alias (CVE, GHSA)

A finding's rule is the advisory id (PYSEC-2019-217, GHSA-...), its aliases the CVE/GHSA ids, its
location the component's purl; properties give the package, version, fixed versions and CVSS. Severity comes
from the advisory's CVSS v3 vector (base score), else its database rating, else
`default_severity`. With the pypi service PyPI severities are always `default_severity`.
Components of a purl type OSV does not know (generic, github...) are counted in
`stats.not_audited`.

Air-gapped: `gates osv-mirror serve DIR` serves a local OSV database over the OSV API. When the
database cannot be reached the gate errors (it never passes), naming these settings. Components
that cannot be audited (no or invalid version, not found by the service) are `unaudited` (medium).

VEX (CycloneDX VEX or OpenVEX JSON, see `gates.osv.vex`): a finding covered by a `not_affected`
statement with a justification is waived by that statement, which the verdict records in the
finding's `waived` (kind `vex`: document, line, justification, author, timestamp); any other
statement covering it is shown in its `vex` property. A `not_affected` statement without a
justification suppresses nothing and is a `vex-unjustified` finding (medium) at its line. A VEX
document that is not valid JSON, CycloneDX or OpenVEX is an input error (exit 2) naming its line.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gates import decision
from gates.model import (
    SEVERITIES,
    Finding,
    Location,
    Remediation,
    Severity,
    fingerprint,
)
from gates.osv import cvss
from gates.plugins.interface import CollectContext, Collected, GateError, ToolMissing
from gates.sbom.settings import SBOM_SETTINGS_SCHEMA
from gates.util.background import start_importing
from gates.util.files import repo_file
from gates.util.proc import distribution_version

if TYPE_CHECKING:
    from packageurl import PackageURL

    from gates.osv import vex
    from gates.osv.audit import Audit
    from gates.osv.client import Exchange
    from gates.sbom.read import Component

# OSV clients, the local database, VEX documents, version schemes and SBOMs are imported by the
# functions that use them: every command loads every gate to check the policy, and a pre-commit
# hook runs none of these.

OSV_URL_ENV = "GATES_OSV_URL"
DEFAULT_OSV_URL = "https://api.osv.dev"
_LOCAL_BASE = "http://osv-database.invalid"  # .invalid never resolves (RFC 6761): nothing leaves
_QUERY_PATH = "/v1/query"
_REQUEST_TIMEOUT_S = 10
_DESCRIPTION_CHARS = 300
_HOW_TO_CONFIGURE = (
    "to audit offline, give a local OSV database: `gates run --input vulnerabilities.osv_database=DIR` "
    "(or `osv_database: DIR` in the policy), DIR a checkout of "
    "https://github.com/pypa/advisory-database or the export "
    "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip; or serve one with "
    f"`gates osv-mirror serve DIR` and set {OSV_URL_ENV}"
)
# How requests says the service could not be reached, and the operating system's reason in it.
_NETWORK_ERROR = re.compile(r"ConnectionError|ConnectTimeout|ReadTimeout|NameResolution|Max retries exceeded")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
_DATABASE_RATING = {
    "LOW": "low",
    "MODERATE": "medium",
    "MEDIUM": "medium",
    "HIGH": "high",
    "CRITICAL": "critical",
}


def _purl(component: Component) -> PackageURL | None:
    if component.purl is None:
        return None
    from packageurl import PackageURL

    try:
        return PackageURL.from_string(component.purl)
    except ValueError:
        return None


def _pypi(purl: PackageURL | None) -> str | None:
    """The component's PyPI name, or None if it is not a PyPI package."""
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(purl.name)) if purl is not None and purl.type == "pypi" else None


def _unaudited(component: Component, why: str) -> Finding:
    return Finding(
        gate="vulnerabilities",
        rule="unaudited",
        severity=Severity.MEDIUM,
        message=f"{component.ref} was not audited: {why}",
        location=Location(logical=component.ref),
        fingerprint=fingerprint("vulnerabilities", "unaudited", component.ref),
        properties={"package": component.name, "version": component.version, "purl": component.purl},
    )


def _unjustified(statement: vex.Statement) -> Finding:
    return Finding(
        gate="vulnerabilities",
        rule="vex-unjustified",
        severity=Severity.MEDIUM,
        message=f"VEX statement {statement.status} for {statement.vulnerability} gives no justification: "
        "it suppresses nothing",
        location=Location(path=statement.path, line=statement.line),
        fingerprint=fingerprint(
            "vulnerabilities", "vex-unjustified", statement.path, statement.vulnerability, *statement.products
        ),
        properties={"vex": statement.to_json()},
    )


def _with_vex(finding: Finding, statements: Sequence[vex.Statement]) -> Finding:
    """The finding with the VEX statement that decides for it, if any, in its `vex` property."""
    from gates.osv import vex

    statement = vex.applicable(statements, (finding.rule, *finding.aliases), finding.location.logical)
    if statement is None:
        return finding
    return dataclasses.replace(finding, properties={**finding.properties, "vex": statement.to_json()})


def _osv_base(ctx: CollectContext) -> str:
    url = ctx.options.get("osv_url") or ctx.settings.get("osv_url") or os.environ.get(OSV_URL_ENV)
    return str(url or DEFAULT_OSV_URL).rstrip("/").removesuffix(_QUERY_PATH)


def _service(ctx: CollectContext) -> tuple[str, Exchange | None]:
    """The OSV base URL to audit against, and the exchange that answers it when an `osv_database`
    (policy, or `--input vulnerabilities.osv_database=DIR` relative to the working folder) is given:
    the gate answers its own queries in this process, under a base URL that never resolves."""
    within = None
    if "osv_database" in ctx.options:
        database = Path(ctx.options["osv_database"]).resolve()
    elif "osv_database" in ctx.settings:
        database = repo_file(ctx.root, ctx.settings["osv_database"], "gates.vulnerabilities.osv_database")
        within = ctx.root
    else:
        return _osv_base(ctx), None
    from gates.osv.mirror import OsvDatabase

    return _LOCAL_BASE, OsvDatabase.load(database, ctx.root, within).exchange


def _query_failure(where: str, message: str) -> str:
    """What went wrong asking `where`, short: `cannot reach URL (reason)` for a network error
    (requests' message holds a whole exception chain), else pip-audit's message."""
    if not _NETWORK_ERROR.search(message):
        return f"pip-audit could not query {where}: {message}"
    errno = _ERRNO.search(message)
    return f"cannot reach {where} ({errno[1].strip() if errno else 'no connection'})"


def _audit(pins: Sequence[str], service: str, base: str, exchange: Exchange | None) -> Audit:
    """pip-audit's per-dependency results for `name==version` pins, run in this process."""
    if importlib.util.find_spec("pip_audit") is None:
        raise ToolMissing(
            "pip-audit is not installed: pip install 'pip-audit' (or install governance-gates with "
            "its extras)"
        )
    try:
        from gates.osv.audit import AuditError, audit
    except ImportError as e:
        raise GateError(f"pip-audit cannot be imported: {e}") from e
    where = base if service == "osv" else "PyPI"
    try:
        pairs = [(p.partition("==")[0], p.partition("==")[2]) for p in pins]
        result = audit(pairs, service, base + _QUERY_PATH, _REQUEST_TIMEOUT_S, exchange)
    except AuditError as e:
        raise GateError(f"{_query_failure(where, str(e))}; {_HOW_TO_CONFIGURE}") from e
    dependencies = _complete_dependencies({"dependencies": result.dependencies}, pins)
    if dependencies and all("skip_reason" in d for d in dependencies):
        # pip-audit exits 0 when it could look nothing up (PyPI unreachable): never a pass.
        raise GateError(
            f"pip-audit could not audit any package against {where} "
            f"({dependencies[0]['skip_reason']}); {_HOW_TO_CONFIGURE}"
        )
    return result


def _complete_dependencies(report: Any, pins: Sequence[str]) -> list[dict[str, Any]]:
    """pip-audit's `dependencies`, only when the report is whole: a pin missing from it is a
    GateError."""
    from packaging.utils import canonicalize_name

    dependencies = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(dependencies, list) or not all(isinstance(d, dict) for d in dependencies):
        raise GateError("pip-audit's report is incomplete: no dependencies list")
    audited = {canonicalize_name(str(d.get("name", ""))) for d in dependencies}
    missing = [p for p in pins if canonicalize_name(p.partition("==")[0]) not in audited]
    if missing:
        raise GateError(f"pip-audit's report is incomplete: {len(missing)} pin(s) missing, e.g. {missing[0]}")
    return dependencies


def _ids(vuln: Mapping[str, Any]) -> tuple[str, ...]:
    return (str(vuln["id"]), *(str(a) for a in vuln.get("aliases", [])))


def _rating(record: Mapping[str, Any] | None) -> tuple[str | None, str | None, float | None]:
    """(severity, CVSS vector, score) of an OSV record; severity None when it gives none."""
    if record is None:
        return None, None, None
    for entry in record.get("severity") or []:
        score = cvss.base_score(str(entry.get("score", "")))
        if score is not None:
            return cvss.severity(score).value, entry["score"], score
    label = str((record.get("database_specific") or {}).get("severity", "")).upper()
    return _DATABASE_RATING.get(label), None, None


def _finding(
    component: Component,
    name: str,
    version: str,
    record: Mapping[str, Any] | None,
    reported: tuple[str, ...],
    fixed: Sequence[str],
    description: str,
) -> Finding:
    """An advisory for one component, `reported` under these ids (the record's own id first
    when the record is known)."""
    severity, vector, score = _rating(record)
    advisory = str(record["id"]) if record is not None else reported[0]
    aliases = tuple(sorted({a for a in (*reported, *(record or {}).get("aliases", [])) if a != advisory}))
    fix = f"fixed in {', '.join(fixed)}" if fixed else "no fixed version"
    return Finding(
        gate="vulnerabilities",
        rule=advisory,
        severity=Severity(severity or "high"),
        message=f"{name} {version}: {advisory}{' (' + ', '.join(aliases) + ')' if aliases else ''}, {fix}",
        location=Location(logical=component.purl or component.ref),
        fingerprint=fingerprint("vulnerabilities", advisory, name, version),
        aliases=aliases,
        properties={
            "package": name,
            "version": version,
            "description": description[:_DESCRIPTION_CHARS],
            "cvss": vector,
            "cvss_score": score,
            "severity_source": "cvss" if vector else "advisory" if severity else "default",
        },
        remediation=Remediation(tuple(fixed)),
    )


def _pin(dependency: Mapping[str, Any]) -> str:
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    return f"{canonicalize_name(dependency['name'])}=={Version(dependency.get('version') or '0')}"


def _component(dependency: Mapping[str, Any]) -> Component:
    from gates.sbom.read import Component

    return Component(dependency["name"], dependency.get("version"), None, ())


def _pip_audit_findings(
    dependencies: Sequence[Mapping[str, Any]],
    records: Mapping[tuple[str, ...], dict[str, Any] | None],
    by_pin: Mapping[str, Component],
) -> list[Finding]:
    """A finding for each advisory pip-audit reported, with its OSV record when there is one."""
    findings = []
    for dependency in dependencies:
        component = by_pin.get(_pin(dependency)) or _component(dependency)
        name, version = dependency["name"], dependency["version"]
        for vuln in dependency.get("vulns", []):
            fixed = [str(v) for v in vuln.get("fix_versions", [])]
            description = str(vuln.get("description") or "")
            record = records.get(_ids(vuln))
            findings.append(_finding(component, name, version, record, _ids(vuln), fixed, description))
    return findings


def _osv_findings(
    base: str, exchange: Exchange | None, components: Sequence[tuple[Component, str, str]]
) -> list[Finding]:
    """Findings for (component, OSV ecosystem, name) of any ecosystem, asked of OSV directly."""
    from gates.osv.client import OsvUnavailable, fetch_records, query_batch
    from gates.osv.match import fixed_versions

    packages = [(ecosystem, name, c.version or "") for c, ecosystem, name in components]
    try:
        found = query_batch(base, packages, exchange)
        advisories = sorted({(advisory,) for ids in found for advisory in ids})
        records = dict(zip(advisories, fetch_records(base, advisories, exchange=exchange), strict=True))
    except OsvUnavailable as e:
        raise GateError(f"{e}; {_HOW_TO_CONFIGURE}") from e
    findings = []
    for (component, ecosystem, name), ids in zip(components, found, strict=True):
        for advisory in sorted(set(ids)):
            record = records[(advisory,)]
            if record is None:
                raise GateError(f"{advisory}: OSV named it for {component.ref} but has no such record")
            fixed = fixed_versions(record, ecosystem, name)
            description = str(record.get("summary") or record.get("details") or "")
            version = component.version or ""
            findings.append(_finding(component, name, version, record, (advisory,), fixed, description))
    return findings


class VulnerabilitiesGate:
    name = "vulnerabilities"
    version = "1.0.0"
    description = (
        "Known vulnerabilities of the SBOM's components (PyPI with pip-audit; npm, Maven, Go... with OSV)"
    )
    settings_schema: Mapping[str, Any] = {
        **SBOM_SETTINGS_SCHEMA,
        "service": {"enum": ["osv", "pypi"]},
        "osv_url": {"type": "string", "pattern": "^https?://"},
        "osv_database": {"type": "string", "minLength": 1},
        "default_severity": {"enum": list(SEVERITIES)},
        "ignore_unfixed": {"type": "boolean"},
        "vex": {"type": "array", "items": {"type": "string", "minLength": 1, "format": "glob"}},
        "introduced": {"enum": list(decision.CHOICES)},
        "disclosed": {"enum": list(decision.CHOICES)},
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {
            "pip-audit": distribution_version("pip-audit"),
            "cyclonedx-bom": distribution_version("cyclonedx-bom"),
        }

    def cache_key(self, ctx: CollectContext) -> str | None:
        return None  # the advisory database changes without the repository changing

    def collect(self, ctx: CollectContext) -> Collected:
        from packaging.version import InvalidVersion, Version

        from gates.osv import vex
        from gates.osv.client import fetch_records
        from gates.osv.match import osv_package
        from gates.sbom.provide import provide
        from gates.versions import parse

        if importlib.util.find_spec("pip_audit") is not None:
            # most of a second (pip_api asks pip for its version in a child process), which then
            # passes while cyclonedx-py writes the SBOM
            start_importing("gates.osv.audit")
        documents = vex.load(ctx.root, ctx.settings.get("vex", []))  # before auditing: exit 2 fast
        statements = [s for d in documents for s in d.statements]
        provided = provide(ctx)
        findings: list[Finding] = [_unjustified(s) for s in statements if s.unjustified]
        by_pin: dict[str, Component] = {}
        others: list[tuple[Component, str, str]] = []
        not_audited: Counter[str] = Counter()
        for component in provided.sbom.components:
            purl = _purl(component)
            name = _pypi(purl)
            package = osv_package(purl) if purl is not None and name is None else None
            if name is None and package is None:
                not_audited[purl.type if purl is not None else "no purl"] += 1
                continue
            if package is not None:
                if purl is not None and parse(purl.type, component.version or "") is not None:
                    others.append((component, *package))
                else:  # a range (^4.17.20) or a spelling its ecosystem cannot order: no audit can tell
                    findings.append(
                        _unaudited(
                            component, f"no exact {package[0]} version ({component.version or 'none'})"
                        )
                    )
                continue
            try:
                by_pin[f"{name}=={Version(component.version or '')}"] = component
            except InvalidVersion:
                findings.append(_unaudited(component, f"no exact version ({component.version or 'none'})"))
        service = str(ctx.settings.get("service", "osv"))
        stats: dict[str, Any] = {
            "source": provided.description,
            "service": service,
            "audited": len(by_pin) + len(others),
            "audited_by_ecosystem": dict(
                sorted(Counter(["PyPI"] * len(by_pin) + [e for _, e, _ in others]).items())
            ),
            "not_audited": dict(sorted(not_audited.items())),
            "vex": [d.to_json() for d in documents],
        }
        if not by_pin and not others:
            return Collected(provided.anchor(findings), stats)
        advised: list[Finding] = []
        base, exchange = _service(ctx)
        if others:
            advised += _osv_findings(base, exchange, others)
        if by_pin:
            audited = _audit(sorted(by_pin), service, base, exchange)
            dependencies = audited.dependencies
            findings += [
                _unaudited(by_pin.get(_pin(d)) or _component(d), str(d["skip_reason"]))
                for d in dependencies
                if "skip_reason" in d
            ]
            advisories = sorted({_ids(v) for d in dependencies for v in d.get("vulns", [])})
            fetched = (
                fetch_records(base, advisories, audited.records, exchange)
                if service == "osv"
                else [None] * len(advisories)
            )
            advised += _pip_audit_findings(dependencies, dict(zip(advisories, fetched, strict=True)), by_pin)
        findings += [_with_vex(f, statements) for f in advised]
        stats["advisories"] = len({f.rule for f in advised})
        return Collected(provided.anchor(findings), stats)

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        default = Severity(settings.get("default_severity", "high"))
        kept = []
        for finding in findings:
            props = finding.properties
            unfixed = finding.remediation is not None and not finding.remediation.fixed_versions
            if settings.get("ignore_unfixed") and unfixed:
                continue
            statement = props.get("vex")
            if statement is not None and statement["suppresses"]:
                from gates.osv import vex

                rest = {k: v for k, v in props.items() if k != "vex"}
                suppression = vex.suppression(statement)
                finding = dataclasses.replace(finding, properties=rest, suppression=suppression)
            if props.get("severity_source") == "default" and finding.severity is not default:
                finding = dataclasses.replace(finding, severity=default)
            kind = finding.delta_mark
            choice = str(settings.get(kind.value, "fail")) if kind is not None else "fail"
            if choice == "fail":  # judged in full, by its severity and the thresholds
                kept.append(finding)
                continue
            decided = decision.decide(finding, choice, key=str(kind))  # warns (keeping its severity) or drops
            kept += [decided] if decided is not None else []
        return kept
