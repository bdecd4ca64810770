"""SBOM gate: a CycloneDX SBOM of what the project ships, generated with cyclonedx-bom (JSON) or
brought from elsewhere (JSON or XML), validated against the CycloneDX schema and written to the
output folder as `sbom.cdx.json` (or `sbom.cdx.xml`), a release artefact. The licence and
vulnerabilities gates judge its components.

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, include, exclude, new_only,
timeout_s)::

    gates:
      sbom:
        sbom:                       # the same key is read by the licence and vulnerabilities gates
          source: auto              # auto | requirements | poetry | pipenv | pyproject | environment
          path: requirements/prod.txt   # the file (or project directory) the source reads
          # python: .venv/bin/python    # environment source: the interpreter to inventory
          # file: dist/bom.cdx.json     # or an existing CycloneDX SBOM (JSON or XML), from any tool
          spec_version: "1.6"
        require_version: true       # a component without a version: `component-no-version` (medium)
        require_purl: true          # a component without a purl: `component-no-purl` (medium)
        banned:                     # `component-banned` (high)
          - purl: "pkg:pypi/pycrypto@*"      # glob on the purl
            reason: unmaintained, use pycryptodome
          - name: requests                   # or a name, with an optional PEP 440 version range
            versions: "<2.20"
        min_licence_share: 0.9      # `licence-coverage` (medium) when fewer components name a licence
        new_components: ignore      # with `gates run --since`: `component-added` for each component
                                    # new since that release: ignore | warn | fail
        downgrades: ignore          # `component-downgraded` for a version lower than the release's;
                                    # `delta-unknown` when what changed cannot be known: the
                                    # stricter of the two decides
        notices_file: THIRD_PARTY_NOTICES.md   # opt-in: `notices-outdated` (high, fails the gate) when this
                                    # committed file differs from the notices made from the SBOM

Every run also writes `THIRD_PARTY_NOTICES.md` (component, version, licence, where its text is,
copyright) next to the SBOM, a release artefact (`gates sbom notices SBOM` makes the same file).

`source: auto` picks `poetry.lock`, `Pipfile.lock`, `requirements.txt`, `pyproject.toml`
dependencies at the repository root, else the Python environment gates runs in. An SBOM that breaks
the CycloneDX schema is a high `sbom-invalid` finding; a file that is not CycloneDX JSON or XML at
all is bad input (exit 2). Findings point at the component's purl (`location.logical`).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gates import decision
from gates.errors import InputError
from gates.model import Finding, Location, Severity, fingerprint
from gates.plugins.interface import CollectContext, Collected
from gates.sbom.settings import SBOM_SETTINGS_SCHEMA
from gates.util.files import SkippedFile, read_text, select_files
from gates.util.proc import distribution_version

if TYPE_CHECKING:
    from gates.sbom.read import Component

# The SBOM modules (reading, diffing, notices, packaging) are imported by the methods that use
# them: every command loads every gate to check the policy, and a pre-commit hook runs none of these.

_INVENTORY = "component"
"""Collected for every component; `evaluate` turns them into the findings the policy asks for."""


def _inventory(component: Component, source: str) -> Finding:
    return Finding(
        gate="sbom",
        rule=_INVENTORY,
        severity=Severity.INFO,
        message=f"{component.ref} is in the SBOM",
        location=Location(logical=component.ref),
        fingerprint=fingerprint("sbom", _INVENTORY, component.ref),
        properties={
            "name": component.name,
            "version": component.version,
            "purl": component.purl,
            "licences": list(component.licences),
            "sbom": source,
        },
    )


def _violation(item: Finding, rule: str, severity: Severity, message: str) -> Finding:
    return Finding(
        gate="sbom",
        rule=rule,
        severity=severity,
        message=message,
        location=item.location,
        fingerprint=fingerprint("sbom", rule, item.location.logical),
        properties={k: item.properties[k] for k in ("name", "version", "purl")},
    )


def _ban_reason(entry: Mapping[str, Any], props: Mapping[str, Any]) -> str | None:
    """Why the component matches a `banned` entry, or None."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    if "purl" in entry:
        if not (props["purl"] and fnmatch.fnmatchcase(props["purl"], entry["purl"])):
            return None
    elif canonicalize_name(entry["name"]) != canonicalize_name(props["name"]):
        return None
    if "versions" in entry:
        try:
            versions = SpecifierSet(entry["versions"])
        except InvalidSpecifier as e:
            raise InputError(f"policy: sbom.banned: not a version range: {entry['versions']!r}") from e
        try:
            if Version(props["version"] or "") not in versions:
                return None
        except InvalidVersion:
            pass  # an unknown version could be a banned one: fail closed
    return str(entry.get("reason") or "banned by policy")


def _judge(item: Finding, settings: Mapping[str, Any]) -> list[Finding]:
    props = item.properties
    found = []
    if settings.get("require_version", True) and not props["version"]:
        found.append(
            _violation(
                item,
                "component-no-version",
                Severity.MEDIUM,
                f"{item.location.logical} has no version: it cannot be audited",
            )
        )
    if settings.get("require_purl", True) and not props["purl"]:
        found.append(
            _violation(item, "component-no-purl", Severity.MEDIUM, f"{item.location.logical} has no purl")
        )
    for entry in settings.get("banned", []):
        reason = _ban_reason(entry, props)
        if reason is not None:
            found.append(
                _violation(
                    item, "component-banned", Severity.HIGH, f"{item.location.logical} is banned: {reason}"
                )
            )
            break
    return found


