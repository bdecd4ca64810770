"""Asking an OSV service (api.osv.dev, an internal mirror, `gates osv-mirror serve`) about packages
of any ecosystem: one batch query for all of them, then the full record of each advisory found.

Any failure to get a complete answer raises OsvUnavailable: a partial answer must never pass. The
engine masks credentials in a URL the message names, as in every gate's error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

REQUEST_TIMEOUT_S = 10
_BATCH = 1000  # the most queries OSV answers in one batch
_MAX_PAGES = 50
_MAX_RESPONSE = 64 * 1024 * 1024


class OsvUnavailable(Exception):
    """The service could not be asked, or did not answer completely; the message says which URL."""


Exchange = Callable[[str, str, bytes | None], tuple[int, bytes]]
"""How one request reaches the service: (method, URL, body) -> (HTTP status, answer); OSError
when the service cannot be reached. An `OsvDatabase.exchange` answers in this process; None
(the default) asks over HTTP."""


def over_http(method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return int(response.status), response.read(_MAX_RESPONSE)
    except urllib.error.HTTPError as e:
        with e:
            return e.code, b""


def _post(url: str, body: Mapping[str, Any], exchange: Exchange | None) -> Any:
    try:
        status, answer = (exchange or over_http)("POST", url, json.dumps(body).encode("utf-8"))
        if not 200 <= status < 300:
            raise OsvUnavailable(f"{url} answered HTTP {status}")
        return json.loads(answer)
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise OsvUnavailable(f"cannot reach {url}: {reason}") from e


def query_batch(
    base: str, packages: Sequence[tuple[str, str, str]], exchange: Exchange | None = None
) -> list[list[str]]:
    """For each (ecosystem, name, version), the ids of the advisories that affect it."""
    found: list[list[str]] = [[] for _ in packages]
    pending: dict[int, str | None] = dict.fromkeys(range(len(packages)))
    for _ in range(_MAX_PAGES):
        if not pending:
            return found
        asked = sorted(pending)
        next_pending: dict[int, str | None] = {}
        for start in range(0, len(asked), _BATCH):
            chunk = asked[start : start + _BATCH]
            queries = []
            for i in chunk:
                ecosystem, name, version = packages[i]
                package = {"ecosystem": ecosystem, "name": name}
                query: dict[str, Any] = {"package": package, "version": version}
                if pending[i]:
                    query["page_token"] = pending[i]
                queries.append(query)
            answer = _post(f"{base}/v1/querybatch", {"queries": queries}, exchange)
            results = answer.get("results") if isinstance(answer, Mapping) else None
            if not isinstance(results, list) or len(results) != len(chunk):
                raise OsvUnavailable(f"{base}/v1/querybatch gave an incomplete answer")
            for i, result in zip(chunk, results, strict=True):
                vulns = result.get("vulns") or [] if isinstance(result, Mapping) else []
                found[i] += [str(v["id"]) for v in vulns if isinstance(v, Mapping) and "id" in v]
                token = result.get("next_page_token") if isinstance(result, Mapping) else None
                if token:
                    next_pending[i] = str(token)
        pending = next_pending
    raise OsvUnavailable(f"{base}/v1/querybatch: more than {_MAX_PAGES} pages of results")


def fetch_record(
    base: str,
    ids: Sequence[str],
    answered: Mapping[str, dict[str, Any]] | None = None,
    exchange: Exchange | None = None,
) -> dict[str, Any] | None:
    """The OSV record of an advisory known under `ids`: a tool may report it under an alias (a
    CVE, say) that is not the record's own id, so each id is tried in turn, first among the
    records the service already `answered` with, else asked for."""
    for advisory in ids:
        data = (answered or {}).get(advisory) or _get_record(base, advisory, exchange)
        if isinstance(data, dict) and data.get("id") in ids:
            return data
    return None


def _get_record(base: str, advisory: str, exchange: Exchange | None) -> Any:
    try:
        status, answer = (exchange or over_http)("GET", f"{base}/v1/vulns/{advisory}", None)
        return json.loads(answer) if 200 <= status < 300 else None
    except (OSError, ValueError):
        return None  # a 404 for an id the database files under another name


def fetch_records(
    base: str,
    advisories: Sequence[Sequence[str]],
    answered: Mapping[str, dict[str, Any]] | None = None,
    exchange: Exchange | None = None,
) -> list[dict[str, Any] | None]:
    """`fetch_record` for each advisory, several at once."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda ids: fetch_record(base, ids, answered, exchange), advisories))
