"""CycloneDX schema validation with cyclonedx-python-lib's own validators, as strict as the library:
the strict JSON schema with every format check jsonschema has, the XML schema through lxml.

The JSON schema's `url` fields have the `iri-reference` format. jsonschema checks it with
rfc3987-syntax, when that is installed and importable, at about 0.1 s per URL; gates checks it with
gates.sbom.iri instead, which accepts exactly the same strings in linear time, so a large SBOM is
validated in bounded time and the command line, which skips importing rfc3987-syntax to start fast,
is as strict as the library. The validators are imported on the first validation, not at start-up.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import TYPE_CHECKING, Literal

from gates.sbom import iri

if TYPE_CHECKING:
    from cyclonedx.validation import SchemabasedValidator

_lock = threading.Lock()
_NAMESPACE = re.compile(r"\{http://cyclonedx\.org/schema/bom/[0-9.]+\}")


@cache
def _validator(kind: Literal["json", "xml"], spec_version: str) -> SchemabasedValidator:
    from cyclonedx.schema import SchemaVersion

    version = SchemaVersion.from_version(spec_version)
    if kind == "xml":
        from cyclonedx.validation.xml import XmlValidator

        return XmlValidator(version)
    from cyclonedx.validation.json import JsonStrictValidator
    from jsonschema import Draft7Validator

    # the format checker the library's JSON validators use (Draft 7's): the IRI checks it has, or
    # lacks when rfc3987-syntax is not importable, are replaced by the equivalent linear ones
    checker = Draft7Validator.FORMAT_CHECKER
    checker.checks("iri", raises=ValueError)(iri.is_iri)
    checker.checks("iri-reference", raises=ValueError)(iri.is_iri_reference)
    return JsonStrictValidator(version)


def schema_problem(text: str, kind: Literal["json", "xml"], spec_version: str) -> str | None:
    """The first violation of the CycloneDX `spec_version` schema, or None for a valid document."""
    try:
        with _lock:  # the library builds its schema validators lazily, without a lock of its own
            error = _validator(kind, spec_version).validate_str(text)
    except RecursionError:
        return "(document): nested too deeply to be validated"
    except SyntaxError as e:  # lxml's parser refuses what expat read, e.g. elements 2048 deep
        return f"line {e.lineno}: {e.msg}"[:500]
    if error is None:
        return None
    detail = error.data
    if kind == "xml":  # an lxml log entry; element names without their CycloneDX namespace
        message = _NAMESPACE.sub("", str(getattr(detail, "message", detail)))
        return f"line {getattr(detail, 'line', 0)}: {message}"[:500]
    # a jsonschema ValidationError, whose str() dumps the whole schema
    where = "/".join(str(p) for p in getattr(detail, "absolute_path", ()))
    message = getattr(detail, "message", str(detail))
    return f"{where or '(document)'}: {message}"[:500]
