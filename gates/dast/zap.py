"""Import of an OWASP ZAP JSON report (`zap-baseline.py -J report.json`, the "traditional-json"
report), one finding per alert instance.

ZAP alerts that match a built-in passive rule get that rule's id (with `ZAP-<pluginid>` as an alias),
so one policy (`disabled_rules`, `severity`, waivers) governs a live scan and an imported report
alike; other alerts keep `ZAP-<pluginid>`. ZAP's risk is the severity; alerts ZAP's user marked as
false positives (confidence 0) are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gates.model import Finding, Location, Severity, fingerprint
from gates.util.jsonfile import LoadedJson, read_json
from gates.util.mask import mask_value, redact_url

ZAP_TO_RULE = {
    "0": "DAST-DIR-LISTING",
    "10010": "DAST-COOKIE-HTTPONLY",
    "10011": "DAST-COOKIE-SECURE",
    "10020": "DAST-HDR-FRAME",
    "10021": "DAST-HDR-XCTO",
    "10035": "DAST-HDR-HSTS",
    "10036": "DAST-DISCLOSURE-VERSION",
    "10037": "DAST-DISCLOSURE-VERSION",
    "10038": "DAST-HDR-CSP",
    "10054": "DAST-COOKIE-SAMESITE",
    "10055": "DAST-HDR-CSP-WEAK",
    "10098": "DAST-CORS-WILDCARD",
    "90022": "DAST-ERROR-STACKTRACE",
}
_RISK = {"0": Severity.INFO, "1": Severity.LOW, "2": Severity.MEDIUM, "3": Severity.HIGH}
_CONFIDENCE = {"0": "false positive", "1": "low", "2": "medium", "3": "high", "4": "confirmed"}
# Evidence of these alerts is a header line, safe to show; any other alert's evidence may be a
# token or a password ZAP spotted in a page, so it is masked.
_HEADER_EVIDENCE = {"10020", "10021", "10035", "10036", "10037", "10038", "10055", "10098"}


def _text(loaded: LoadedJson, at: tuple[str | int, ...], value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # some ZAP versions write codes as numbers
    if not isinstance(value, str):
        raise loaded.error(at, f"{what} must be a string, got {value!r}")
    return value


def _instance_finding(
    alert: dict[str, Any], instance: dict[str, Any], plugin: str, severity: Severity
) -> Finding:
    rule = ZAP_TO_RULE.get(plugin, f"ZAP-{plugin}")
    method = str(instance.get("method", "GET"))
    param = str(instance.get("param", ""))
    uri = redact_url(str(instance.get("uri", "")), (param,) if plugin not in _HEADER_EVIDENCE else ())
    evidence = str(instance.get("evidence", ""))[:200]
    if evidence and plugin not in _HEADER_EVIDENCE:
        evidence = mask_value(evidence)
    name = str(alert.get("alert") or alert.get("name") or rule)
    cwe = str(alert.get("cweid", ""))
    aliases = [f"ZAP-{plugin}"] if rule != f"ZAP-{plugin}" else []
    if cwe not in ("", "0", "-1"):
        aliases.append(f"CWE-{cwe}")
    return Finding(
        gate="dast",
        rule=rule,
        severity=severity,
        message=f"{name} ({method} {uri}" + (f", parameter `{param}`)" if param else ")"),
        location=Location(logical=uri),
        fingerprint=fingerprint("dast", rule, plugin, uri, method, param),
        aliases=tuple(aliases),
        properties={
            "url": uri,
            "method": method,
            "param": param,
            "evidence": evidence,
            "source": "zap",
            "zap_plugin_id": plugin,
            "confidence": _CONFIDENCE.get(str(alert.get("confidence", "")), "unknown"),
        },
    )


def read_zap(path: Path) -> list[Finding]:
    """Findings of a ZAP JSON report; InputError (file:line) when it is not one."""
    loaded = read_json(path)
    sites = loaded.data.get("site") if isinstance(loaded.data, dict) else None
    if not isinstance(sites, list):
        raise loaded.error((), "not an OWASP ZAP JSON report (no 'site' list)")
    findings = []
    for s, site in enumerate(sites):
        alerts = site.get("alerts", []) if isinstance(site, dict) else None
        if not isinstance(alerts, list):
            raise loaded.error(("site", s), "a site must be a mapping with an 'alerts' list")
        for a, alert in enumerate(alerts):
            at: tuple[str | int, ...] = ("site", s, "alerts", a)
            if not isinstance(alert, dict):
                raise loaded.error(at, "an alert must be a mapping")
            plugin = _text(loaded, (*at, "pluginid"), alert.get("pluginid"), "pluginid")
            risk = _text(loaded, (*at, "riskcode"), alert.get("riskcode"), "riskcode")
            if risk not in _RISK:
                raise loaded.error((*at, "riskcode"), f"riskcode must be 0-3, got {risk!r}")
            if str(alert.get("confidence", "")) == "0":
                continue
            instances = alert.get("instances", [])
            if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
                raise loaded.error((*at, "instances"), "instances must be a list of mappings")
            # An alert without instances (older reports) still counts, at the site's URL.
            for instance in instances or [{"uri": site.get("@name", "")}]:
                findings.append(_instance_finding(alert, instance, plugin, _RISK[risk]))
    return findings
