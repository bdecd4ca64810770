"""Reading any SARIF 2.1.0 file (Semgrep, CodeQL, ESLint, ZAP's SARIF report...), one finding per
result, for every gate that imports one (dast, sarif).

Severity: the `security-severity` score (result, then rule property: >= 9 critical, >= 7 high,
>= 4 medium, else low), else the SARIF level (error high, warning medium, note low, none info).
Results the other tool records as suppressed (accepted) are skipped and counted; gates' own waivers
apply to the rest. CWE tags of the rule become aliases, so a waiver can name the CWE.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gates.model import Finding, Location, Severity, fingerprint
from gates.util.jsonfile import LoadedJson, read_json

_LEVEL = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
_CWE = re.compile(r"\bCWE-\d+\b", re.IGNORECASE)
_MAX_MESSAGE = 500


@dataclass(frozen=True)
class SarifImport:
    findings: tuple[Finding, ...]
    suppressed: int
    failures: tuple[str, ...] = ()
    """Why a run did not finish (`invocations[].executionSuccessful: false`, or no `results`): its
    results are incomplete, so a gate must not pass on them."""


def _severity(result: Mapping[str, Any], rule: Mapping[str, Any]) -> Severity:
    for props in (result.get("properties") or {}, rule.get("properties") or {}):
        score = props.get("security-severity")
        if score is None:
            continue
        try:
            value = float(score)
        except (TypeError, ValueError):
            continue
        for floor, severity in ((9, Severity.CRITICAL), (7, Severity.HIGH), (4, Severity.MEDIUM)):
            if value >= floor:
                return severity
        return Severity.LOW
    level = result.get("level") or (rule.get("defaultConfiguration") or {}).get("level") or "warning"
    return _LEVEL.get(level, Severity.MEDIUM)


def _location(result: Mapping[str, Any], root: Path) -> Location:
    for loc in result.get("locations") or []:
        physical = loc.get("physicalLocation") or {}
        uri = (physical.get("artifactLocation") or {}).get("uri")
        line = (physical.get("region") or {}).get("startLine")
        if isinstance(uri, str) and uri:
            parts = urlsplit(uri)
            if parts.scheme in ("http", "https"):
                return Location(logical=uri)
            path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(uri)
            if path.is_absolute() and path.is_relative_to(root):
                path = path.relative_to(root)
            return Location(path=path.as_posix(), line=line if isinstance(line, int) else None)
        for logical in loc.get("logicalLocations") or []:
            name = logical.get("fullyQualifiedName") or logical.get("name")
            if name:
                return Location(logical=str(name))
    return Location()


def _suppressed(result: Mapping[str, Any]) -> bool:
    # A suppression without a status is accepted (SARIF 2.1.0 section 3.35.3).
    return any(s.get("status", "accepted") == "accepted" for s in result.get("suppressions") or [])


def _finding(result: Mapping[str, Any], rules: list[Any], tool: str, root: Path, gate: str) -> Finding:
    index = result.get("ruleIndex")
    rule = rules[index] if isinstance(index, int) and 0 <= index < len(rules) else None
    if rule is None:  # without ruleIndex, ruleId names the rule's id (SARIF 2.1.0, 3.27.5)
        rule = next((r for r in rules if isinstance(r, dict) and r.get("id") == result.get("ruleId")), {})
    rule = rule if isinstance(rule, dict) else {}
    rule_id = str(result.get("ruleId") or rule.get("id") or f"{tool}-result")
    message = (result.get("message") or {}).get("text") or (rule.get("shortDescription") or {}).get(
        "text", rule_id
    )
    location = _location(result, root)
    tags = (rule.get("properties") or {}).get("tags") or []
    aliases = sorted({m.group(0).upper() for t in tags if isinstance(t, str) for m in _CWE.finditer(t)})
    partial = result.get("partialFingerprints") or {}
    identity = [f"{k}={partial[k]}" for k in sorted(partial)] or [
        location.path or location.logical or "",
        message,
    ]
    return Finding(
        gate=gate,
        rule=rule_id,
        severity=_severity(result, rule),
        message=str(message)[:_MAX_MESSAGE],
        location=location,
        fingerprint=fingerprint(gate, "sarif", tool, rule_id, *identity),
        aliases=tuple(a for a in aliases if a != rule_id),
        properties={"source": "sarif", "tool": tool, "url": location.logical},
    )


def _failure(invocation: Mapping[str, Any]) -> str:
    """The first error the tool recorded for an unsuccessful run, else a plain statement."""
    for notification in invocation.get("toolExecutionNotifications") or []:
        text = (notification.get("message") or {}).get("text") if isinstance(notification, dict) else None
        if isinstance(text, str) and text.strip():
            return text.strip().splitlines()[0][:_MAX_MESSAGE]
    return "the run did not complete (executionSuccessful: false)"


def _check_list(loaded: LoadedJson, at: tuple[str | int, ...], value: Any, what: str) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise loaded.error(at, f"{what} must be a list of objects")
    return value


def read_sarif(path: Path, root: Path, gate: str) -> SarifImport:
    """The findings of a SARIF file, made for `gate`; InputError (file:line) when it is not SARIF."""
    loaded = read_json(path)
    data = loaded.data
    if not isinstance(data, dict) or "runs" not in data:
        raise loaded.error((), "not a SARIF file (no 'runs')")
    findings: list[Finding] = []
    failures: list[str] = []
    suppressed = 0
    for r, run in enumerate(_check_list(loaded, ("runs",), data["runs"], "runs")):
        driver = (run.get("tool") or {}).get("driver")
        if not isinstance(driver, dict) or not isinstance(driver.get("name"), str):
            raise loaded.error(("runs", r), "a run needs tool.driver.name")
        invocations = _check_list(
            loaded, ("runs", r, "invocations"), run.get("invocations") or [], "invocations"
        )
        failures += [
            f"{driver['name']}: {_failure(i)}" for i in invocations if i.get("executionSuccessful") is False
        ]
        rules = driver.get("rules") or []
        if "results" not in run:
            # SARIF: absent `results` means the tool could not say what it found (an empty list
            # says it found nothing).
            failures.append(f"{driver['name']}: the run has no results (did it finish?)")
        results = _check_list(loaded, ("runs", r, "results"), run.get("results") or [], "results")
        for result in results:
            if _suppressed(result):
                suppressed += 1
            else:
                findings.append(_finding(result, rules, driver["name"], root, gate))
    return SarifImport(tuple(findings), suppressed, tuple(failures))
