"""VEX: statements that a component is, or is not, affected by a vulnerability, read from
CycloneDX VEX and OpenVEX JSON documents in the repository and matched to vulnerability findings.

A file the policy lists speaks for this project, so a statement covers a finding when one of its
ids (vulnerability id or alias) is the finding's rule or one of its aliases, and one of its
products (OpenVEX: also their subcomponents; CycloneDX: the `affects` refs, resolved through the
document's `bom-ref`s) is the finding's purl. Purls are compared without qualifiers and subpath; a
product without a version covers every version. Only `not_affected` (CycloneDX: also
`false_positive`) with a justification or an explanation suppresses: anything else, including an
unjustified `not_affected`, leaves the finding as it is (fail closed). When several statements
cover one finding the latest wins, and of equally recent ones the one that does not suppress.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gates.errors import InputError
from gates.model import JSON, Suppression
from gates.util.files import select_files
from gates.util.jsonfile import LoadedJson, read_json
from gates.util.yamlfile import Path_

SUPPRESSING = frozenset({"not_affected", "false_positive"})
OPENVEX_STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
OPENVEX_JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
_OLDEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Statement:
    path: str
    """The document's path in the repository."""
    line: int | None
    format: str
    """`cyclonedx` or `openvex`."""
    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]
    """Purls (a ref that resolves to none is kept as written, and matches nothing)."""
    status: str
    justification: str | None
    detail: str | None
    """CycloneDX `analysis.detail`, OpenVEX `impact_statement`."""
    author: str | None
    timestamp: str | None

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    @property
    def unjustified(self) -> bool:
        return self.status in SUPPRESSING and not (self.justification or self.detail)

    @property
    def suppresses(self) -> bool:
        return self.status in SUPPRESSING and not self.unjustified

    def covers(self, ids: Iterable[str], purl: str | None) -> bool:
        mine = {i.casefold() for i in (self.vulnerability, *self.aliases)}
        if purl is None or not mine.intersection(i.casefold() for i in ids):
            return False
        return any(_product_covers(product, purl) for product in self.products)

    def when(self) -> dt.datetime:
        return _parse_time(self.timestamp) or _OLDEST

    def to_json(self) -> dict[str, JSON]:
        return {
            "source": self.source,
            "format": self.format,
            "vulnerability": self.vulnerability,
            "aliases": list(self.aliases),
            "products": list(self.products),
            "status": self.status,
            "justification": self.justification,
            "detail": self.detail,
            "author": self.author,
            "timestamp": self.timestamp,
            "suppresses": self.suppresses,
        }


@dataclass(frozen=True)
class Document:
    path: str
    format: str
    sha256: str
    statements: tuple[Statement, ...]

    def to_json(self) -> dict[str, JSON]:
        return {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "statements": len(self.statements),
        }


def _purl_key(text: str) -> tuple[str, str | None, str, str | None] | None:
    try:
        purl = PackageURL.from_string(text)
    except ValueError:
        return None
    name = str(canonicalize_name(purl.name)) if purl.type == "pypi" else purl.name
    return purl.type, purl.namespace, name, purl.version


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _product_covers(product: str, purl: str) -> bool:
    want, have = _purl_key(product), _purl_key(purl)
    if want is None or have is None or want[:3] != have[:3]:
        return False
    return want[3] is None or (have[3] is not None and _same_version(want[3], have[3]))


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:  # Python 3.10's fromisoformat does not read a `Z` suffix
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def applicable(statements: Sequence[Statement], ids: Iterable[str], purl: str | None) -> Statement | None:
    """The statement that decides for a finding with these ids at this purl, if any covers it."""
    ids = tuple(ids)
    covering = [s for s in statements if s.covers(ids, purl)]
    return max(covering, key=lambda s: (s.when(), not s.suppresses)) if covering else None


