"""pip-audit run in this process on exact pins, its service queries sent side by side.

What `pip-audit -r PINS --no-deps --disable-pip -s SERVICE -f json --desc on --aliases on` does, with
pip-audit's own service, auditor (which merges results that are aliases of each other) and JSON
format, without the half second its command line takes to start, and with the queries of one run
in parallel rather than one after the other. The OSV records the service answers with are kept, so
that the gate needs not ask for each advisory again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import requests
from packaging.version import Version
from pip_audit._audit import Auditor  # type: ignore[import-untyped]
from pip_audit._dependency_source.interface import DependencySource  # type: ignore[import-untyped]
from pip_audit._fix import ResolvedFixVersion  # type: ignore[import-untyped]
from pip_audit._format.json import JsonFormat  # type: ignore[import-untyped]
from pip_audit._service import (  # type: ignore[import-untyped]  # pip-audit ships no types
    Dependency,
    OsvService,
    PyPIService,
    ResolvedDependency,
    ServiceError,
    VulnerabilityResult,
    VulnerabilityService,
)

from gates.osv.client import Exchange

QUERY_WORKERS = 8


class AuditError(Exception):
    """The service could not be asked or gave no usable answer; the message says why."""


@dataclass(frozen=True)
class Audit:
    dependencies: list[dict[str, Any]]
    """pip-audit's JSON report's `dependencies`: name, version, vulns (or skip_reason)."""
    records: Mapping[str, dict[str, Any]]
    """Advisory id -> the OSV record the service answered with (OSV only)."""


class _RecordingSession:
    """The service's HTTP session, keeping the OSV records of every answer."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._lock = threading.Lock()
        self.records: dict[str, dict[str, Any]] = {}

    def post(self, *args: Any, **kwargs: Any) -> Any:
        response = self._session.post(*args, **kwargs)
        try:
            vulns = response.json().get("vulns", []) if response.ok else []
        except (ValueError, AttributeError):
            vulns = []  # pip-audit reads the same answer and says what is wrong with it
        with self._lock:
            for vuln in vulns:
                if isinstance(vuln, dict) and isinstance(vuln.get("id"), str):
                    self.records[vuln["id"]] = vuln
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class _Answered(requests.adapters.BaseAdapter):
    """A requests transport that hands each request to an `Exchange` in this process: pip-audit's
    service still sends real OSV queries and parses real OSV answers, without a socket."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__()
        self._exchange = exchange

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        if not isinstance(body, (bytes, type(None))):
            raise TypeError("a streamed request body")  # pip-audit sends its queries whole
        status, answer = self._exchange(str(request.method), str(request.url), body)
        response = requests.Response()
        response.status_code = status
        response.reason = HTTPStatus(status).phrase
        response.headers["Content-Type"] = "application/json"
        response.encoding = "utf-8"
        response._content = answer
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""


class _Pins(DependencySource):  # type: ignore[misc]  # pip-audit ships no type information
    """Exact pins, as pip-audit's requirements source gives them with --no-deps."""

    def __init__(self, pins: Sequence[tuple[str, str]]) -> None:
        self._pins = pins

    def collect(self) -> Iterator[Dependency]:
        for name, version in self._pins:
            yield ResolvedDependency(name=name, version=Version(version))

    def fix(self, fix_version: ResolvedFixVersion) -> None:
        raise NotImplementedError("the gate reports, it does not upgrade")


class _Parallel(VulnerabilityService):  # type: ignore[misc]
    """A service whose queries go out side by side, answered in the pins' order."""

    def __init__(self, service: VulnerabilityService) -> None:
        self._service = service

    def query(self, spec: Dependency) -> tuple[Dependency, list[VulnerabilityResult]]:
        answer: tuple[Dependency, list[VulnerabilityResult]] = self._service.query(spec)
        return answer

    def query_all(
        self, specs: Iterator[Dependency]
    ) -> Iterator[tuple[Dependency, list[VulnerabilityResult]]]:
        with ThreadPoolExecutor(max_workers=QUERY_WORKERS) as pool:
            yield from pool.map(self._service.query, list(specs))


def audit(
    pins: Sequence[tuple[str, str]],
    service: str,
    osv_query_url: str,
    timeout_s: int,
    exchange: Exchange | None = None,
) -> Audit:
    """pip-audit's results for (name, version) pins against `service` ("osv" or "pypi"); with
    `exchange`, OSV's requests go to it instead of over the network."""
    inner: OsvService | PyPIService = (
        OsvService(timeout=timeout_s, osv_url=osv_query_url)
        if service == "osv"
        else PyPIService(timeout=timeout_s)
    )
    if exchange is not None and service == "osv":
        origin = urlsplit(osv_query_url)
        inner.session.mount(f"{origin.scheme}://{origin.netloc}/", _Answered(exchange))
    recording = _RecordingSession(inner.session)
    inner.session = recording
    try:
        results = dict(Auditor(_Parallel(inner)).audit(_Pins(pins)))
    except (ServiceError, requests.RequestException) as e:
        raise AuditError(f"{type(e).__name__}: {e}") from e
    except ValueError as e:  # an answer that is not JSON, or not OSV
        raise AuditError(f"unusable answer: {e}") from e
    report = json.loads(JsonFormat(output_desc=True, output_aliases=True).format(results, []))
    return Audit(list(report["dependencies"]), recording.records)
