"""A local OSV database answering the OSV API, for air-gapped audits: over HTTP on loopback
(`MirrorServer`, `gates osv-mirror serve`) or in the asking process (`OsvDatabase.exchange`, the
vulnerabilities gate's `osv_database`).

The database is a directory of OSV records in YAML or JSON (a checkout of an advisory database
such as PyPA's) or an OSV export zip (`PyPI/all.zip`). It answers the endpoints pip-audit and the
vulnerabilities gate use: POST /v1/query, POST /v1/querybatch and GET /v1/vulns/{id}, for every
ecosystem: versions are matched as the OSV schema says (`gates.osv.match`: versions lists, SEMVER
and ECOSYSTEM ranges in each ecosystem's own ordering, withdrawn records left out). A query names
the package by ecosystem and name or by purl.

Timestamps are re-serialised as `YYYY-MM-DDTHH:MM:SSZ`: pip-audit parses them with exactly that
format (or with microseconds) and crashes on anything else, such as a YAML date turned into a
datetime or an offset like `+00:00`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import yaml
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from gates.errors import InputError
from gates.osv.match import affects, osv_package, package_key
from gates.util.files import repo_file
from gates.util.jsonfile import parse_json
from gates.util.sealed import SealedFolder, open_sealed
from gates.util.yamlfile import check_hostile_yaml, read_input_bytes

_SUFFIXES = (".json", ".yaml", ".yml")
_DATE_FIELDS = ("modified", "published", "withdrawn")
_MAX_BODY = 1024 * 1024
_SECONDS = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$")

Record = dict[str, Any]
# Bumped whenever _parse_record changes what it makes of a file, so old indexes are not reused.
_INDEX_VERSION = "osv-index-3"


def _timestamp(value: object) -> str:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    else:
        match = _SECONDS.match(str(value).strip())
        if match is None:
            raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
        day, time, zone = match.groups()
        zone = "+00:00" if zone in (None, "Z", "z") else zone
        moment = dt.datetime.fromisoformat(f"{day}T{time}{zone}")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_record(text: str, source: str) -> Record | None:
    """The OSV record in a file, or None for a file that is not one (a README, a config)."""
    if source.endswith(".json"):
        data = parse_json(text, source)
    else:
        check_hostile_yaml(text, source)  # a database in the repository is the repository's to write
        try:
            data = yaml.load(text, Loader=_YamlLoader)
        except yaml.YAMLError as e:
            raise InputError(f"{source}: not valid YAML: {e}") from e
        except RecursionError as e:
            raise InputError(f"{source}: not valid YAML: nested too deeply") from e
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    for key in _DATE_FIELDS:
        if key in data:
            try:
                data[key] = _timestamp(data[key])
            except ValueError as e:
                raise InputError(f"{source}: {key}: {e}") from e
    # The OSV API serves PyPI names in canonical form and pip-audit compares them with the
    # canonical name: a database that spells a package "Jinja2" would otherwise lose its fixed versions.
    for affected in data.get("affected") or []:
        package = affected.get("package") if isinstance(affected, dict) else None
        if (
            isinstance(package, dict)
            and package.get("ecosystem") == "PyPI"
            and isinstance(package.get("name"), str)
        ):
            package["name"] = str(canonicalize_name(package["name"]))
    return data


_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _candidates(folder: str) -> list[tuple[tuple[str, ...], str, bool]]:
    """(path parts, path, is a link) of every non-hidden OSV-suffixed file or link under `folder`,
    not entering hidden or linked folders; walked with a stack, so no depth is too deep."""
    found = []
    stack: list[tuple[tuple[str, ...], str]] = [((folder,), folder)]
    while stack:
        parts, current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(((*parts, entry.name), entry.path))
                elif entry.name.endswith(_SUFFIXES):
                    link = entry.is_symlink()
                    if link or entry.is_file(follow_symlinks=False):  # the listing's type: no stat
                        found.append(((*parts, entry.name), entry.path, link))
    return found


def _files(path: Path, within: Path | None) -> Iterator[tuple[str, bytes]]:
    """(source name, bytes) of every candidate OSV file in a directory or zip, in name order.
    With `within` (a database the repository names), a link that leads out of that folder is an
    InputError: the repository's content never makes gates read a file outside it."""
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as archive:
                for name in sorted(archive.namelist()):
                    if name.endswith(_SUFFIXES):
                        yield f"{path}!{name}", archive.read(name)
        except zipfile.BadZipFile as e:
            raise InputError(f"{path}: not an OSV export zip: {e}") from e
        return
    if not path.is_dir():
        raise InputError(f"{path}: no such directory or zip")
    # Sorted by path components, as Path objects sort; plain strings and system calls because
    # this runs on every file of the database on every run.
    for _, file, link in sorted(_candidates(str(path))):
        if link:
            if within is not None:
                repo_file(within, Path(file).relative_to(within), "osv_database")
            if not os.path.isfile(file):  # a link to a folder, or to nothing
                continue
        yield file, read_input_bytes(file)


