"""Licences of PyPI components the SBOM names none for (SBOMs from requirements and lock files).

In order: the metadata of the distribution installed in the interpreter gates runs in, when it is
the same version; else the core metadata the package index publishes next to each wheel (PEP 658 and
714: `<wheel URL>.metadata`, found through the Simple API in JSON, PEP 691, or HTML, PEP 503) of
the index pip is configured with (`pip config`, PIP_INDEX_URL) or the one the policy names, which
may be a `file://` mirror. What the index says is cached on disk per name and version (a released
version's metadata never changes), sealed, never in the repository; `offline: true` reads only the
installed metadata and that cache.

The licences are read as cyclonedx-py reads them: `License-Expression`, else the `License ::`
classifiers and a `License` field short enough to be a name.
"""

from __future__ import annotations

import email.parser
import hashlib
import html.parser
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from packageurl import PackageURL
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from gates.util.atomic import dump_json
from gates.util.sealed import SealedFolder

INSTALLED, INDEX = "installed metadata", "package index metadata"
_TIMEOUT_S = 15.0
_MAX_BYTES = 4_000_000
_JSON_SIMPLE = "application/vnd.pypi.simple.v1+json"
_MAX_TRIES = 3
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")  # PEP 508


class IndexUnavailable(Exception):
    """The index could not be asked (offline, refused, malformed answer)."""


@dataclass(frozen=True)
class Found:
    licences: tuple[str, ...]
    source: str
    """INSTALLED or INDEX."""


@dataclass(frozen=True)
class Lookup:
    found: Mapping[str, Found]
    """Component ref -> its licences, for those found."""
    missing: Mapping[str, str]
    """Component ref -> why its licences could not be known."""


def declared_licences(metadata: Mapping[str, Any] | email.message.Message) -> tuple[str, ...]:
    """The licences core metadata declares."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return (expression,)
    found = [c for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]  # type: ignore[union-attr]
    text = (metadata.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() not in ("UNKNOWN", "NONE"):
        found.append(text)
    return tuple(found)


INDEX_VARIABLE = "GATES_PYPI_INDEX_URL"
"""Where gates alone looks licences up, before pip's index (a mirror for CI; the tests' nowhere)."""


def pip_index_url() -> str:
    """GATES_PYPI_INDEX_URL, else the index pip installs from here: PIP_INDEX_URL, else pip's
    configuration, else pip's own default; never a host written in gates."""
    for variable in (INDEX_VARIABLE, "PIP_INDEX_URL"):
        if os.environ.get(variable):
            return os.environ[variable].split()[0]
    return _pip_configured_index()


