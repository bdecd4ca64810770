"""Licence gate: every component's licence, read from the SBOM, normalised with license-expression
against the ScanCode licence database and judged against allow/deny lists and licence categories.

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, include, exclude, new_only,
timeout_s)::

    gates:
      licence:
        sbom: {source: auto}        # as for the sbom gate (or `file:` for an SBOM from elsewhere)
        allow: [MIT, BSD-3-Clause, Apache-2.0, ISC, PSF-2.0]   # if given, nothing else is allowed
        deny: [AGPL-3.0-only, AGPL-3.0-or-later]
        deny_categories: [Copyleft]  # ScanCode categories: Permissive, Copyleft, Copyleft Limited,
                                     # Proprietary Free, Commercial, Public Domain, ...
        unknown: warn               # a licence no source knows: fail (high) | warn (medium) |
                                    # ignore; fail and warn decide the gate's status directly
        check_project: true         # judge the project's own licence, and a permissive project
                                    # depending on strong copyleft (or a copyleft project on
                                    # proprietary code) as `licence-incompatible`
        project_license: Apache-2.0 # default: the SBOM's root component (pyproject.toml)
        category_changes: ignore    # with `gates run --since`: `licence-category-changed` for a
                                    # component whose licence gained a category since that release
                                    # (Permissive -> Copyleft): ignore | warn | fail
        lookup:                     # licences of PyPI components the SBOM names none for
          enabled: true             # installed metadata of the same version, else the index's
          index_url: https://pypi.example/simple  # default: pip's configured index; file:// works
          offline: false            # true: installed metadata and the on-disk cache only
          cache: /ci-cache/gates-licences  # default: ~/.cache/gates/pypi-licences
    waivers:
      - {gate: licence, rule: licence-denied, path: "pkg:pypi/mysql-connector*",
         reason: "used only by the migration tool", owner: data-team, expires: 2027-06-30}

Rules: `licence-denied` (deny list or category), `licence-not-allowed` (outside `allow`),
`licence-incompatible`, all high; `licence-unknown` as `unknown` says; `licence-coverage` (medium,
warns) when some components' licences cannot be known: the SBOM names none and no lookup found them.
`MIT OR GPL-3.0-only` passes when one branch is allowed; a conjunction, and several licences declared
for one component, need every part allowed; a declared licence no source knows is judged only when
the component declares no known one. Names and trove classifiers are resolved by
gates.sbom.licence_names. An explicit `allow` entry wins over `deny_categories`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gates import decision
from gates.model import Finding, Location, Severity, fingerprint
from gates.plugins.interface import CollectContext, Collected
from gates.sbom.settings import CATEGORIES, SBOM_SETTINGS_SCHEMA
from gates.util.proc import distribution_version
from gates.util.sealed import open_sealed

if TYPE_CHECKING:
    from gates.sbom import licence_lookup, licences
    from gates.sbom.read import Component, Sbom

# Reading SBOMs, judging and looking licences up and the release delta are imported by the methods that use
# them: every command loads every gate to check the policy, and a pre-commit hook runs none of these.

_COMPONENT, _PROJECT, _COVERAGE = "component", "project", "coverage"
_COPYLEFT = frozenset({"Copyleft", "Copyleft Limited"})
_UNKNOWN_SEVERITY = {"fail": Severity.HIGH, "warn": Severity.MEDIUM}
_KEPT = ("name", "version", "declared", "expression", "category", "unrecognised", "licence_source")


def _record(
    rule: str, component: Component, texts: Sequence[str], source: str, origin: str | None = "sbom"
) -> Finding:
    """What the component declares, resolved; `origin` says where the licences come from."""
    from gates.sbom import licences

    normalised = licences.normalise(texts)
    expression = normalised.expression
    return Finding(
        gate="licence",
        rule=rule,
        severity=Severity.INFO,
        message=f"{component.ref}: {expression or normalised.error}",
        location=Location(logical=component.ref),
        fingerprint=fingerprint("licence", rule, component.ref),
        properties={
            "name": component.name,
            "version": component.version,
            "declared": list(texts),
            "expression": expression,
            "category": ", ".join(licences.categories_of(expression)) if expression else None,
            "unrecognised": list(normalised.unrecognised),
            "error": normalised.error,
            "licence_source": origin if texts else None,
            "sbom": source,
        },
    )


def _coverage_record(sbom: Sbom, lookup: licence_lookup.Lookup | None, source: str) -> Finding:
    """How many components' licences are known, and why the others' cannot be."""
    from gates.sbom import licence_lookup, licences

    unknowable = {} if lookup is None else dict(lookup.missing)
    if lookup is None:
        unknowable = {
            c.ref: "the SBOM names none and lookup is off" for c in sbom.components if not c.licences
        }
    found = {} if lookup is None else lookup.found
    declared = [c.licences or (found[c.ref].licences if c.ref in found else ()) for c in sbom.components]
    coverage = licences.coverage(declared)
    return Finding(
        gate="licence",
        rule=_COVERAGE,
        severity=Severity.INFO,
        message=f"{coverage.known} of {coverage.components} components have a known licence",
        location=Location(logical=source),
        fingerprint=fingerprint("licence", _COVERAGE, source),
        properties={
            "components": coverage.components,
            "known": coverage.known,
            "looked_up": {
                where: sum(1 for f in found.values() if f.source == where)
                for where in (licence_lookup.INSTALLED, licence_lookup.INDEX)
            },
            "unknowable": len(unknowable),
            "why": sorted(set(unknowable.values()))[:5],
            "examples": sorted(unknowable)[:10],
        },
    )


def _coverage_finding(record: Finding) -> Finding | None:
    props = record.properties
    if not props["unknowable"]:
        return None
    share = props["known"] / props["components"] if props["components"] else 1.0
    return Finding(
        gate="licence",
        rule="licence-coverage",
        severity=Severity.MEDIUM,
        message=f"licences known for {props['known']} of {props['components']} components ({share:.0%}): "
        f"{props['unknowable']} cannot be known ({'; '.join(props['why'])})",
        location=record.location,
        fingerprint=fingerprint("licence", "licence-coverage", record.location.logical),
        properties={**props, "share": round(share, 4)},
        manifest=record.manifest,
    )


def _project_copyleft(expression: str | None) -> bool | None:
    """Whether the project's licence is copyleft in every branch; None when unknown."""
    from gates.sbom import licences

    if expression is None:
        return None
    categories = [licences.category(k) for k in licences.keys(expression)]
    if None in categories:
        return None
    return all(c in _COPYLEFT for c in categories)


