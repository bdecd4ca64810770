"""A local OSV database served over the OSV API on loopback, for air-gapped audits.

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
import json
import os
import re
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import yaml
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from gates.errors import InputError
from gates.osv.match import affects, osv_package, package_key
from gates.util.files import repo_file
from gates.util.git import toplevel
from gates.util.jsonfile import parse_json
from gates.util.sealed import SealedFolder, open_sealed
from gates.util.yamlfile import check_hostile_yaml, read_input_bytes

_SUFFIXES = (".json", ".yaml", ".yml")
_DATE_FIELDS = ("modified", "published", "withdrawn")
_MAX_BODY = 1024 * 1024
_SECONDS = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$")

Record = dict[str, Any]
# Bumped whenever _parse_record changes what it makes of a file, so old indexes are not reused.
_INDEX_VERSION = "osv-index-2"


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
    found = []
    # os.walk does not descend into linked folders; linked files are checked one by one.
    for folder, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(folder, n) for n in names if not n.startswith(".") and n.endswith(_SUFFIXES)]
    for file in sorted(found):
        if within is not None and file.is_symlink():
            repo_file(within, file.relative_to(within), "osv_database")
        if file.is_file():
            yield str(file), read_input_bytes(file)


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


def _read_index(cache: SealedFolder | None, path: Path) -> dict[str, Record] | None:
    """The records of an index this machine wrote (its HMAC verifies), else None: an index
    edited to drop an advisory is a miss, and the database is parsed again."""
    payload = cache.read_sealed(path) if cache is not None else None
    try:
        records = orjson.loads(payload) if payload is not None else None
    except orjson.JSONDecodeError:
        return None
    return records if isinstance(records, dict) else None


def _write_index(cache: SealedFolder | None, path: Path, records: Mapping[str, Record]) -> None:
    """Best effort: a cache folder that cannot be written costs the next run a parse, nothing else."""
    if cache is None:
        return
    try:
        cache.write_sealed(path, orjson.dumps(records))
        kept = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[_INDEXES_KEPT:]:
            old.unlink(missing_ok=True)
    except (OSError, TypeError):  # TypeError: a record orjson cannot write (keys that are not strings)
        pass


@dataclass(frozen=True)
class OsvDatabase:
    records: Mapping[str, Record]
    by_package: Mapping[tuple[str, str], tuple[tuple[Record, Mapping[str, Any]], ...]]

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
        cache = open_sealed(index_dir(), toplevel(repository) or repository)
        index = index_dir() / f"{_INDEX_VERSION}-{digest.hexdigest()}.json"
        records = _read_index(cache, index)
        if records is None:
            records = {}
            for source, data in sources:
                record = _parse_record(_text(data, source), source)
                if record is not None:
                    records[record["id"]] = record
            _write_index(cache, index, records)
        return cls.from_records(records)

    @classmethod
    def from_records(cls, records: Mapping[str, Record]) -> OsvDatabase:
        by_package: dict[tuple[str, str], list[tuple[Record, Mapping[str, Any]]]] = defaultdict(list)
        for record in records.values():
            for affected in record.get("affected") or []:
                package = affected.get("package") or {}
                if "ecosystem" in package and "name" in package:
                    key = package_key(package["ecosystem"], package["name"])
                    by_package[key].append((record, affected))
        return cls(records, {k: tuple(v) for k, v in by_package.items()})

    def query(self, ecosystem: str, name: str, version: str) -> list[Record]:
        """The records that affect a package version, in id order, without duplicates."""
        found = {
            record["id"]: record
            for record, affected in self.by_package.get(package_key(ecosystem, name), ())
            if not record.get("withdrawn") and affects(affected, ecosystem, version)
        }
        return [found[k] for k in sorted(found)]


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

    def _send(self, status: HTTPStatus, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        record = (
            self.server.database.records.get(self.path[len(prefix) :])
            if self.path.startswith(prefix)
            else None
        )
        if record is None:
            self._send(HTTPStatus.NOT_FOUND, {"code": 5, "message": "Bug not found."})
        else:
            self._send(HTTPStatus.OK, record)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "query too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"null")
            if self.path == "/v1/query":
                vulns = self.server.database.query(*_parse_query(body))
                self._send(HTTPStatus.OK, {"vulns": vulns} if vulns else {})
            elif self.path == "/v1/querybatch":
                queries = body.get("queries") if isinstance(body, Mapping) else None
                if not isinstance(queries, list):
                    raise QueryError('expected {"queries": [...]}')
                results = []
                for query in queries:
                    vulns = self.server.database.query(*_parse_query(query))
                    results.append(
                        {"vulns": [{"id": v["id"], "modified": v.get("modified")} for v in vulns]}
                        if vulns
                        else {}
                    )
                self._send(HTTPStatus.OK, {"results": results})
            else:
                self._send(HTTPStatus.NOT_FOUND, {"message": f"no endpoint {self.path}"})
        except (QueryError, ValueError) as e:
            self._send(HTTPStatus.BAD_REQUEST, {"code": 3, "message": str(e)})


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
    threading.Thread(target=server.serve_forever, name="osv-mirror", daemon=True).start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
