"""Loading a CycloneDX SBOM, JSON or XML (what the Maven and Gradle plugins write by default):
parsed, validated against the CycloneDX schema with cyclonedx-python-lib, and reduced to the few
fields the gates judge.

A file that is not a CycloneDX document at all is an InputError (exit 2): nothing can be said about
it. A CycloneDX document that breaks its schema is read anyway, tolerantly, and carries the first
schema error in `problem`, so that the sbom gate can report it as a finding.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree

from gates.errors import InputError
from gates.sbom.validate import json_schema_problem, xml_schema_problem
from gates.util.jsonfile import line_at

Format = Literal["json", "xml"]

JSON_SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
XML_SPEC_VERSIONS = ("1.0", "1.1", *JSON_SPEC_VERSIONS)
_XML_NAMESPACE = "http://cyclonedx.org/schema/bom/"


@dataclass(frozen=True)
class Component:
    name: str
    version: str | None
    purl: str | None
    licences: tuple[str, ...]
    """Each an SPDX id, an SPDX expression or a free-text licence name, as the SBOM gives it."""
    copyright: str | None = None

    @property
    def ref(self) -> str:
        """The purl, else name@version: what findings point at."""
        return self.purl or (f"{self.name}@{self.version}" if self.version else self.name)


@dataclass(frozen=True)
class Sbom:
    source: str
    format: Format
    spec_version: str
    components: tuple[Component, ...]
    root: Component | None
    """The component the SBOM describes (metadata.component): the project itself."""
    problem: str | None
    """The first CycloneDX schema violation, or None for a valid SBOM (or one read unvalidated)."""
    digest: str
    raw: bytes


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


Node = TypeVar("Node")


def _walk(
    top: Iterable[Node],
    read: Callable[[Node], Component | None],
    children: Callable[[Node], Iterable[Node]],
) -> Iterator[Component]:
    """Components, including those nested in other components, in document order; iterative, so
    that no nesting depth exhausts the stack."""
    stack: list[Iterator[Node]] = [iter(top)]
    while stack:
        for item in stack[-1]:
            component = read(item)
            if component is not None:
                yield component
            stack.append(iter(children(item)))
            break
        else:
            stack.pop()


# JSON


def _json_licences(data: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    entries = data.get("licenses")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping):
            continue
        expression = _text(entry.get("expression"))
        licence = entry.get("license")
        if expression is not None:
            found.append(expression)
        elif isinstance(licence, Mapping):
            named = _text(licence.get("id")) or _text(licence.get("name"))
            if named is not None:
                found.append(named)
    return tuple(found)


def _json_component(data: Any) -> Component | None:
    if not isinstance(data, Mapping) or _text(data.get("name")) is None:
        return None
    group = _text(data.get("group"))
    name = str(_text(data.get("name")))
    return Component(
        name=f"{group}/{name}" if group else name,
        version=_text(data.get("version")),
        purl=_text(data.get("purl")),
        licences=_json_licences(data),
        copyright=_text(data.get("copyright")),
    )


def _json_children(data: Any) -> list[Any]:
    nested = data.get("components") if isinstance(data, Mapping) else None
    return nested if isinstance(nested, list) else []


def _json_problem(data: Any, text: str, spec: str) -> str | None:
    """`line N: path: what` of the first schema violation (the line only on this error path)."""
    found = json_schema_problem(data, spec)
    if found is None:
        return None
    message, path = found
    where = f"{'/'.join(str(p) for p in path) or '(document)'}: {message}"
    line = line_at(text, path)
    return f"line {line}: {where}"[:500] if line is not None else where[:500]


def _parse_json(raw: bytes, source: str, validate: bool) -> Sbom:
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as e:
        raise InputError(f"{source}: not UTF-8 text, expected a CycloneDX JSON or XML SBOM") from e
    except json.JSONDecodeError as e:
        raise InputError(
            f"{source}:{e.lineno}: not valid JSON ({e.msg}); expected a CycloneDX JSON SBOM"
        ) from e
    except RecursionError as e:
        raise InputError(f"{source}: JSON nested too deeply to be an SBOM") from e
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise InputError(f'{source}: not a CycloneDX SBOM (no "bomFormat": "CycloneDX")')
    spec = data.get("specVersion")
    if spec not in JSON_SPEC_VERSIONS:
        raise InputError(
            f"{source}: unsupported CycloneDX JSON specVersion {spec!r} "
            f"(supported: {', '.join(JSON_SPEC_VERSIONS)})"
        )
    metadata = data.get("metadata")
    return Sbom(
        source=source,
        format="json",
        spec_version=spec,
        components=tuple(_walk(_json_children(data), _json_component, _json_children)),
        root=_json_component(metadata.get("component")) if isinstance(metadata, Mapping) else None,
        problem=_json_problem(data, text, spec) if validate else None,
        digest=hashlib.sha256(raw).hexdigest(),
        raw=raw,
    )


# XML


class _XmlReader:
    """Reads elements of one CycloneDX namespace (`http://cyclonedx.org/schema/bom/1.5`)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def child(self, element: Element, name: str) -> Element | None:
        return element.find(f"{{{self.namespace}}}{name}")

    def children(self, element: Element | None, name: str) -> list[Element]:
        return [] if element is None else element.findall(f"{{{self.namespace}}}{name}")

    def text(self, element: Element, name: str) -> str | None:
        found = self.child(element, name)
        return None if found is None else _text(found.text)

    def licences(self, element: Element) -> tuple[str, ...]:
        found: list[str] = []
        for entry in list(self.child(element, "licenses") or ()):
            if entry.tag == f"{{{self.namespace}}}expression":
                named = _text(entry.text)
            elif entry.tag == f"{{{self.namespace}}}license":
                named = self.text(entry, "id") or self.text(entry, "name")
            else:
                continue
            if named is not None:
                found.append(named)
        return tuple(found)

    def component(self, element: Element) -> Component | None:
        name = self.text(element, "name")
        if name is None:
            return None
        group = self.text(element, "group")
        return Component(
            name=f"{group}/{name}" if group else name,
            version=self.text(element, "version"),
            purl=self.text(element, "purl"),
            licences=self.licences(element),
            copyright=self.text(element, "copyright"),
        )

    def nested(self, element: Element) -> list[Element]:
        return self.children(self.child(element, "components"), "component")