def _key_judge(settings: Mapping[str, Any], project_copyleft: bool | None) -> licences.KeyJudge:
    from gates.sbom import licences

    allow = {k.lower() for k in settings.get("allow", [])}
    deny = {k.lower() for k in settings.get("deny", [])}
    deny_categories = set(settings.get("deny_categories", []))

    def judge_key(key: str) -> licences.Judgement:
        cat = licences.category(key)
        if key.lower() in deny:
            return licences.Judgement("deny", "licence-denied", f"{key} is denied")
        if key.lower() in allow:
            return licences.Judgement("allow")
        if cat is None:
            return licences.Judgement("unknown", "licence-unknown", f"{key} is not a known licence")
        if cat in deny_categories:
            return licences.Judgement("deny", "licence-denied", f"{key} is {cat}, a denied category")
        if allow:
            return licences.Judgement("deny", "licence-not-allowed", f"{key} is not in the allow list")
        if project_copyleft is False and cat == "Copyleft":
            return licences.Judgement(
                "deny", "licence-incompatible", f"{key} ({cat}) in a non-copyleft project"
            )
        if project_copyleft and cat in ("Commercial", "Proprietary Free"):
            return licences.Judgement("deny", "licence-incompatible", f"{key} ({cat}) in a copyleft project")
        return licences.Judgement("allow")

    return judge_key


def _finding(record: Finding, judgement: licences.Judgement, severity: Severity) -> Finding:
    what = "the project's licence" if record.rule == _PROJECT else record.location.logical
    properties = {k: record.properties.get(k) for k in _KEPT}
    origin = record.properties.get("licence_source")
    looked_up = f" (licences from the {origin})" if origin not in (None, "sbom") else ""
    return Finding(
        gate="licence",
        rule=judgement.rule,
        severity=severity,
        message=f"{what}: {judgement.reason}{looked_up}",
        location=record.location,
        fingerprint=fingerprint("licence", judgement.rule, record.location.logical),
        properties=properties,
    )


