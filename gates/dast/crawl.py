"""A bounded, same-origin, read-only crawl of a web application.

Safety is the contract: only GET requests, only URLs of the exact origin (scheme, host, port) the
scan was given (links and redirects elsewhere are counted, never fetched), at most `max_pages`
requests and `max_seconds` of wall time. http.client is used instead of urllib so no proxy from
the environment and no automatic redirect can take a request somewhere else.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from gates import __version__
from gates.errors import GateError

# Sent as Origin on every request: a server that echoes it in Access-Control-Allow-Origin trusts
# any site. `.invalid` can never resolve, so the probe names no real third party.
PROBE_ORIGIN = "https://gates-dast-probe.invalid"
USER_AGENT = f"gates-dast/{__version__} (passive; GET only)"
_MAX_BODY_BYTES = 2 * 1024 * 1024
_MAX_REQUEST_SECONDS = 10.0
# Elements whose URL attributes the crawl follows; a form is followed only when it uses GET.
_LINK_ATTRS = {
    "a": "href",
    "area": "href",
    "link": "href",
    "iframe": "src",
    "frame": "src",
    "script": "src",
    "form": "action",
}


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    """In the order received, with repeated headers (Set-Cookie) kept apart."""
    body: bytes
    """The first bytes of the body (at most 2 MB)."""

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return ", ".join(values) if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def is_https(self) -> bool:
        return self.url.startswith("https:")

    @property
    def is_html(self) -> bool:
        return (self.header("Content-Type") or "").lower().startswith(("text/html", "application/xhtml"))

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Crawl:
    responses: tuple[Response, ...]
    offsite_skipped: int
    fetch_errors: tuple[str, ...]
    stopped_by: str | None
    """`max_pages` or `max_seconds` when a limit ended the crawl, None when it ran out of links."""


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = _LINK_ATTRS.get(tag)
        values = dict(attrs)
        if wanted is None or not values.get(wanted):
            return
        if tag == "form" and (values.get("method") or "get").lower() != "get":
            return
        self.found.append(urljoin(self.base, values[wanted] or ""))


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def links(response: Response) -> Iterator[str]:
    """Absolute URLs the response points at: HTML links and the redirect target."""
    location = response.header("Location")
    if 300 <= response.status < 400 and location:
        yield urljoin(response.url, location)
    if response.is_html:
        parser = _Links(response.url)
        parser.feed(response.text())
        parser.close()
        yield from parser.found


def fetch(url: str, timeout: float, tls_verify: bool = True) -> Response:
    """One GET; OSError (refused, timeout, TLS) and http.client errors propagate to the caller."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", origin(url)[2]
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if not tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    target = quote(target, safe="/?&=%:;@!$'()*+,~-._[]")  # non-ASCII links in HTML happen
    try:
        conn.request(
            "GET",
            target,
            headers={"User-Agent": USER_AGENT, "Origin": PROBE_ORIGIN, "Accept": "*/*"},
        )
        resp = conn.getresponse()
        body = resp.read(_MAX_BODY_BYTES)
        return Response(url=url, status=resp.status, headers=tuple(resp.getheaders()), body=body)
    finally:
        conn.close()


def _reason(error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def crawl(start: str, max_pages: int, max_seconds: float, tls_verify: bool = True) -> Crawl:
    """Breadth-first from `start`; GateError if `start` itself cannot be fetched."""
    scheme = urlsplit(start).scheme
    if scheme not in ("http", "https") or not urlsplit(start).hostname:
        raise GateError(f"dast: not an http(s) URL: {start!r}")
    home = origin(start)
    end = time.monotonic() + max_seconds
    start = urldefrag(start).url
    queue, seen = deque([start]), {start}
    responses: list[Response] = []
    errors: list[str] = []
    offsite = 0
    stopped_by = None
    while queue:
        if len(responses) + len(errors) >= max_pages:
            stopped_by = "max_pages"
            break
        left = end - time.monotonic()
        if left <= 0 and not responses:  # an empty scan must not pass as a clean one
            raise GateError(f"dast: no time left to fetch {start} (max_seconds or timeout_s)")
        if left <= 0:
            stopped_by = "max_seconds"
            break
        url = queue.popleft()
        try:
            response = fetch(url, min(left, _MAX_REQUEST_SECONDS), tls_verify)
        except (OSError, http.client.HTTPException) as e:
            if url == start:
                raise GateError(f"cannot reach {url}: {_reason(e)}") from e
            errors.append(f"{url}: {_reason(e)}")
            continue
        responses.append(response)
        for link in links(response):
            link = urldefrag(link).url
            if urlsplit(link).scheme not in ("http", "https") or link in seen:
                continue
            seen.add(link)
            if origin(link) != home:
                offsite += 1
                continue
            queue.append(link)
    return Crawl(tuple(responses), offsite, tuple(errors), stopped_by)
