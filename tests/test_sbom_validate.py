"""CycloneDX JSON validation: exactly as strict as cyclonedx-python-lib's validator, in linear time."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from gates.sbom.read import parse_sbom
from gates.sbom.validate import _canonical, json_schema_problem
from gates.util.jsonfile import line_at
from tests.conftest import SHARED_BOMS, needs_shared_boms


def _library_accepts(document: dict[str, Any]) -> bool:
    json_schema_problem(document, document["specVersion"])  # the same (linear) IRI checks for both
    validator = JsonStrictValidator(SchemaVersion.from_version(document["specVersion"]))
    return validator.validate_str(json.dumps(document)) is None


def _gates_accepts(document: dict[str, Any]) -> bool:
    return json_schema_problem(document, document["specVersion"]) is None


def _component(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "library", "name": name, "version": "1", "bom-ref": name, **extra}


def _bom(*components: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": list(components),
        **extra,
    }


def _reordered(component: dict[str, Any]) -> dict[str, Any]:
    return dict(reversed(list(component.items())))


DOCUMENTS: dict[str, dict[str, Any]] = {
    "valid": _bom(_component("a"), _component("b")),
    "one component twice": _bom(_component("a"), _component("b"), _component("a")),
    "twice, keys in another order": _bom(_component("a"), _reordered(_component("a"))),
    "equal but for one nested value": _bom(
        _component("a", hashes=[{"alg": "SHA-1", "content": "a" * 40}]),
        _component("a", hashes=[{"alg": "SHA-1", "content": "b" * 40}]),
    ),
    "a property listed twice": _bom(
        _component("a", properties=[{"name": "p", "value": "1"}, {"name": "p", "value": "1"}])
    ),
    "a known SPDX id": _bom(_component("a", licenses=[{"license": {"id": "Apache-2.0"}}])),
    "an unknown SPDX id": _bom(_component("a", licenses=[{"license": {"id": "Apache-2"}}])),
    "an SPDX id of another case": _bom(_component("a", licenses=[{"license": {"id": "apache-2.0"}}])),
    "a number for an SPDX id": _bom(_component("a", licenses=[{"license": {"id": 2}}])),
    "an unknown component type": _bom({**_component("a"), "type": "gadget"}),
    "dependencies listed twice": _bom(
        _component("a"),
        _component("b"),
        dependencies=[{"ref": "a", "dependsOn": ["b"]}, {"ref": "a", "dependsOn": ["b"]}],
    ),
    "a dependency named twice": _bom(
        _component("a"), _component("b"), dependencies=[{"ref": "a", "dependsOn": ["b", "b"]}]
    ),
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_same_documents_are_valid_as_for_the_library(name: str) -> None:
    document = DOCUMENTS[name]
    assert _gates_accepts(document) == _library_accepts(document), name


def test_uniqueness_follows_json_equality_not_python_equality() -> None:
    """jsonschema's `equal`: 1 and 1.0 are one number, true and 1 are not, key order does not matter."""
    for first, second in [
        (1, 1.0),
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}),
        (None, None),
        ([{"x": True}], [{"x": True}]),
    ]:
        assert _canonical(first) == _canonical(second), (first, second)
    for first, second in [(True, 1), (False, 0), ([1, 2], [2, 1]), ("1", 1), ({"a": 1}, {"a": 1, "b": 1})]:
        assert _canonical(first) != _canonical(second), (first, second)


@needs_shared_boms
@pytest.mark.parametrize("path", sorted(SHARED_BOMS.glob("*.cdx.json")) if SHARED_BOMS.is_dir() else [])
def test_real_sboms_validate_as_with_the_library(path: Path) -> None:
    document = json.loads(path.read_bytes())
    assert _gates_accepts(document) and _library_accepts(document)
    twice = copy.deepcopy(document)
    twice["components"].append(copy.deepcopy(twice["components"][len(twice["components"]) // 2]))
    assert not _gates_accepts(twice) and not _library_accepts(twice)


def test_a_hostile_sbom_with_many_equal_components_is_judged_in_linear_time() -> None:
    """20,000 components: pairwise comparison takes minutes (benchmarks/sbom_validation.py); the
    problem names both items and the line of the array."""
    components = [_component(f"c{i}") for i in range(20_000)] + [_component("c7")]
    text = json.dumps(_bom(*components), indent=1)
    problem = parse_sbom(text.encode(), "bom.json").problem
    assert problem == "line 5: components: has non-unique elements: item 20000 repeats item 7"


def test_a_schema_problem_names_its_line() -> None:
    document = _bom(_component("a"), _component("b", licenses=[{"license": {"id": "Apache-2"}}]))
    text = json.dumps(document, indent=2)
    problem = parse_sbom(text.encode(), "bom.json").problem
    line = text.splitlines().index('      "licenses": [') + 1
    assert problem == (
        f"line {line}: components/1/licenses: [{{'license': {{'id': 'Apache-2'}}}}] "
        "is not valid under any of the given schemas"
    )


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ('{"a": 1,\n "b": [1,\n  {"c": 2}]}', ["b", 1, "c"], 3),
        ('{"a": 1,\n "a": 2}', ["a"], 2),  # the last of duplicate keys, the one json.loads keeps
        ('[\n1,\n"x,]",\n3]', [2], 4),
        ('{"a": {}}', ["b"], None),
        ('{"a": [1]}', ["a", 3], None),
        ('{"a": [1]}', ["a", "b"], None),
        ("[1]", [], 1),
    ],
)
def test_the_line_of_a_json_value(text: str, path: list[str | int], line: int | None) -> None:
    assert line_at(text, path) == line
