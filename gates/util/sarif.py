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
            valid = type(line) is int and line >= 1
            return Location(path=path.as_posix(), line=line if valid else None)
        for logical in loc.get("logicalLocations") or []:
            name = logical.get("fullyQualifiedName") or logical.get("name")
            if name:
                return Location(logical=str(name))
    return Location()


def _suppressed(result: Mapping[str, Any], inline: bool) -> bool:
    """Whether the tool records the result as accepted: a suppression without a status is
    (SARIF 2.1.0, 3.35.3); one written in the code (`kind: inSource`, such as `// eslint-disable` or
    `# nosemgrep`) counts only where the policy honours inline suppressions."""
    return any(
        isinstance(s, Mapping)
        and s.get("status", "accepted") == "accepted"
        and (inline or s.get("kind") != "inSource")
        for s in result.get("suppressions") or []
    )


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
    # A tool's partial fingerprints (CodeQL's line hash) leave out the file: the place is added, so
    # a waiver or baseline entry for one file never covers the same code in another.
    place = location.path or location.logical or ""
    identity = [place, *(f"{k}={partial[k]}" for k in sorted(partial))] if partial else [place, message]
    return Finding(
        gate=gate,
        rule=rule_id,
        severity=_severity(result, rule),
        message=str(message)[:_MAX_MESSAGE],
        location=location,
        fingerprint=fingerprint(gate, "sarif", tool, rule_id, *identity),
        aliases=tuple(a for a in aliases if a != rule_id),
        properties={
            "source": "sarif",
            "tool": tool,
            "url": location.logical,
        },
        help_uri=rule["helpUri"] if isinstance(rule.get("helpUri"), str) else None,
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


def read_sarif(path: Path, root: Path, gate: str, inline_suppressions: bool = True) -> SarifImport:
    """The findings of a SARIF file, made for `gate`; InputError (file:line) when it is not SARIF.
    `inline_suppressions`: whether suppressions written in the code hide a result."""
    loaded = read_json(path)
    data = loaded.data
    if not isinstance(data, dict) or "runs" not in data:
        raise loaded.error((), "not a SARIF file (no 'runs')")
    if data["runs"] == []:
        raise loaded.error(("runs",), "no run: the report does not say that any tool ran")
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
        # Anything but a plain true is no successful run ("false" as a string included).
        failures += [
            f"{driver['name']}: {_failure(i)}"
            for i in invocations
            if "executionSuccessful" in i and i["executionSuccessful"] is not True
        ]
        rules = driver.get("rules") or []
        if not isinstance(run.get("results"), list):
            # SARIF: absent `results` means the tool could not say what it found (an empty list
            # says it found nothing).
            failures.append(f"{driver['name']}: the run has no results (did it finish?)")
        results = _check_list(loaded, ("runs", r, "results"), run.get("results") or [], "results")
        for i, result in enumerate(results):
            for key in ("message", "properties"):
                if key in result and not isinstance(result[key], dict):
                    raise loaded.error(("runs", r, "results", i, key), f"{key} must be an object")
            if not isinstance(result.get("locations", []), list):
                raise loaded.error(("runs", r, "results", i, "locations"), "locations must be a list")
            if _suppressed(result, inline_suppressions):
                suppressed += 1
            else:
                findings.append(_finding(result, rules, driver["name"], root, gate))
    return SarifImport(tuple(findings), suppressed, tuple(failures))
