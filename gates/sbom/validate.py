"""CycloneDX schema validation with cyclonedx-python-lib's own validators, as strict as the library:
the strict JSON schema with every format check jsonschema has, the XML schema through lxml.

The JSON schema's `url` fields have the `iri-reference` format. jsonschema checks it with
rfc3987-syntax, when that is installed and importable, at about 0.1 s per URL; gates checks it with
gates.sbom.iri instead, which accepts exactly the same strings in linear time, so a large SBOM is
validated in bounded time and the command line, which skips importing rfc3987-syntax to start fast,
is as strict as the library. The validators are imported on the first validation, not at start-up.

Two of jsonschema's keywords cost more than linear time on the library's schema, and only they are
replaced, by checks that accept exactly the same documents: `uniqueItems` (on `components`,
`dependencies` and the like) compares every pair of items when they cannot be sorted, which JSON
objects cannot (5 s for juice-shop's 840 components, hours for a hostile 100,000), and is checked
here with a hash set of each item's canonical form; `enum` compares a string with each of the
SPDX list's 700 ids in turn, and is checked here with a set.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Iterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from gates.sbom import iri

if TYPE_CHECKING:
    from cyclonedx.validation.xml import XmlValidator
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

_lock = threading.Lock()
_NAMESPACE = re.compile(r"\{http://cyclonedx\.org/schema/bom/[0-9.]+\}")


_TRUE, _FALSE = object(), object()  # jsonschema's equality keeps true and false apart from 1 and 0


def _canonical(value: Any) -> Hashable:
    """A hashable form two JSON values share exactly when jsonschema's `equal` holds for them:
    strings, numbers (1 and 1.0 alike), booleans, null, arrays in order, objects in any order."""
    if value is True or value is False:
        return _TRUE if value else _FALSE
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, Mapping):
        return frozenset((key, _canonical(item)) for key, item in value.items())
    if isinstance(value, Sequence):
        return ("a", *(_canonical(item) for item in value))
    return ("v", value)


def _unique_items(
    validator: Validator, unique: bool, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    from jsonschema.exceptions import ValidationError

    if not unique or not validator.is_type(instance, "array"):
        return
    seen: dict[Hashable, int] = {}
    for index, item in enumerate(instance):
        first = seen.setdefault(_canonical(item), index)
        if first != index:
            yield ValidationError(f"has non-unique elements: item {index} repeats item {first}")
            return


_string_enums: dict[int, tuple[Sequence[Any], frozenset[str]]] = {}


def _enum(
    validator: Validator, enums: Sequence[Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    from jsonschema import Draft7Validator

    if isinstance(instance, str):  # a string equals only the same string (jsonschema's `equal`)
        known = _string_enums.get(id(enums))
        if known is None or known[0] is not enums:
            known = _string_enums[id(enums)] = (enums, frozenset(e for e in enums if isinstance(e, str)))
        if instance in known[1]:
            return
    yield from Draft7Validator.VALIDATORS["enum"](validator, enums, instance, schema)


@cache
def _json_validator(spec_version: str) -> Validator:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from jsonschema import Draft7Validator, validators

    # the format checker the library's JSON validators use (Draft 7's): the IRI checks it has, or
    # lacks when rfc3987-syntax is not importable, are replaced by the equivalent linear ones
    checker = Draft7Validator.FORMAT_CHECKER
    checker.checks("iri", raises=ValueError)(iri.is_iri)
    checker.checks("iri-reference", raises=ValueError)(iri.is_iri_reference)
    library: Any = JsonStrictValidator(SchemaVersion.from_version(spec_version))._validator
    keywords = {"uniqueItems": _unique_items, "enum": _enum}
    linear = validators.extend(Draft7Validator, keywords)  # type: ignore[no-untyped-call]
    # the library's schema, registry of referenced schemas and format checker, unchanged
    validator: Validator = linear(library.schema, registry=library._registry, format_checker=checker)
    return validator


@cache
def _xml_validator(spec_version: str) -> XmlValidator:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    return XmlValidator(SchemaVersion.from_version(spec_version))


def json_schema_problem(data: Any, spec_version: str) -> tuple[str, tuple[str | int, ...]] | None:
    """The first violation of the CycloneDX `spec_version` JSON schema in the parsed document, with
    the path to the value that breaks it, or None for a valid document."""
    try:
        with _lock:  # the library builds its schema validators lazily, without a lock of its own
            error = next(_json_validator(spec_version).iter_errors(data), None)
    except RecursionError:
        return "nested too deeply to be validated", ()
    if error is None:
        return None
    return error.message[:500], tuple(error.absolute_path)


def xml_schema_problem(text: str, spec_version: str) -> str | None:
    """The first violation of the CycloneDX `spec_version` XML schema, `line N: what`, or None."""
    try:
        with _lock:
            error = _xml_validator(spec_version).validate_str(text)
    except SyntaxError as e:  # lxml's parser refuses what expat read, e.g. elements 2048 deep
        return f"line {e.lineno}: {e.msg}"[:500]
    if error is None:
        return None
    detail = error.data  # an lxml log entry; element names without their CycloneDX namespace
    message = _NAMESPACE.sub("", str(getattr(detail, "message", detail)))
    return f"line {getattr(detail, 'line', 0)}: {message}"[:500]