def _coverage(inventory: Sequence[Finding], minimum: float) -> Finding | None:
    named = sum(1 for f in inventory if f.properties["licences"])
    share = named / len(inventory) if inventory else 1.0
    if share >= minimum:
        return None
    source = str(inventory[0].properties["sbom"])
    return Finding(
        gate="sbom",
        rule="licence-coverage",
        severity=Severity.MEDIUM,
        message=f"{named} of {len(inventory)} components ({share:.0%}) name a licence, "
        f"policy asks for {minimum:.0%}",
        location=Location(logical=source),
        fingerprint=fingerprint("sbom", "licence-coverage", source),
        properties={"components": len(inventory), "with_licence": named, "share": round(share, 4)},
    )


def _committed(root: Path, path: str) -> str | None:
    """The repository's copy of the notices file (None: missing, unreadable, or a symlink or path
    leading out of the repository, which never stands for a committed file)."""
    selected = select_files(root, only_paths=(path,)).files
    if not selected or not selected[0].abspath.resolve().is_relative_to(root.resolve()):
        return None
    try:
        return read_text(selected[0]).replace("\r\n", "\n")
    except SkippedFile:
        return None


def _outdated(path: str, committed: str | None) -> Finding:
    why = "is missing" if committed is None else "no longer matches the SBOM"
    return Finding(
        gate="sbom",
        rule="notices-outdated",
        severity=Severity.HIGH,
        message=f"{path} {why}: regenerate it with `gates sbom notices SBOM` (or take the run's copy)",
        location=Location(path=path),
        fingerprint=fingerprint("sbom", "notices-outdated", path),
    )


class SbomGate:
    name = "sbom"
    version = "1.0.0"
    description = "CycloneDX SBOM with cyclonedx-bom: generated, validated, kept as an artefact"
    settings_schema: Mapping[str, Any] = {
        **SBOM_SETTINGS_SCHEMA,
        "require_version": {"type": "boolean"},
        "require_purl": {"type": "boolean"},
        "banned": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "oneOf": [{"required": ["purl"]}, {"required": ["name"]}],
                "properties": {
                    "purl": {"type": "string", "minLength": 1},
                    "name": {"type": "string", "minLength": 1},
                    "versions": {"type": "string", "minLength": 1},
                    "reason": {"type": "string"},
                },
            },
        },
        "min_licence_share": {"type": "number", "minimum": 0, "maximum": 1},
        "new_components": {"enum": list(decision.CHOICES)},
        "downgrades": {"enum": list(decision.CHOICES)},
        "notices_file": {"type": "string", "minLength": 1},
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {
            "cyclonedx-bom": distribution_version("cyclonedx-bom"),
            "cyclonedx-python-lib": distribution_version("cyclonedx-python-lib"),
        }

    def cache_key(self, ctx: CollectContext) -> str | None:
        from gates.sbom.provide import source_and_key

        key = source_and_key(ctx)[1]
        if "notices_file" in ctx.settings:
            committed = _committed(ctx.root, ctx.settings["notices_file"])
            key += "\0" + hashlib.sha256((committed or "\0missing").encode("utf-8")).hexdigest()
        return key

    def collect(self, ctx: CollectContext) -> Collected:
        from gates.sbom import delta, notices
        from gates.sbom.provide import artefact_name, provide

        provided = provide(ctx)
        sbom = provided.sbom
        findings = [_inventory(c, provided.description) for c in sbom.components]
        if sbom.problem is not None:
            findings.append(
                Finding(
                    gate="sbom",
                    rule="sbom-invalid",
                    severity=Severity.HIGH,
                    message=f"the SBOM breaks the CycloneDX {sbom.spec_version} schema: {sbom.problem}",
                    location=Location(logical=provided.description),
                    fingerprint=fingerprint("sbom", "sbom-invalid", provided.description),
                )
            )
        attribution = notices.render(sbom.components)
        if "notices_file" in ctx.settings:
            path = ctx.settings["notices_file"]
            committed = _committed(ctx.root, path)
            if committed != attribution:
                findings.append(_outdated(path, committed))
        stats = {
            "source": provided.description,
            "spec_version": sbom.spec_version,
            "components": len(sbom.components),
            "valid": sbom.problem is None,
            "sha256": sbom.digest,
            delta.INVENTORY_STAT: delta.inventory_stat(sbom.components),
        }
        return Collected(
            findings=provided.anchor(findings),
            stats=stats,
            artefacts={artefact_name(sbom): sbom.raw.decode("utf-8"), notices.FILE_NAME: attribution},
        )

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        from gates.sbom import delta

        findings, kept = delta.judge_records(
            findings, settings, {delta.ADDED: "new_components", delta.DOWNGRADED: "downgrades"}
        )
        inventory = [f for f in findings if f.rule == _INVENTORY]
        for finding in findings:
            if finding.rule == "notices-outdated":  # opted in: it fails the gate, whatever fail_on says
                finding = decision.decide(finding, "fail") or finding
            if finding.rule != _INVENTORY:
                kept.append(finding)
        for item in inventory:
            kept += _judge(item, settings)
        minimum = settings.get("min_licence_share")
        if minimum is not None and inventory:
            coverage = _coverage(inventory, float(minimum))
            kept += [coverage] if coverage is not None else []
        return kept
