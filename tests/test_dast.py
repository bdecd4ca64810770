"""The DAST gate against small HTTP applications on 127.0.0.1, and its report imports."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gates.errors import InputError
from gates.model import Finding
from gates.plugins.dast import DastGate
from gates.plugins.interface import CollectContext, GateError
from gates.util.mask import mask_value
from tests.conftest import CliResult, Repo

GATE = DastGate()

Route = tuple[int, list[tuple[str, str]], str]
SECURE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
]
COOKIE_VALUE = "s3cr3t-session-value-42"


@dataclass
class App:
    """A recording HTTP server: path -> (status, headers, body)."""

    routes: Mapping[str, Route]
    server_header: str = "BaseHTTP/0.6 Python/3.11.4"
    delay: float = 0.0
    requests: list[tuple[str, str]] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def version_string(self) -> str:
                return app.server_header

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                app.requests.append((self.command, self.path))
                time.sleep(app.delay)
                status, headers, body = app.routes.get(
                    self.path, (404, [("Content-Type", "text/plain")], "no")
                )
                data = body.encode()
                self.send_response(status)
                for name, value in headers:
                    if name == "Access-Control-Allow-Origin" and value == "$origin":
                        value = self.headers.get("Origin", "")
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _any

        return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(app: App, context: ssl.SSLContext | None = None) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), app.handler())
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        scheme = "https" if context else "http"
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def scan(root: Path, settings: Mapping[str, Any], **options: str) -> list[Finding]:
    ctx = CollectContext(
        root=root, settings=settings, out_dir=root / "out", deadline=time.monotonic() + 60, options=options
    )
    return list(GATE.collect(ctx).findings)


def hardened_app() -> App:
    page = '<a href="/about">about</a> <a href="/about#team">team</a>'
    return App(
        routes={
            "/": (
                200,
                [*SECURE_HEADERS, ("Set-Cookie", f"sid={COOKIE_VALUE}; Secure; HttpOnly; SameSite=Strict")],
                page,
            ),
            "/about": (200, SECURE_HEADERS, "<p>about</p>"),
        },
        server_header="app",
    )


def classic_mistakes_app(elsewhere: str) -> App:
    html = [("Content-Type", "text/html")]
    index = f"""<html><body>
        <a href="/files/">files</a> <a href="/error">error</a> <a href="/api">api</a>
        <a href="/pub">public api</a> <a href="/weak">weak</a> <a href="/go">go</a>
        <a href="{elsewhere}/steal">other port</a> <a href="https://example.com/x">other site</a>
        <a href="mailto:a@example.com">mail</a>
        <form method="post" action="/delete"><input name="id"></form>
        <form action="/search"><input name="q"></form>
        </body></html>"""
    trace = 'Traceback (most recent call last):\n  File "/srv/app.py", line 12, in view\nKeyError: "user"'
    return App(
        routes={
            "/": (
                200,
                [*html, ("Set-Cookie", f"session={COOKIE_VALUE}; Path=/"), ("X-Powered-By", "PHP/7.4.3")],
                index,
            ),
            "/files/": (
                200,
                html,
                "<html><title>Directory listing for /files/</title><a href='a.txt'>a.txt</a></html>",
            ),
            "/files/a.txt": (200, [("Content-Type", "text/plain")], "a"),
            "/error": (500, html, f"<pre>{trace}</pre>"),
            "/api": (
                200,
                [
                    ("Content-Type", "application/json"),
                    ("Access-Control-Allow-Origin", "$origin"),
                    ("Access-Control-Allow-Credentials", "true"),
                ],
                "{}",
            ),
            "/pub": (200, [("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")], "{}"),
            "/weak": (
                200,
                [
                    *SECURE_HEADERS[:1],
                    ("Content-Security-Policy", "script-src 'self' 'unsafe-inline'"),
                    ("X-Content-Type-Options", "nosniff"),
                    ("X-Frame-Options", "SAMEORIGIN"),
                    ("Referrer-Policy", "unsafe-url"),
                ],
                "<p>weak</p>",
            ),
            "/go": (302, [("Location", f"{elsewhere}/redirected")], ""),
            "/search": (200, html, "<p>results</p>"),
        },
    )


def by_url(findings: list[Finding], base: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault((f.location.logical or "").removeprefix(base), set()).add(f.rule)
    return out


def test_hardened_app_passes(serve: Any, tmp_path: Path) -> None:
    app = hardened_app()
    base = serve(app)
    assert scan(tmp_path, {"url": base + "/"}) == []
    assert sorted(app.requests) == [("GET", "/"), ("GET", "/about")]  # the #fragment is the same page


def test_classic_mistakes_fire_their_rules_and_the_crawl_stays_safe(serve: Any, tmp_path: Path) -> None:
    other = App(routes={})
    elsewhere = serve(other)
    app = classic_mistakes_app(elsewhere)
    base = serve(app)
    findings = scan(tmp_path, {"url": base + "/"})
    rules = by_url(findings, base)
    document = {
        "DAST-HDR-CSP",
        "DAST-HDR-FRAME",
        "DAST-HDR-REFERRER",
        "DAST-HDR-XCTO",
        "DAST-DISCLOSURE-VERSION",
    }
    assert rules["/"] == document | {"DAST-COOKIE-HTTPONLY", "DAST-COOKIE-SAMESITE"}
    assert rules["/files/"] == document | {"DAST-DIR-LISTING"}
    assert rules["/error"] == document | {"DAST-ERROR-STACKTRACE"}
    assert rules["/api"] == {"DAST-HDR-XCTO", "DAST-DISCLOSURE-VERSION", "DAST-CORS-REFLECTED"}
    assert rules["/pub"] == {"DAST-HDR-XCTO", "DAST-DISCLOSURE-VERSION", "DAST-CORS-WILDCARD"}
    assert rules["/weak"] == {"DAST-HDR-CSP-WEAK", "DAST-HDR-REFERRER", "DAST-DISCLOSURE-VERSION"}
    assert "DAST-COOKIE-SECURE" not in {r for rs in rules.values() for r in rs}  # plain http
    severities = {f.rule: f.severity.value for f in findings}
    assert severities["DAST-CORS-REFLECTED"] == "high" and severities["DAST-HDR-CSP"] == "medium"
    # Safety: GET only, the given origin only, no POST form, nothing sent to the other port.
    assert {method for method, _ in app.requests} == {"GET"}
    assert "/delete" not in {path for _, path in app.requests}
    assert ("GET", "/search") in app.requests and ("GET", "/files/a.txt") in app.requests
    assert other.requests == []
    # Findings name the URL, never the cookie value.
    cookie = next(f for f in findings if f.rule == "DAST-COOKIE-HTTPONLY")
    assert cookie.location.logical == base + "/" and cookie.location.path is None
    assert "`session`" in cookie.message
    assert cookie.properties["evidence"].startswith("Set-Cookie: session=s***")
    assert COOKIE_VALUE not in json.dumps([f.to_json() for f in findings])
    server = next(f for f in findings if f.rule == "DAST-DISCLOSURE-VERSION" and "Server" in f.message)
    assert "Python/3.11.4" in server.properties["evidence"]


def test_page_and_time_limits(serve: Any, tmp_path: Path) -> None:
    app = classic_mistakes_app("http://127.0.0.1:9")
    base = serve(app)
    ctx = CollectContext(tmp_path, {"url": base, "max_pages": 3}, tmp_path, time.monotonic() + 30)
    stats = GATE.collect(ctx).stats
    assert len(app.requests) == 3 and stats["pages"] == 3 and stats["stopped_by"] == "max_pages"
    slow = classic_mistakes_app("http://127.0.0.1:9")
    slow.delay = 0.3
    base = serve(slow)
    ctx = CollectContext(tmp_path, {"url": base, "max_seconds": 0.5}, tmp_path, time.monotonic() + 30)
    started = time.monotonic()
    stats = GATE.collect(ctx).stats
    assert stats["stopped_by"] == "max_seconds" and len(slow.requests) <= 3
    assert time.monotonic() - started < 2


def test_unreachable_target_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GateError, match=rf"cannot reach http://127\.0\.0\.1:{port}/: connection refused"):
        scan(tmp_path, {}, url=f"http://127.0.0.1:{port}/")
    with pytest.raises(GateError, match="no target"):
        scan(tmp_path, {})
    ctx = CollectContext(tmp_path, {"url": "http://127.0.0.1:9/"}, tmp_path, time.monotonic() + 0.5)
    with pytest.raises(GateError, match="no time left"):  # no scan at all is not a clean scan
        GATE.collect(ctx)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_https_checks_hsts_and_secure_cookies(
    serve: Any, tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    headers = [*SECURE_HEADERS, ("Set-Cookie", f"sid={COOKIE_VALUE}; HttpOnly; SameSite=Lax")]
    app = App(routes={"/": (200, headers, "<p>hi</p>")}, server_header="app")
    base = serve(app, context)
    with pytest.raises(GateError, match="TLS error"):  # self-signed: refused unless told otherwise
        scan(tmp_path, {"url": base})
    findings = scan(tmp_path, {"url": base, "tls_verify": False})
    assert sorted(f.rule for f in findings) == ["DAST-COOKIE-SECURE", "DAST-HDR-HSTS"]
    hsts = [("Strict-Transport-Security", "max-age=31536000; includeSubDomains")]
    app.routes = {
        "/": (
            200,
            [*headers[:-1], ("Set-Cookie", f"sid={COOKIE_VALUE}; Secure; HttpOnly; SameSite=Lax"), *hsts],
            "",
        )
    }
    assert scan(tmp_path, {"url": base, "tls_verify": False}) == []


def test_evaluate_applies_rule_selection_and_severity(serve: Any, tmp_path: Path) -> None:
    base = serve(classic_mistakes_app("http://127.0.0.1:9"))
    findings = scan(tmp_path, {"url": base})
    everything = GATE.evaluate(findings, {})
    assert len(everything) == len(findings)
    only_cookies = GATE.evaluate(findings, {"rules": ["DAST-COOKIE-*"]})
    assert {f.rule for f in only_cookies} == {"DAST-COOKIE-HTTPONLY", "DAST-COOKIE-SAMESITE"}
    without = GATE.evaluate(findings, {"disabled_rules": ["DAST-HDR-*", "DAST-DISCLOSURE-VERSION"]})
    assert not any(f.rule.startswith("DAST-HDR-") for f in without)
    raised = GATE.evaluate(findings, {"severity": {"DAST-DIR-LISTING": "critical"}})
    assert {f.severity.value for f in raised if f.rule == "DAST-DIR-LISTING"} == {"critical"}


ZAP_REPORT = {
    "@version": "2.14.0",
    "@generated": "Thu, 18 Apr 2024 11:25:28",
    "site": [
        {
            "@name": "https://staging.example.com",
            "@host": "staging.example.com",
            "@port": "443",
            "@ssl": "true",
            "alerts": [
                {
                    "pluginid": "10038",
                    "alertRef": "10038-1",
                    "alert": "Content Security Policy (CSP) Header Not Set",
                    "name": "Content Security Policy (CSP) Header Not Set",
                    "riskcode": "2",
                    "confidence": "3",
                    "riskdesc": "Medium (High)",
                    "cweid": "693",
                    "wascid": "15",
                    "count": "2",
                    "instances": [
                        {"uri": "https://staging.example.com/", "method": "GET", "param": "", "evidence": ""},
                        {
                            "uri": "https://staging.example.com/login",
                            "method": "GET",
                            "param": "",
                            "evidence": "",
                        },
                    ],
                },
                {
                    "pluginid": "10024",
                    "alertRef": "10024",
                    "alert": "Information Disclosure - Sensitive Information in URL",
                    "riskcode": "1",
                    "confidence": "2",
                    "cweid": "200",
                    "instances": [
                        {
                            "uri": "https://staging.example.com/?token=abcdef123456",
                            "method": "GET",
                            "param": "token",
                            "evidence": "abcdef123456",  # pragma: allowlist secret
                        }
                    ],
                },
                {
                    "pluginid": "10202",
                    "alert": "Absence of Anti-CSRF Tokens",
                    "riskcode": "1",
                    "confidence": "0",
                    "instances": [{"uri": "https://staging.example.com/login", "method": "GET"}],
                },
            ],
        }
    ],
}


def test_zap_import(tmp_path: Path) -> None:
    (tmp_path / "zap.json").write_text(json.dumps(ZAP_REPORT, indent=2))
    ctx = CollectContext(tmp_path, {"import": {"zap": "zap.json"}}, tmp_path, time.monotonic() + 10)
    assert GATE.cache_key(ctx) is not None
    findings = list(GATE.collect(ctx).findings)
    summary = sorted((f.rule, f.severity.value, f.location.logical) for f in findings)
    assert summary == [
        ("DAST-HDR-CSP", "medium", "https://staging.example.com/"),
        ("DAST-HDR-CSP", "medium", "https://staging.example.com/login"),
        (
            "ZAP-10024",
            "low",
            f"https://staging.example.com/?token={mask_value('abcdef123456')}",  # pragma: allowlist secret
        ),
    ]  # the false positive (confidence 0) is dropped
    csp = findings[0]
    assert csp.aliases == ("ZAP-10038", "CWE-693")
    leak = next(f for f in findings if f.rule == "ZAP-10024")
    assert leak.properties["evidence"] == mask_value("abcdef123456")
    # The token in the URL is masked too.
    assert "abcdef123456" not in json.dumps(leak.to_json())  # pragma: allowlist secret
    # One policy for both: disabling the built-in rule also drops ZAP's equivalent.
    assert [f.rule for f in GATE.evaluate(findings, {"disabled_rules": ["DAST-HDR-CSP"]})] == ["ZAP-10024"]
    assert GATE.evaluate(findings, {"disabled_rules": ["ZAP-*"]}) == []


SARIF = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "Semgrep OSS",
                    "rules": [
                        {
                            "id": "python.lang.security.audit.subprocess-shell-true",
                            "shortDescription": {"text": "subprocess with shell=True"},
                            "defaultConfiguration": {"level": "warning"},
                            "properties": {
                                "security-severity": "7.5",
                                "tags": ["CWE-78: OS Command Injection", "security"],
                            },
                        },
                        {
                            "id": "python.lang.best-practice.open-never-closed",
                            "defaultConfiguration": {"level": "note"},
                            "properties": {"tags": []},
                        },
                    ],
                }
            },
            "results": [
                {
                    "ruleId": "python.lang.security.audit.subprocess-shell-true",
                    "ruleIndex": 0,
                    "level": "error",
                    "message": {"text": "Found 'subprocess' function 'call' with 'shell=True'."},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app/run.py", "uriBaseId": "%SRCROOT%"},
                                "region": {"startLine": 2},
                            }
                        }
                    ],
                    "partialFingerprints": {"primaryLocationLineHash": "9c1f3a"},
                },
                {
                    "ruleId": "python.lang.best-practice.open-never-closed",
                    "ruleIndex": 1,
                    "message": {"text": "file object opened without a corresponding close"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app/io.py"},
                                "region": {"startLine": 7},
                            }
                        }
                    ],
                },
                {
                    "ruleId": "python.lang.best-practice.open-never-closed",
                    "ruleIndex": 1,
                    "message": {"text": "suppressed in Semgrep"},
                    "suppressions": [{"kind": "inSource"}],
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app/io.py"},
                                "region": {"startLine": 9},
                            }
                        }
                    ],
                },
            ],
        }
    ],
}


def test_sarif_import(tmp_path: Path) -> None:
    (tmp_path / "semgrep.sarif").write_text(json.dumps(SARIF))
    ctx = CollectContext(tmp_path, {}, tmp_path, time.monotonic() + 10, options={"sarif": "semgrep.sarif"})
    collected = GATE.collect(ctx)
    assert collected.stats["sarif_suppressed"] == 1
    shell, note = sorted(collected.findings, key=lambda f: f.location.path or "", reverse=True)
    assert (shell.severity.value, shell.location.path, shell.location.line) == ("high", "app/run.py", 2)
    assert shell.aliases == ("CWE-78",)
    assert (note.severity.value, note.location.path) == ("low", "app/io.py")
    assert (
        GATE.evaluate(collected.findings, {"severity": {"CWE-78": "critical"}})[0].severity.value
        == "critical"
    )


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        (
            "zap",
            '{"site": [\n  {"alerts": [\n    {"pluginid": "1", "riskcode": "7"}]}]}',
            r"zap\.json:3: riskcode must be 0-3",
        ),
        ("zap", '{"site": "x"}', r"zap\.json:1: not an OWASP ZAP JSON report"),
        ("zap", '{"site": [', r"zap\.json:1: invalid JSON"),
        ("sarif", '{"runs": [\n  {"tool": {}}\n]}', r"rep\.sarif:2: a run needs tool\.driver\.name"),
        ("sarif", "[]", r"rep\.sarif:1: not a SARIF file"),
    ],
)
def test_corrupt_reports_are_input_errors(tmp_path: Path, kind: str, content: str, expected: str) -> None:
    name = "zap.json" if kind == "zap" else "rep.sarif"
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError, match=expected):
        scan(tmp_path, {"import": {kind: name}})
    with pytest.raises(InputError, match="cannot read"):
        scan(tmp_path, {"import": {kind: "missing.json"}})


def test_gates_run_end_to_end(
    serve: Any, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"gates.yaml": "version: 1\ngates:\n  dast: {fail_on: medium}\n"})
    out = repo.root / "out"
    base = serve(classic_mistakes_app("http://127.0.0.1:9"))
    result = run_cli("run", repo.root, "--only", "dast", "--out", out, "--input", f"dast.url={base}/")
    assert result.code == 1, result.err
    (gate,) = json.loads((out / "verdict.json").read_text())["gates"]
    assert gate["status"] == "fail"
    assert COOKIE_VALUE not in (out / "report.md").read_text() + (out / "gates.sarif").read_text()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = run_cli(
        "run", repo.root, "--only", "dast", "--out", out, "--input", f"dast.url=http://127.0.0.1:{port}"
    )
    assert down.code == 3  # an unreachable target is an error, never a pass
    (gate,) = json.loads((out / "verdict.json").read_text())["gates"]
    assert gate["status"] == "error" and "connection refused" in json.dumps(gate)
