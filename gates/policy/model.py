"""The effective policy: what the engine evaluates against, after `extends` and overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gates.errors import InputError
from gates.model import JSON, Finding
from gates.util.files import path_selected

# What a gate gets for a key that neither the policy nor its defaults set.
BUILTIN_GATE_DEFAULTS: Mapping[str, Any] = {
    "mode": "enforce",
    "fail_on": "high",
    "warn_on": "none",
    "max_findings": {},
    "include": [],
    "exclude": [],
    "new_only": False,
    "timeout_s": 900,
    "required": False,
    "skipped_files": "warn",
}


@dataclass(frozen=True)
class Waiver:
    gate: str
    rule: str
    reason: str
    owner: str
    expires: dt.date
    path: str | None = None
    fingerprint: str | None = None
    source: str = ""
    """Where the waiver is written (file:line), for the report and for error messages."""

    def applies_to(self, finding: Finding) -> bool:
        """Whether the waiver covers the finding, regardless of its expiry."""
        if self.gate != finding.gate:
            return False
        if self.rule != "*" and self.rule not in (finding.rule, *finding.aliases):
            return False
        if self.fingerprint is not None and self.fingerprint != finding.fingerprint:
            return False
        if self.path is not None:
            place = finding.location.path or finding.location.logical
            if place is None or not path_selected(place, include=[self.path]):
                return False
        return True

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def to_json(self) -> dict[str, JSON]:
        return {
            "gate": self.gate,
            "rule": self.rule,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> Waiver:
        return cls(
            gate=data["gate"],
            rule=data["rule"],
            reason=data["reason"],
            owner=data["owner"],
            expires=dt.date.fromisoformat(data["expires"]),
            path=data.get("path"),
            fingerprint=data.get("fingerprint"),
            source=data.get("source", ""),
        )


@dataclass(frozen=True)
class PolicyContext:
    """What overrides are matched against."""

    branch: str | None = None
    environment: str | None = None


@dataclass(frozen=True)
class ReleaseRules:
    """The policy's `release` block: what `gates verify` and `gates release` require."""

    allow_warn: bool = False
    max_age_hours: float | None = None
    require_signature: bool = False
    signing_alg: str | None = None
    key_env: str | None = None
    public_key: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleaseRules:
        signing = data.get("signing", {})
        return cls(
            allow_warn=data.get("allow_warn", False),
            max_age_hours=data.get("max_age_hours"),
            require_signature=data.get("require_signature", False),
            signing_alg=signing.get("alg"),
            key_env=signing.get("key_env"),
            public_key=signing.get("public_key"),
        )