@cache
def _pip_configured_index() -> str:
    for key in ("global.index-url", "install.index-url"):
        done = subprocess.run(
            [sys.executable, "-P", "-m", "pip", "config", "get", key],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().split()[0]
    from pip._internal.models.index import PyPI  # pip's default index; pip has no public API for it

    return str(PyPI.simple_url)


def display_url(url: str) -> str:
    """The URL without user name, password or token: what a verdict may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")).geturl()


def _installed(name: str, version: str | None) -> tuple[str, ...] | None:
    """The installed distribution's licences, if it is that version (any, for an unpinned one)."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if version is None or _same_version(distribution.version, version):
        return declared_licences(distribution.metadata)  # type: ignore[arg-type]
    return None


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _get(url: str, accept: str | None = None) -> tuple[bytes, str]:
    """The body and content type at `url` (http, https or file)."""
    if url.startswith("file:") and url.endswith("/"):
        url += "index.html"
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            body = response.read(_MAX_BYTES + 1)
            kind = response.headers.get("Content-Type", "") if hasattr(response, "headers") else ""
    except urllib.error.HTTPError as e:
        if e.code == 404:
            raise FileNotFoundError(display_url(url)) from e
        raise IndexUnavailable(f"{display_url(url)}: HTTP {e.code}") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        if isinstance(getattr(e, "reason", None), FileNotFoundError) or isinstance(e, FileNotFoundError):
            raise FileNotFoundError(display_url(url)) from e
        raise IndexUnavailable(f"{display_url(url)}: {getattr(e, 'reason', e)}") from e
    if len(body) > _MAX_BYTES:
        raise IndexUnavailable(f"{display_url(url)}: answer larger than {_MAX_BYTES} bytes")
    return body, kind


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            href = str(found["href"])
            metadata = found.get("data-core-metadata") or found.get("data-dist-info-metadata")
            self.files.append(
                {"filename": urldefrag(href)[0].rsplit("/", 1)[-1], "url": href, "core-metadata": metadata}
            )


def _files(index: str, name: str) -> list[dict[str, Any]]:
    page = urljoin(index.rstrip("/") + "/", canonicalize_name(name) + "/")
    body, kind = _get(page, f"{_JSON_SIMPLE}, text/html;q=0.1")
    if _JSON_SIMPLE in kind or body.lstrip()[:1] == b"{":
        try:
            files = json.loads(body)["files"]
        except (ValueError, KeyError, TypeError) as e:
            raise IndexUnavailable(f"{display_url(page)}: not a Simple API page") from e
    else:
        anchors = _Anchors()
        anchors.feed(body.decode("utf-8", "replace"))
        files = anchors.files
    return [{**f, "url": urljoin(page, str(f.get("url", "")))} for f in files if isinstance(f, dict)]


def _expected_hash(metadata: Any) -> str | None:
    if isinstance(metadata, dict):
        return metadata.get("sha256")
    if isinstance(metadata, str) and metadata.startswith("sha256="):
        return metadata.removeprefix("sha256=")
    return None


def _from_index(index: str, name: str, version: str) -> tuple[str, ...] | None:
    """The licences the index's wheel metadata declares; None when no wheel of that version has it.
    Wheels that announce their metadata file come first; the others are tried too (a mirror may drop
    the announcement while serving the file), up to _MAX_TRIES."""
    wheels = []
    for entry in _files(index, name):
        try:
            _, wheel_version, _, _ = parse_wheel_filename(str(entry.get("filename")))
        except InvalidWheelFilename:
            continue
        if _same_version(str(wheel_version), version):
            announced = entry.get("core-metadata") or entry.get("dist-info-metadata")
            wheels.append((not announced, str(entry["url"]), _expected_hash(announced)))
    for _, url, expected in sorted(wheels)[:_MAX_TRIES]:
        try:
            body, _ = _get(urldefrag(url)[0] + ".metadata")
        except FileNotFoundError:
            continue
        if expected and hashlib.sha256(body).hexdigest() != expected:
            raise IndexUnavailable(f"{display_url(url)}.metadata: sha256 differs from the index's")
        return declared_licences(email.parser.BytesHeaderParser().parsebytes(body))
    return None


def _cache_path(cache: Path, name: str, version: str) -> Path:
    return cache / canonicalize_name(name) / f"{version}.json"


UNAVAILABLE = "the package index could not be asked"


def _ask_index(index: str, cache: SealedFolder | None, offline: bool, name: str, version: str) -> Found | str:
    """Found licences, or why there are none."""
    path = None if cache is None else _cache_path(cache.folder, name, version)
    sealed = None if cache is None or path is None else cache.read_sealed(path)
    if sealed is not None:
        try:
            cached = json.loads(sealed)
            return Found(tuple(cached["licences"]), INDEX) if cached["licences"] else str(cached["reason"])
        except (ValueError, KeyError, TypeError):
            pass  # a damaged entry is asked again
    if offline:
        return "offline, and not in the metadata cache"
    try:
        licences = _from_index(index, name, version)
        reason = "" if licences else "the index has no wheel metadata of this version naming a licence"
    except FileNotFoundError:
        licences, reason = None, f"not on the index {display_url(index)}"
    except IndexUnavailable as e:
        return f"{UNAVAILABLE} ({e})"
    if cache is not None and path is not None:
        cache.write_sealed(path, dump_json({"licences": list(licences or ()), "reason": reason}).encode())
    return Found(licences, INDEX) if licences else reason


def _pypi(purl: str | None) -> tuple[str, str | None] | None:
    """The PyPI name and version (None for an unpinned requirement) of a purl, both checked: they
    name cache files and index URLs."""
    try:
        parsed = PackageURL.from_string(purl) if purl else None
        version = str(Version(parsed.version)) if parsed is not None and parsed.version else None
    except (ValueError, InvalidVersion):
        return None
    if parsed is None or parsed.type != "pypi" or not _NAME.fullmatch(parsed.name):
        return None
    return parsed.name, version


def look_up(
    components: Iterable[tuple[str, str | None]],
    *,
    index: str | None,
    cache: SealedFolder | None,
    offline: bool,
    timeout_s: float,
) -> Lookup:
    """Licences for the components, each given as (ref, purl). What the index said is kept in
    `cache`, sealed (gates/util/sealed.py): an entry the repository supplied or someone edited (a
    copyleft package turned MIT) is a miss, asked again."""
    found: dict[str, Found] = {}
    missing: dict[str, str] = {}
    remote: list[tuple[str, str, str]] = []
    for ref, purl in components:
        coordinates = _pypi(purl)
        if coordinates is None:
            missing[ref] = "no PyPI purl with a valid name to look it up by"
            continue
        name, version = coordinates
        installed = _installed(name, version)
        if installed:
            found[ref] = Found(installed, INSTALLED)
        elif version is None:
            missing[ref] = "not installed here, and unpinned: no version to ask the index about"
        else:
            remote.append((ref, name, version))
    if remote:
        where = index or pip_index_url()
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = {ref: pool.submit(_ask_index, where, cache, offline, n, v) for ref, n, v in remote}
            for ref, future in futures.items():
                answer = future.result(timeout=max(timeout_s, 1.0))
                if isinstance(answer, Found):
                    found[ref] = answer
                else:
                    missing[ref] = answer
    return Lookup(found, missing)


def default_cache() -> Path:
    """Outside every repository: the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gates" / "pypi-licences"