def suppression(statement: Mapping[str, JSON]) -> Suppression:
    """What the verdict records, as the finding's `waived`, for a suppressing statement."""
    why = ": ".join(str(statement[k]) for k in ("justification", "detail") if statement[k])
    by = ", ".join(str(statement[k]) for k in ("author", "timestamp") if statement[k])
    return Suppression(
        kind=Suppression.VEX,
        reason=f"VEX {statement['status']}: {why}" + (f" ({by})" if by else ""),
        source=str(statement["source"]),
        details={k: v for k, v in statement.items() if k not in ("suppresses", "source")},
    )


# --- reading ---------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _require(doc: LoadedJson, value: Any, path: Path_, what: str) -> str:
    text = _text(value)
    if text is None:
        raise doc.error(path, f"{what} is missing or not a non-empty string")
    return text


def _list(doc: LoadedJson, value: Any, path: Path_, what: str, required: bool = True) -> list[Any]:
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise doc.error(path, f"{what} must be a list")
    return value


def _enum(doc: LoadedJson, value: Any, path: Path_, what: str, allowed: Sequence[str]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise doc.error(path, f"{what} {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _openvex_products(doc: LoadedJson, products: list[Any], path: Path_) -> Iterator[str]:
    """Each product's (and subcomponent's) purl: its `@id`, or `identifiers.purl`."""
    for i, product in enumerate(products):
        if isinstance(product, str):  # OpenVEX 0.0.x wrote products as plain strings
            yield product
            continue
        if not isinstance(product, Mapping):
            raise doc.error((*path, i), "a product must be an object with @id")
        identifiers = product.get("identifiers")
        purl = identifiers.get("purl") if isinstance(identifiers, Mapping) else None
        named = _text(product.get("@id")) or _text(purl)
        if named is None:
            raise doc.error((*path, i), "a product needs @id or identifiers.purl")
        yield named
        if _text(purl) and _text(purl) != named:
            yield str(_text(purl))
        sub = _list(doc, product.get("subcomponents"), (*path, i, "subcomponents"), "subcomponents", False)
        yield from _openvex_products(doc, sub, (*path, i, "subcomponents"))


def _openvex(doc: LoadedJson) -> list[Statement]:
    data = doc.data
    author = _require(doc, data.get("author"), ("author",), "author")
    timestamp = _require(doc, data.get("timestamp"), ("timestamp",), "timestamp")
    if _parse_time(timestamp) is None:
        raise doc.error(("timestamp",), f"timestamp {timestamp!r} is not an ISO 8601 date and time")
    statements = []
    for i, raw in enumerate(_list(doc, data.get("statements"), ("statements",), "statements")):
        at: Path_ = ("statements", i)
        if not isinstance(raw, Mapping):
            raise doc.error(at, "a statement must be an object")
        vuln = raw.get("vulnerability")
        if isinstance(vuln, Mapping):
            name = _require(doc, vuln.get("name"), (*at, "vulnerability", "name"), "vulnerability.name")
            aliases = _list(doc, vuln.get("aliases"), (*at, "vulnerability", "aliases"), "aliases", False)
        else:  # OpenVEX 0.0.x: the vulnerability id as a string
            name, aliases = _require(doc, vuln, (*at, "vulnerability"), "vulnerability"), []
        status = _enum(doc, raw.get("status"), (*at, "status"), "status", OPENVEX_STATUSES)
        if status is None:
            raise doc.error(at, "status is missing")
        products = _list(doc, raw.get("products"), (*at, "products"), "products")
        when = _text(raw.get("timestamp"))
        if when is not None and _parse_time(when) is None:
            raise doc.error((*at, "timestamp"), f"timestamp {when!r} is not an ISO 8601 date and time")
        statements.append(
            Statement(
                path=doc.source,
                line=doc.line_of(at),
                format="openvex",
                vulnerability=name,
                aliases=tuple(str(a) for a in aliases if _text(a)),
                products=tuple(_openvex_products(doc, products, (*at, "products"))),
                status=status,
                justification=_enum(
                    doc,
                    raw.get("justification"),
                    (*at, "justification"),
                    "justification",
                    OPENVEX_JUSTIFICATIONS,
                ),
                detail=_text(raw.get("impact_statement")),
                author=author,
                timestamp=when or timestamp,
            )
        )
    return statements


def _bom_refs(items: Any) -> Iterator[tuple[str, str]]:
    """(bom-ref, purl) of the document's components, nested ones included."""
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping):
            ref, purl = _text(item.get("bom-ref")), _text(item.get("purl"))
            if ref is not None and purl is not None:
                yield ref, purl
            yield from _bom_refs(item.get("components"))


def _cyclonedx(doc: LoadedJson) -> list[Statement]:
    data = doc.data
    version = str(data.get("specVersion", ""))
    try:
        schema = SchemaVersion.from_version(version)
    except ValueError as e:
        raise doc.error(("specVersion",), f"unknown CycloneDX specVersion {version!r}") from e
    if schema < SchemaVersion.V1_4:
        raise doc.error(
            ("specVersion",), f"CycloneDX {version} has no vulnerabilities: VEX needs 1.4 or later"
        )
    error = JsonStrictValidator(schema).validate_str(doc.text)
    if error is not None:
        detail = error.data  # the jsonschema ValidationError; its str() dumps the whole schema
        path = tuple(getattr(detail, "absolute_path", ()))
        raise doc.error(
            path, f"not a valid CycloneDX {version} document: {getattr(detail, 'message', detail)}"
        )
    metadata = data.get("metadata") or {}
    names = [_text(a.get("name")) or _text(a.get("email")) for a in metadata.get("authors") or []]
    author = ", ".join(n for n in names if n) or None
    purls = dict(_bom_refs(data.get("components")))
    statements = []
    for i, vuln in enumerate(data.get("vulnerabilities") or []):
        at: Path_ = ("vulnerabilities", i)
        analysis = vuln.get("analysis") or {}
        if "state" not in analysis:
            continue  # a vulnerability report without an analysis says nothing about impact
        vid = _require(doc, vuln.get("id"), (*at, "id"), "vulnerability id")
        times = (
            analysis.get("lastUpdated"),
            analysis.get("firstIssued"),
            vuln.get("updated"),
            vuln.get("published"),
        )
        statements.append(
            Statement(
                path=doc.source,
                line=doc.line_of(at),
                format="cyclonedx",
                vulnerability=vid,
                aliases=tuple(r["id"] for r in vuln.get("references") or []),
                products=tuple(purls.get(a["ref"], a["ref"]) for a in vuln.get("affects") or []),
                status=str(analysis["state"]),
                justification=_text(analysis.get("justification")),
                detail=_text(analysis.get("detail")),
                author=author,
                timestamp=next((t for t in times if t), None) or _text(metadata.get("timestamp")),
            )
        )
    return statements


def read_document(path: Path, name: str) -> Document:
    """A CycloneDX VEX or OpenVEX JSON file; anything else or anything broken is an InputError."""
    doc = read_json(path)
    doc = LoadedJson(doc.data, name, doc.text)  # errors name the repository path
    data = doc.data
    if isinstance(data, Mapping) and "openvex.dev/ns" in str(data.get("@context", "")):
        fmt, statements = "openvex", _openvex(doc)
    elif isinstance(data, Mapping) and data.get("bomFormat") == "CycloneDX":
        fmt, statements = "cyclonedx", _cyclonedx(doc)
    else:
        raise InputError(
            f"{name}:1: not a VEX document: expected OpenVEX (@context openvex.dev/ns) or CycloneDX JSON"
        )
    digest = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    return Document(name, fmt, digest, tuple(statements))


def load(root: Path, patterns: Sequence[str]) -> list[Document]:
    """The VEX documents the policy's `vex` globs select in the repository; a glob that selects no
    file is an error, so that a typo cannot silently drop the statements."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        files = select_files(root, include=[pattern]).files
        if not files:
            raise InputError(f"policy vex: {pattern!r} matches no file in {root}")
        found.update((f.path, f.abspath) for f in files)
    return [read_document(found[name], name) for name in sorted(found)]
