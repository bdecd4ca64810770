"""Loading a CycloneDX JSON SBOM: parsed, validated against the CycloneDX schema with
cyclonedx-python-lib, and reduced to the few fields the gates judge.

A file that is not a CycloneDX JSON document at all is an InputError (exit 2): nothing can be said
about it. A CycloneDX document that breaks its schema is read anyway, tolerantly, and carries the
first schema error in `problem`, so that the sbom gate can report it as a finding.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from gates.errors import InputError


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
    spec_version: str
    components: tuple[Component, ...]
    root: Component | None
    """The component the SBOM describes (metadata.component): the project itself."""
    problem: str | None
    """The first CycloneDX schema violation, or None for a valid SBOM."""
    digest: str
    raw: bytes


@cache
def _validator(spec_version: str) -> JsonStrictValidator:
    return JsonStrictValidator(SchemaVersion.from_version(spec_version))


def _schema_problem(text: str, spec_version: str) -> str | None:
    error = _validator(spec_version).validate_str(text)
    if error is None:
        return None
    detail = error.data  # the jsonschema ValidationError; its str() dumps the whole schema
    where = "/".join(str(p) for p in getattr(detail, "absolute_path", ()))
    message = getattr(detail, "message", str(detail))
    return f"{where or '(document)'}: {message}"[:500]


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _licences(data: Mapping[str, Any]) -> tuple[str, ...]:
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


def _component(data: Any) -> Component | None:
    if not isinstance(data, Mapping) or _text(data.get("name")) is None:
        return None
    group = _text(data.get("group"))
    name = str(_text(data.get("name")))
    return Component(
        name=f"{group}/{name}" if group else name,
        version=_text(data.get("version")),
        purl=_text(data.get("purl")),
        licences=_licences(data),
        copyright=_text(data.get("copyright")),
    )


def _walk(items: Any) -> Iterator[Component]:
    """Components, including those nested in other components, in document order."""
    for item in items if isinstance(items, list) else ():
        component = _component(item)
        if component is not None:
            yield component
        if isinstance(item, Mapping):
            yield from _walk(item.get("components"))


def parse_sbom(raw: bytes, source: str) -> Sbom:
    """The SBOM in `raw`; `source` names it in errors (a path, or the generator's name)."""
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as e:
        raise InputError(f"{source}: not UTF-8 text, expected a CycloneDX JSON SBOM") from e
    except json.JSONDecodeError as e:
        raise InputError(
            f"{source}:{e.lineno}: not valid JSON ({e.msg}); expected a CycloneDX JSON SBOM"
        ) from e
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise InputError(f'{source}: not a CycloneDX SBOM (no "bomFormat": "CycloneDX")')
    spec = data.get("specVersion")
    supported = [v.to_version() for v in SchemaVersion]
    if spec not in supported:
        raise InputError(
            f"{source}: unsupported CycloneDX specVersion {spec!r} (supported: {', '.join(supported)})"
        )
    metadata = data.get("metadata")
    return Sbom(
        source=source,
        spec_version=spec,
        components=tuple(_walk(data.get("components"))),
        root=_component(metadata.get("component")) if isinstance(metadata, Mapping) else None,
        problem=_schema_problem(text, spec),
        digest=hashlib.sha256(raw).hexdigest(),
        raw=raw,
    )