def _parse_xml(raw: bytes, source: str, validate: bool) -> Sbom:
    try:
        # defusedxml refuses entity declarations and external references: no expansion bombs,
        # no file or network reads from a hostile document.
        root = defusedxml.ElementTree.fromstring(raw)
    except defusedxml.DefusedXmlException as e:
        raise InputError(f"{source}: XML entities and external references are not accepted ({e})") from e
    except defusedxml.ElementTree.ParseError as e:
        line = e.position[0]
        raise InputError(f"{source}:{line}: not well-formed XML ({e}); expected a CycloneDX SBOM") from e
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if local != "bom" or not namespace.startswith(_XML_NAMESPACE):
        raise InputError(
            f'{source}: not a CycloneDX SBOM (the root is not <bom xmlns="{_XML_NAMESPACE}1.x">)'
        )
    spec = namespace.removeprefix(_XML_NAMESPACE)
    if spec not in XML_SPEC_VERSIONS:
        raise InputError(
            f"{source}: unsupported CycloneDX XML namespace {namespace!r} "
            f"(supported: {', '.join(XML_SPEC_VERSIONS)})"
        )
    reader = _XmlReader(namespace)
    metadata = reader.child(root, "metadata")
    described = None if metadata is None else reader.child(metadata, "component")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:  # the library's validator, and the released artefact, need it
        raise InputError(f"{source}: not UTF-8 text; CycloneDX XML SBOMs are read in UTF-8") from e
    return Sbom(
        source=source,
        format="xml",
        spec_version=spec,
        components=tuple(_walk(reader.nested(root), reader.component, reader.nested)),
        root=None if described is None else reader.component(described),
        problem=xml_schema_problem(text, spec) if validate else None,
        digest=hashlib.sha256(raw).hexdigest(),
        raw=raw,
    )


MAX_SBOM_BYTES = 256 * 1024 * 1024
"""Larger than any real SBOM; parsing and validating this much takes minutes and a few GiB."""


def read_sbom_bytes(path: Path) -> bytes:
    """A regular file of at most MAX_SBOM_BYTES (never a FIFO or a device: bounded time and memory)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError(f"{path}: not a regular file")
            raw = fh.read(MAX_SBOM_BYTES + 1)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
    if len(raw) > MAX_SBOM_BYTES:
        raise InputError(f"{path}: larger than {MAX_SBOM_BYTES} bytes, too large for an SBOM")
    return raw


def parse_sbom(raw: bytes, source: str, validate: bool = True) -> Sbom:
    """The SBOM in `raw`, CycloneDX JSON or XML; `source` names it in errors (a path, or the
    generator's name). `validate=False` skips the schema check (seconds on a large SBOM) for a
    reader that needs only the components."""
    start = raw.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    return _parse_xml(raw, source, validate) if start == b"<" else _parse_json(raw, source, validate)