def _look_up(sbom: Sbom, ctx: CollectContext) -> licence_lookup.Lookup | None:
    from gates.sbom import licence_lookup

    settings = ctx.settings.get("lookup", {})
    if not settings.get("enabled", True):
        return None
    folder = Path(settings["cache"]).expanduser() if settings.get("cache") else licence_lookup.default_cache()
    return licence_lookup.look_up(
        [(c.ref, c.purl) for c in sbom.components if not c.licences],
        index=settings.get("index_url"),
        cache=open_sealed(folder, ctx.root),  # None: inside the repository
        offline=bool(settings.get("offline", False)),
        timeout_s=ctx.remaining(),
    )


class LicenceGate:
    name = "licence"
    version = "1.0.0"
    description = "Licences of the SBOM's components against allow/deny lists and categories"
    settings_schema: Mapping[str, Any] = {
        **SBOM_SETTINGS_SCHEMA,
        "allow": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "deny": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "deny_categories": {"type": "array", "items": {"enum": list(CATEGORIES)}},
        "unknown": {"enum": ["fail", "warn", "ignore"]},
        "check_project": {"type": "boolean"},
        "project_license": {"type": "string", "minLength": 1},
        "category_changes": {"enum": list(decision.CHOICES)},
        "lookup": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "index_url": {"type": "string", "pattern": "^(https?|file)://"},
                "offline": {"type": "boolean"},
                "cache": {"type": "string", "minLength": 1},
            },
        },
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {
            "license-expression": distribution_version("license-expression"),
            "cyclonedx-bom": distribution_version("cyclonedx-bom"),
        }

    def cache_key(self, ctx: CollectContext) -> str | None:
        from gates.sbom.provide import source_and_key

        lookup = sorted(ctx.settings.get("lookup", {}).items())
        return f"{source_and_key(ctx)[1]}\0{ctx.settings.get('project_license')}\0{lookup}"

    def collect(self, ctx: CollectContext) -> Collected:
        from gates.sbom import delta, licence_lookup
        from gates.sbom.provide import provide
        from gates.sbom.read import Component

        provided = provide(ctx)
        sbom, source = provided.sbom, provided.description
        lookup = _look_up(sbom, ctx)
        records = []
        for component in sbom.components:
            found = lookup.found.get(component.ref) if lookup is not None and not component.licences else None
            texts, origin = (found.licences, found.source) if found else (component.licences, "sbom")
            records.append(_record(_COMPONENT, component, texts, source, origin))
        project = sbom.root or Component("project", None, None, ())
        declared = ctx.settings.get("project_license")
        records.append(_record(_PROJECT, project, [declared] if declared else project.licences, source))
        coverage = _coverage_record(sbom, lookup, source)
        records.append(coverage)
        stats = {
            "source": source,
            **{k: coverage.properties[k] for k in ("components", "known", "looked_up")},
            delta.INVENTORY_STAT: delta.inventory_stat(sbom.components),
        }
        unavailable = lookup is not None and any(
            why.startswith(licence_lookup.UNAVAILABLE) for why in lookup.missing.values()
        )
        return Collected(provided.anchor(records), stats, cacheable=not unavailable)

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        from gates.sbom import licences

        check_project = bool(settings.get("check_project", False))
        project = next((f for f in findings if f.rule == _PROJECT), None)
        copyleft = None
        if check_project and project is not None:
            copyleft = _project_copyleft(project.properties["expression"])
        judge_key = _key_judge(settings, copyleft)
        unknown = settings.get("unknown", "warn")
        unknown_severity = _UNKNOWN_SEVERITY.get(unknown)
        from gates.sbom import delta

        records, kept = delta.judge_records(findings, settings, {delta.CATEGORY_CHANGED: "category_changes"})
        for record in records:
            if record.rule == _COVERAGE:
                coverage = _coverage_finding(record)
                warned = decision.decide(coverage, "warn") if coverage is not None else None  # never fails
                kept += [warned] if warned is not None else []
                continue
            if record.rule == _PROJECT and not check_project:
                continue
            expression = record.properties["expression"]
            if expression is None:
                judgement = licences.Judgement("unknown", "licence-unknown", str(record.properties["error"]))
            else:
                judgement = licences.judge(expression, judge_key)
            if judgement.outcome == "deny":
                kept.append(_finding(record, judgement, Severity.HIGH))
            elif judgement.outcome == "unknown" and unknown_severity is not None:
                decided = decision.decide(_finding(record, judgement, unknown_severity), unknown)
                kept += [decided] if decided is not None else []
        return kept
