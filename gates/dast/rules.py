"""Passive checks on one HTTP response, one function per rule family.

Default severities follow OWASP ZAP's risk for the equivalent passive rule, so a live scan and an
imported ZAP report of the same site agree. Evidence never carries a cookie value or page text
beyond the matched signature.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from gates.dast.crawl import PROBE_ORIGIN, Response
from gates.model import Severity
from gates.util.mask import mask_value


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str


def _rules(*rules: Rule) -> Mapping[str, Rule]:
    return {r.id: r for r in rules}


RULES = _rules(
    Rule("DAST-HDR-CSP", Severity.MEDIUM, "Content-Security-Policy header missing"),
    Rule("DAST-HDR-CSP-WEAK", Severity.MEDIUM, "Content-Security-Policy allows script injection"),
    Rule("DAST-HDR-HSTS", Severity.LOW, "Strict-Transport-Security missing or too short"),
    Rule("DAST-HDR-XCTO", Severity.LOW, "X-Content-Type-Options: nosniff missing"),
    Rule("DAST-HDR-FRAME", Severity.MEDIUM, "no frame protection (clickjacking)"),
    Rule("DAST-HDR-REFERRER", Severity.LOW, "Referrer-Policy missing or leaks full URLs"),
    Rule("DAST-COOKIE-SECURE", Severity.LOW, "cookie without Secure"),
    Rule("DAST-COOKIE-HTTPONLY", Severity.LOW, "cookie without HttpOnly"),
    Rule("DAST-COOKIE-SAMESITE", Severity.LOW, "cookie without SameSite"),
    Rule("DAST-DISCLOSURE-VERSION", Severity.LOW, "server or framework version disclosed"),
    Rule("DAST-CORS-WILDCARD", Severity.MEDIUM, "CORS allows any origin"),
    Rule("DAST-CORS-REFLECTED", Severity.HIGH, "CORS trusts an arbitrary origin"),
    Rule("DAST-DIR-LISTING", Severity.MEDIUM, "directory listing"),
    Rule("DAST-ERROR-STACKTRACE", Severity.MEDIUM, "error page with a stack trace"),
)

_EVIDENCE_CHARS = 200
_HSTS_MIN_AGE = 15_552_000  # 180 days, the floor most guidance (and ZAP) accepts
_UNSAFE_REFERRER = ("unsafe-url", "no-referrer-when-downgrade")
_VERSION = re.compile(r"\d+\.\d+|/\s*\d")
_VERSION_HEADERS = ("X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version", "X-Generator")
_LISTING = re.compile(
    r"<title>\s*(Index of /|Directory listing for /)|\[To Parent Directory\]"
    r"|<h1>\s*Directory Listing For ",
    re.IGNORECASE,
)
_STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)"  # Python
    r"|File \"[^\"\n]{1,200}\", line \d+, in \w+"  # Python frame
    r"|\bat [\w$.]{1,200}\((?:[\w$]+\.java|Native Method|Unknown Source):?\d*\)"  # Java
    r"|Exception in thread \"[^\"\n]{1,100}\""  # Java
    r"|\bat [\w$.<>]{1,200} \((?:/|file:|node:)[^)\n]{1,200}:\d+:\d+\)"  # Node.js
    r"|<b>(?:Fatal error|Parse error|Warning)</b>:.{1,200} on line <b>\d+</b>"  # PHP
    r"|Server Error in '[^'\n]{1,100}' Application"  # ASP.NET
    r"|You're seeing this error because you have <code>DEBUG = True</code>"  # Django
    r"|Werkzeug Debugger"  # Flask
    r"|\w+Error at /[^\n]{0,100}\n|\bActionController::\w+",  # Django, Rails
)


@dataclass(frozen=True)
class Issue:
    rule: str
    message: str
    detail: str
    """Tells apart several issues of one rule on one URL (a cookie or header name)."""
    evidence: str


def _evidence(text: str) -> str:
    return text if len(text) <= _EVIDENCE_CHARS else text[: _EVIDENCE_CHARS - 3] + "..."


def _directives(csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        tokens = part.split()
        if tokens:
            parsed.setdefault(tokens[0].lower(), [t.lower() for t in tokens[1:]])
    return parsed


def _weak_script_sources(csp: str) -> list[str]:
    directives = _directives(csp)
    sources = directives.get("script-src", directives.get("default-src"))
    if sources is None:
        return ["no script-src or default-src"]
    problems = []
    # CSP level 2+: a nonce or hash makes browsers ignore 'unsafe-inline'.
    nonced = any(s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for s in sources)
    if "'unsafe-inline'" in sources and not nonced:
        problems.append("'unsafe-inline'")
    if "'unsafe-eval'" in sources:
        problems.append("'unsafe-eval'")
    problems += [s for s in sources if s in ("*", "http:", "https:", "data:")]
    return problems


def headers(response: Response) -> Iterator[Issue]:
    """Security headers: CSP (and its strength), HSTS on https, nosniff, frame protection,
    Referrer-Policy. Document headers are checked on HTML pages that are not redirects."""
    csp = response.header("Content-Security-Policy")
    document = response.is_html and not 300 <= response.status < 400
    if document and csp is None:
        yield Issue("DAST-HDR-CSP", "no Content-Security-Policy header", "", "")
    elif document and csp is not None:
        weak = _weak_script_sources(csp)
        if weak:
            yield Issue(
                "DAST-HDR-CSP-WEAK",
                f"Content-Security-Policy allows scripts from {', '.join(weak)}",
                "",
                _evidence(f"Content-Security-Policy: {csp}"),
            )
    if response.is_https:
        hsts = response.header("Strict-Transport-Security")
        age = re.search(r"max-age\s*=\s*\"?(\d+)", hsts or "", re.IGNORECASE)
        if hsts is None or age is None or int(age.group(1)) < _HSTS_MIN_AGE:
            shown = (
                "no Strict-Transport-Security header"
                if hsts is None
                else (f"Strict-Transport-Security max-age below {_HSTS_MIN_AGE} s (180 days)")
            )
            evidence = _evidence(f"Strict-Transport-Security: {hsts}") if hsts else ""
            yield Issue("DAST-HDR-HSTS", shown, "", evidence)
    nosniff = (response.header("X-Content-Type-Options") or "").strip().lower()
    if response.body and nosniff != "nosniff":
        yield Issue("DAST-HDR-XCTO", "no X-Content-Type-Options: nosniff", "", "")
    if document:
        xfo = (response.header("X-Frame-Options") or "").strip().lower()
        if xfo not in ("deny", "sameorigin") and "frame-ancestors" not in _directives(csp or ""):
            yield Issue(
                "DAST-HDR-FRAME",
                "neither X-Frame-Options (DENY/SAMEORIGIN) nor CSP frame-ancestors",
                "",
                "",
            )
        referrer = response.header("Referrer-Policy")
        effective = (referrer or "").split(",")[-1].strip().lower()  # the last known token wins
        if referrer is None or effective in _UNSAFE_REFERRER:
            yield Issue(
                "DAST-HDR-REFERRER",
                "no Referrer-Policy header" if referrer is None else f"Referrer-Policy {effective}",
                "",
                _evidence(f"Referrer-Policy: {referrer}") if referrer else "",
            )


def _masked_cookie(header: str) -> tuple[str, str, set[str]]:
    """(name, the header with the value masked, lower-cased attribute names and name=value)."""
    first, _, rest = header.partition(";")
    name, _, value = first.partition("=")
    name = name.strip()
    attributes = {a.strip().lower().replace(" ", "") for a in rest.split(";") if a.strip()}
    masked = f"{name}={mask_value(value)}" + (f";{rest}" if rest else "")
    return name, _evidence(f"Set-Cookie: {masked}"), attributes


def cookies(response: Response) -> Iterator[Issue]:
    """Cookie attributes. Secure is required on https (on plain http a browser would refuse a
    Secure cookie), and on any scheme for SameSite=None, which browsers reject without it."""
    for header in response.all("Set-Cookie"):
        name, evidence, attributes = _masked_cookie(header)
        keys = {a.split("=", 1)[0] for a in attributes}
        same_site_none = "samesite=none" in attributes
        if "secure" not in keys and (response.is_https or same_site_none):
            why = "SameSite=None without Secure" if same_site_none else "without Secure"
            yield Issue("DAST-COOKIE-SECURE", f"cookie `{name}` set {why}", name, evidence)
        if "httponly" not in keys:
            yield Issue("DAST-COOKIE-HTTPONLY", f"cookie `{name}` set without HttpOnly", name, evidence)
        if "samesite" not in keys:
            yield Issue("DAST-COOKIE-SAMESITE", f"cookie `{name}` set without SameSite", name, evidence)


def disclosure(response: Response) -> Iterator[Issue]:
    """Server and framework versions in headers help an attacker pick exploits."""
    server = response.header("Server")
    if server is not None and _VERSION.search(server):
        yield Issue(
            "DAST-DISCLOSURE-VERSION",
            f"Server header discloses a version: {_evidence(server)}",
            "Server",
            _evidence(f"Server: {server}"),
        )
    for name in _VERSION_HEADERS:
        value = response.header(name)
        if value is not None:
            yield Issue(
                "DAST-DISCLOSURE-VERSION",
                f"{name} header discloses the framework: {_evidence(value)}",
                name,
                _evidence(f"{name}: {value}"),
            )


def cors(response: Response) -> Iterator[Issue]:
    """Access-Control-Allow-Origin answered to the crawler's made-up Origin."""
    allowed = (response.header("Access-Control-Allow-Origin") or "").strip()
    credentials = (response.header("Access-Control-Allow-Credentials") or "").strip().lower()
    evidence = _evidence(
        f"Access-Control-Allow-Origin: {allowed}"
        + (f"; Access-Control-Allow-Credentials: {credentials}" if credentials else "")
    )
    if allowed == "*":
        yield Issue("DAST-CORS-WILDCARD", "Access-Control-Allow-Origin: * (any site may read)", "", evidence)
    elif allowed.lower() in (PROBE_ORIGIN, "null"):
        with_credentials = " with credentials" if credentials == "true" else ""
        yield Issue(
            "DAST-CORS-REFLECTED",
            f"an arbitrary Origin ({allowed}) is allowed{with_credentials}",
            "",
            evidence,
        )


def content(response: Response) -> Iterator[Issue]:
    """Directory listings and stack traces in the body; only the matched signature is kept."""
    kind = (response.header("Content-Type") or "text/").lower()
    if not response.body or not (kind.startswith("text/") or "json" in kind or "xml" in kind):
        return
    text = response.text()
    listing = _LISTING.search(text)
    if listing is not None:
        yield Issue("DAST-DIR-LISTING", "directory listing is enabled", "", _evidence(listing.group(0)))
    trace = _STACK_TRACE.search(text)
    if trace is not None:
        yield Issue(
            "DAST-ERROR-STACKTRACE",
            f"HTTP {response.status} response shows a stack trace",
            "",
            _evidence(trace.group(0).strip()),
        )


FAMILIES: tuple[Callable[[Response], Iterator[Issue]], ...] = (headers, cookies, disclosure, cors, content)


def check(response: Response) -> list[Issue]:
    return [issue for family in FAMILIES for issue in family(response)]