@dataclass(frozen=True)
class Governance:
    """The policy's `governance` block: how waivers and inline suppressions are kept honest."""

    max_waiver_days: int | None = None
    """A waiver expiring further ahead than this many days is not applied (ledger: too_long)."""
    expiring_within_days: int = 30
    unused_waivers: str = "warn"
    """What an active waiver that matched nothing does to the verdict: warn, fail or ignore."""
    inline_suppressions: bool = True
    """Whether gates honour markers in code (`# nosec`, `# pragma: allowlist secret`)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Governance:
        return cls(**data)

    def to_json(self) -> dict[str, JSON]:
        return {
            "max_waiver_days": self.max_waiver_days,
            "expiring_within_days": self.expiring_within_days,
            "unused_waivers": self.unused_waivers,
            "inline_suppressions": self.inline_suppressions,
        }


def _enabled(gates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return sorted(name for name, s in gates.items() if s["mode"] != "off")


def _required(gates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return sorted(name for name, s in gates.items() if s["required"])


@dataclass(frozen=True)
class Project:
    """One `paths:` section of a monorepo policy: a folder and the gates that judge it."""

    name: str
    folder: str
    """Repository-relative, without a trailing slash (`services/api`)."""
    gates: Mapping[str, Mapping[str, Any]]
    waivers: tuple[Waiver, ...]

    def contains(self, path: str) -> bool:
        return path.startswith(self.folder + "/")

    def summary(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "path": f"{self.folder}/**",
            "enabled_gates": _enabled(self.gates),
            "required_gates": _required(self.gates),
        }


@dataclass(frozen=True)
class Policy:
    name: str
    source: str
    digest: str
    """sha256 of the resolved policy document (extends merged, overrides not yet applied), so the
    same policy has the same digest on every branch."""
    document: Mapping[str, Any]
    context: PolicyContext
    applied_overrides: tuple[str, ...]
    gates: Mapping[str, Mapping[str, Any]]
    """Every gate the policy names, with its effective settings (shared keys filled in)."""
    waivers: tuple[Waiver, ...]
    release: ReleaseRules = ReleaseRules()
    governance: Governance = Governance()
    projects: tuple[Project, ...] = ()
    """The `paths:` sections, by name. With projects, `gates` and `waivers` judge the files outside
    every project folder, unless the policy is scoped to one project (`scoped`)."""
    project: Project | None = None
    """The project this policy is scoped to; None: the top level."""
    whole: Policy | None = None
    """The unscoped policy, when this one is scoped to a project."""

    def enabled(self) -> list[str]:
        return _enabled(self.gates)

    def required(self) -> list[str]:
        """Gates that must run: one that is off, errors or is missing makes the verdict an error."""
        return _required(self.gates)

    def instances(self) -> dict[str, str]:
        """Gate instance name -> the plugin it runs (`uses:`), wherever the policy declares one."""
        top = self.top_level()
        sections = [top.gates, *(p.gates for p in top.projects)]
        return {name: s["uses"] for gates in sections for name, s in gates.items() if "uses" in s}

    def enabled_anywhere(self) -> list[str]:
        """The gates enabled at the top level or in any project."""
        top = self.top_level()
        return sorted({*top.enabled(), *(g for p in top.projects for g in _enabled(p.gates))})

    def top_level(self) -> Policy:
        """The policy for the files outside every project folder."""
        return self.whole if self.whole is not None else self

    def scoped(self, name: str | None) -> Policy:
        """The policy one project's files are judged by (None: the top level)."""
        top = self.top_level()
        if name is None:
            return top
        for project in top.projects:
            if project.name == name:
                return replace(top, gates=project.gates, waivers=project.waivers, project=project, whole=top)
        known = ", ".join(p.name for p in top.projects) or "none: it has no paths: sections"
        raise InputError(f"--project {name}: the policy {top.name!r} has no such project (projects: {known})")

    def in_scope(self, path: str) -> bool:
        """Whether a repository path belongs to the scope of this policy."""
        if self.project is not None:
            return self.project.contains(path)
        return not any(p.contains(path) for p in self.projects)

    def effective_document(self) -> dict[str, Any]:
        """The policy as it applies here, for `gates policy show`."""
        return {
            "version": 1,
            "name": self.name,
            "source": self.source,
            "digest": self.digest,
            "context": {"branch": self.context.branch, "environment": self.context.environment},
            "applied_overrides": list(self.applied_overrides),
            "gates": {name: dict(settings) for name, settings in sorted(self.gates.items())},
            "waivers": [w.to_json() for w in self.waivers],
            "governance": self.governance.to_json(),
            **(
                {
                    "projects": {
                        p.name: {
                            "path": f"{p.folder}/**",
                            "gates": {name: dict(settings) for name, settings in sorted(p.gates.items())},
                            "waivers": [w.to_json() for w in p.waivers],
                        }
                        for p in self.projects
                    }
                }
                if self.projects
                else {}
            ),
        }

    def summary(self) -> dict[str, JSON]:
        """What the verdict records of the policy: the same for every project it is scoped to, so
        that `gates merge` can tell which (project, gate) results it expects."""
        top = self.top_level()
        summary: dict[str, JSON] = {
            "name": self.name,
            "source": self.source,
            "digest": f"sha256:{self.digest}",
            "branch": self.context.branch,
            "environment": self.context.environment,
            "applied_overrides": list(self.applied_overrides),
            "enabled_gates": top.enabled(),
            "required_gates": top.required(),
            "governance": self.governance.to_json(),
        }
        if top.projects:
            summary["projects"] = [p.summary() for p in top.projects]
        return summary