def _text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{source}: not UTF-8 text") from e


INDEX_DIR_ENV = "GATES_OSV_INDEX_DIR"
_INDEXES_KEPT = 4


def index_dir() -> Path:
    """Where parsed databases are kept: GATES_OSV_INDEX_DIR, else the user's cache folder (never
    the repository, whose content must not be able to answer for a database)."""
    configured = os.environ.get(INDEX_DIR_ENV)
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "gates" / "osv-index"


Posting = tuple[str, int]
"""(record id, index of the record's `affected` entry) of a package."""


def _read_index(cache: SealedFolder | None, path: Path) -> OsvDatabase | None:
    """The database of an index this machine wrote (its HMAC verifies), else None: an index
    edited to drop an advisory is a miss, and the database is parsed again."""
    payload = cache.read_sealed(path) if cache is not None else None
    if payload is None:
        return None
    try:
        index = orjson.loads(payload)
        texts, packages = index["texts"], index["packages"]
        by_package = {(e, n): tuple((i, k) for i, k in postings) for e, n, postings in packages}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if not isinstance(texts, dict) or not all(isinstance(t, str) for t in texts.values()):
        return None
    return OsvDatabase(texts, by_package)


def _write_index(cache: SealedFolder | None, path: Path, database: OsvDatabase) -> None:
    """Best effort: a cache folder that cannot be written costs the next run a parse, nothing else."""
    if cache is None:
        return
    packages = [[e, n, postings] for (e, n), postings in database.by_package.items()]
    try:
        cache.write_sealed(path, orjson.dumps({"texts": database.texts, "packages": packages}))
        kept = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[_INDEXES_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


class _Parsed(Mapping[str, Record]):
    """Records parsed from their JSON text when first asked for."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = texts
        self._parsed: dict[str, Record] = {}

    def __getitem__(self, advisory: str) -> Record:
        record = self._parsed.get(advisory)
        if record is None:
            record = self._parsed[advisory] = orjson.loads(self._texts[advisory])
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


class OsvDatabase:
    """OSV records by id, kept as the JSON they are served as and parsed when a query first needs
    one (a run asks about a few packages of thousands), and what each package's entries are."""

    def __init__(self, texts: Mapping[str, str], by_package: Mapping[tuple[str, str], Sequence[Posting]]):
        self.texts = texts
        self.by_package = by_package
        self.records: Mapping[str, Record] = _Parsed(texts)

    @classmethod
    def load(cls, path: Path, repository: Path | None = None, within: Path | None = None) -> OsvDatabase:
        """The database in a directory or zip; `repository`: the one scanned (default: the working
        folder); `within`: the repository, when the repository names the database (its files may
        then not lead out of it). Parsing thousands of YAML records
        takes seconds, so the parsed records are kept under the digest of the files' names and
        bytes (see `index_dir`), authenticated as the collect cache's entries are and never in
        `repository`: an unchanged database is read and hashed, not parsed again."""
        sources = list(_files(path, within.resolve() if within is not None else None))
        digest = hashlib.sha256()
        for source, data in sources:
            name = source.removeprefix(str(path))
            digest.update(f"{len(name)}:{name}:{len(data)}:".encode())
            digest.update(data)
        repository = repository or Path.cwd()
        cache = open_sealed(index_dir(), repository)
        index = index_dir() / f"{_INDEX_VERSION}-{digest.hexdigest()}.json"
        database = _read_index(cache, index)
        if database is None:
            texts: dict[str, str] = {}
            parsed: dict[str, Record] = {}
            for source, data in sources:
                record = _parse_record(_text(data, source), source)
                if record is not None:
                    texts[record["id"]] = _served(record, source)
                    parsed[record["id"]] = record
            database = cls.from_records(parsed, texts)
            _write_index(cache, index, database)
        return database

    @classmethod
    def from_records(
        cls, records: Mapping[str, Record], texts: Mapping[str, str] | None = None
    ) -> OsvDatabase:
        """The database of parsed records (`texts`: their JSON, when already written)."""
        by_package: dict[tuple[str, str], list[Posting]] = defaultdict(list)
        for advisory, record in records.items():
            for i, affected in enumerate(record.get("affected") or []):
                package = affected.get("package") if isinstance(affected, dict) else None
                ecosystem, name = (
                    (package.get("ecosystem"), package.get("name"))
                    if isinstance(package, dict)
                    else (None, None)
                )
                if isinstance(ecosystem, str) and isinstance(name, str):
                    by_package[package_key(ecosystem, name)].append((advisory, i))
        if texts is None:
            texts = {advisory: _served(record, advisory) for advisory, record in records.items()}
        return cls(texts, {k: tuple(v) for k, v in by_package.items()})

    def matches(self, ecosystem: str, name: str, version: str) -> list[str]:
        """The ids of the records that affect a package version, sorted, without duplicates."""
        found = set()
        for advisory, i in self.by_package.get(package_key(ecosystem, name), ()):
            record = self.records[advisory]
            if not record.get("withdrawn") and affects(record["affected"][i], ecosystem, version):
                found.add(advisory)
        return sorted(found)

    def query(self, ecosystem: str, name: str, version: str) -> list[Record]:
        """The records that affect a package version, in id order, without duplicates."""
        return [self.records[advisory] for advisory in self.matches(ecosystem, name, version)]

    def answer(self, method: str, path: str, body: bytes) -> tuple[HTTPStatus, bytes]:
        """The OSV API's answer (status, JSON) to a request: GET /v1/vulns/{id}, POST /v1/query
        and POST /v1/querybatch. The records are answered with the JSON kept for them."""
        prefix = "/v1/vulns/"
        if method == "GET":
            text = self.texts.get(path[len(prefix) :]) if path.startswith(prefix) else None
            if text is None:
                return HTTPStatus.NOT_FOUND, orjson.dumps({"code": 5, "message": "Bug not found."})
            return HTTPStatus.OK, text.encode()
        if method != "POST" or path not in ("/v1/query", "/v1/querybatch"):
            return HTTPStatus.NOT_FOUND, orjson.dumps({"message": f"no endpoint {method} {path}"})
        if len(body) > _MAX_BODY:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, orjson.dumps({"message": "query too large"})
        try:
            query = orjson.loads(body or b"null")
            if path == "/v1/query":
                found = self.matches(*_parse_query(query))
                vulns = b",".join(self.texts[advisory].encode() for advisory in found)
                return HTTPStatus.OK, b'{"vulns":[' + vulns + b"]}" if found else b"{}"
            queries = query.get("queries") if isinstance(query, Mapping) else None
            if not isinstance(queries, list):
                raise QueryError('expected {"queries": [...]}')
            results = []
            for each in queries:
                ids = self.matches(*_parse_query(each))
                results.append(
                    {"vulns": [{"id": v, "modified": self.records[v].get("modified")} for v in ids]}
                    if ids
                    else {}
                )
            return HTTPStatus.OK, orjson.dumps({"results": results})
        except (QueryError, ValueError) as e:
            return HTTPStatus.BAD_REQUEST, orjson.dumps({"code": 3, "message": str(e)})

    def exchange(self, method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        """`answer` for a request to any base URL: how the vulnerabilities gate asks a database it
        serves itself, in its own process (`gates.osv.client.Exchange`)."""
        parts = urlsplit(url)
        status, answered = self.answer(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), body or b""
        )
        return int(status), answered


def _served(record: Record, source: str) -> str:
    """The JSON a record is answered with; InputError for a record JSON cannot hold (a YAML set)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError as e:
        raise InputError(f"{source}: cannot be served as JSON: {e}") from e


class QueryError(ValueError):
    """A query the mirror cannot answer (answered 400)."""


def _parse_query(query: Any) -> tuple[str, str, str]:
    if not isinstance(query, Mapping) or not isinstance(query.get("package"), Mapping):
        raise QueryError('expected {"package": {...}, "version": ...}')
    package, version = query["package"], query.get("version")
    if "purl" in package:
        purl = PackageURL.from_string(str(package["purl"]))
        ecosystem, name = osv_package(purl) or (purl.type, purl.name)
        version = version or purl.version
    else:
        ecosystem, name = package.get("ecosystem"), package.get("name")
    if not (isinstance(ecosystem, str) and isinstance(name, str) and isinstance(version, str)):
        raise QueryError(
            "a query needs a package ecosystem, name and version (commit queries are not served)"
        )
    return ecosystem, name, version


class _Handler(BaseHTTPRequestHandler):
    server: MirrorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the mirror runs beside tests and CI jobs whose output matters."""

    def _send(self, status: HTTPStatus, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(*self.server.database.answer("GET", self.path, b""))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, orjson.dumps({"message": "query too large"}))
            return
        self._send(*self.server.database.answer("POST", self.path, self.rfile.read(length)))


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, database: OsvDatabase, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.database = database

    @property
    def url(self) -> str:
        """The base URL; pip-audit's `--osv-url` is this plus `/v1/query`."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


@contextmanager
def serving(database: OsvDatabase, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """The base URL of a mirror of `database` running in a background thread while the block runs."""
    server = MirrorServer(database, host, port)
    # Polled often: shutting down waits for the next poll (half a second by default).
    serve = lambda: server.serve_forever(poll_interval=0.05)  # noqa: E731
    threading.Thread(target=serve, name="osv-mirror", daemon=True).start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
