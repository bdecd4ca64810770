"""From what an SBOM or a package's metadata declares to an SPDX expression the licence database knows.

A declared licence is an SPDX id, an SPDX expression, a free-text name (`GNU Lesser General Public
License, Version 2.1`, `ALv2`) or a Python trove classifier (`License :: OSI Approved :: BSD
License`). Names are looked up, in this order of trust, in:

1. the reviewed table (gates.sbom.licence_table), for what the sources below miss or get wrong;
2. the SPDX ids and their aliases in the ScanCode licence database license-expression ships;
3. the full names of the SPDX licence list cyclonedx-python-lib ships (`Common Development and
   Distribution License 1.0`), also without their trailing "only" and leading "GNU";
4. the ScanCode keys of that database (`public-domain`, `bsd-new`).

Lookups compare words(): case, punctuation, "the", "license"/"licence", "version"/"v" and trailing
".0" do not matter. A name two sources of one rank give to licences of different categories is
ambiguous and left out.

Words inside a name never become operators: a text is first looked up whole, then read as an SPDX
expression only if every symbol in it is an SPDX id (or LicenseRef), and only then split at "or",
"and" or "/" when every part is a known name (`MPL 2.0 or EPL 1.0` is a choice of two licences;
`Common Development and Distribution License` is one name).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import license_expression as le  # type: ignore[import-untyped]  # ships no type information

from gates.sbom import licence_table

_SPDX_TOKEN = re.compile(
    r"^(?:(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+|[A-Za-z0-9.\-]+\+?)$"
)
_OPERATOR = re.compile(r"^(?:AND|OR|WITH)$", re.IGNORECASE)
_PARENTHESISED = re.compile(r"\((?!\s*v?\d[\d.]*\s*\))[^()]*\)")  # "(CDDL)", "(LGPLv3)", "(http://...)"
_SPLIT = [
    (re.compile(r"\s+or\s+|\s*/\s*", re.IGNORECASE), " OR "),
    (re.compile(r"\s+and\s+|\s*&\s*", re.IGNORECASE), " AND "),
]
_NOISE = re.compile(r"\blicen[cs]e[ds]?\b|\bthe\b|[^a-z0-9.+]+")
_GLUED_VERSION = re.compile(r"([a-z])v?(\d)")  # gplv2, apache2
_VERSION_WORD = re.compile(r"\b(?:version|ver|v)\s*\.?\s*(?=\d)")
_ZEROS = re.compile(r"(\d)(?:\.0)+(?!\.?\d)")  # 2.0 -> 2, 2.0.0 -> 2, but 2.01 stays
_OR_LATER = re.compile(r"\s*,?\s*\bor\s+(?:\(at\s+your\s+option\)\s+)?(?:any\s+)?later(?:\s+version)?\b")
_DETACHED_PLUS = re.compile(r"\s+\+")
_FULL_STOP = re.compile(r"\.(?!\d)|(?<!\d)\.")  # full stops that are not decimal points


def words(text: str) -> str:
    """The words of a licence name that tell it apart: `The Apache License, Version 2.0` and
    `apache-2` are both `apache 2`; `GPL v2 or later` and `GPL-2.0+` are both `gpl 2+`."""
    t = _OR_LATER.sub("+", _PARENTHESISED.sub(" ", text.casefold()))
    t = _NOISE.sub(" ", t)
    t = _ZEROS.sub(r"\1", _VERSION_WORD.sub(" ", _GLUED_VERSION.sub(r"\1 \2", t)))
    return _DETACHED_PLUS.sub("+", " ".join(_FULL_STOP.sub(" ", t).split()))


@cache
def _license_index() -> list[dict[str, Any]]:
    return list(le.get_license_index())


@cache
def _built_licensing() -> le.Licensing:
    built = le.get_spdx_licensing()
    # license-expression publishes its tokenizer before filling it: a gate thread parsing while
    # another builds it crashed. Build it here, once, under the lock.
    built.get_advanced_tokenizer()
    return built


_licensing_lock = threading.Lock()


def licensing() -> le.Licensing:
    with _licensing_lock:
        return _built_licensing()


@cache
def categories() -> dict[str, str]:
    """SPDX key (and its aliases), lowercased -> ScanCode category."""
    table: dict[str, str] = {}
    for entry in _license_index():
        for key in [entry.get("spdx_license_key"), *entry.get("other_spdx_license_keys", [])]:
            if key:
                table.setdefault(key.lower(), entry["category"])
    return table


def _spdx_names() -> Iterator[tuple[str, str]]:
    """(full name, SPDX id) of the SPDX licence list cyclonedx-python-lib validates against."""
    schema = resources.files("cyclonedx.schema._res").joinpath("spdx.SNAPSHOT.schema.json")
    names: dict[str, str] = json.loads(schema.read_text(encoding="utf-8")).get("meta:enum", {})
    for key, name in names.items():
        yield name, key
        variant = re.sub(r"\s+only$", "", name)
        yield variant, key
        yield re.sub(r"^GNU\s+", "", variant), key


def _ranks() -> Iterator[list[tuple[str, str]]]:
    """(name, SPDX expression) pairs, most trusted source first."""
    yield list(licence_table.NAMES.items())
    ids = []
    for entry in _license_index():
        key = entry.get("spdx_license_key")
        if key and not entry.get("is_exception"):
            ids += [(key, key)] + [(alias, key) for alias in entry.get("other_spdx_license_keys", [])]
    yield ids
    yield list(_spdx_names())
    yield [
        (entry["license_key"], entry["spdx_license_key"])
        for entry in _license_index()
        if entry.get("spdx_license_key") and not entry.get("is_exception")
    ]


def _category_of(expression: str) -> frozenset[str | None]:
    if expression.lower() in categories():
        return frozenset([categories()[expression.lower()]])
    symbols = licensing().license_symbols(licensing().parse(expression), decompose=True)
    return frozenset(categories().get(str(s.key).lower()) for s in symbols)


@cache
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for rank in _ranks():
        found: dict[str, str] = {}
        ambiguous: set[str] = set()
        for name, expression in rank:
            key = words(name)
            if not key or key in index:
                continue
            if key in found and found[key] != expression:
                if _category_of(found[key]) != _category_of(expression):
                    ambiguous.add(key)
                continue
            found[key] = expression
        index.update((k, v) for k, v in found.items() if k not in ambiguous)
    return index


def _known(key: str) -> bool:
    return key.lower() in categories()


def _lookup(name: str) -> str | None:
    text = name.strip()
    for prefix in licence_table.CLASSIFIER_PREFIXES:
        if text.startswith(prefix):
            text = text.removeprefix(prefix)
            break
    return _index().get(words(text))


def _as_spdx_expression(text: str) -> str | None:
    """`text` as an SPDX expression, if it is written as one: every symbol an SPDX id or a
    LicenseRef. Unknown ids a name lookup finds (`Apache2`) are replaced by their key."""
    tokens = re.sub(r"[()]", " ", text).split()
    if not tokens or not all(_SPDX_TOKEN.match(t) or _OPERATOR.match(t) for t in tokens):
        return None
    try:
        parsed = licensing().parse(text, validate=False)
    except le.ExpressionError:
        return None
    if parsed is None:
        return None
    symbols = licensing().license_symbols(parsed, decompose=True)
    if not all(_SPDX_TOKEN.match(str(s.key)) for s in symbols):  # `MPL 2.0` read as one symbol
        return None
    if all(_known(str(s.key)) or str(s.key).startswith(("LicenseRef-", "DocumentRef-")) for s in symbols):
        return str(parsed)
    renamed = {str(s.key): _lookup(str(s.key)) for s in symbols if not _known(str(s.key))}
    if all(name is None for name in renamed.values()) and len(renamed) == len(symbols):
        return None  # not one licence in it is known: a name, or nothing we can read
    # ids a name lookup finds are replaced; those it does not stay, to be judged unknown
    pieces = re.split(r"(\s+|[()])", text)
    return "".join(f"({renamed[p]})" if renamed.get(p) else p for p in pieces)


def _whole(text: str) -> str | None:
    return _lookup(text) or _as_spdx_expression(text)


@cache
def resolve(declared: str) -> str | None:
    """The SPDX expression `declared` stands for (with license-expression's current ids), or None
    when no source knows it."""
    found = _whole(declared)
    for separator, operator in _SPLIT:
        if found is not None:
            break
        parts = [_whole(p) for p in separator.split(declared)]
        if len(parts) > 1 and all(parts):
            found = operator.join(f"({p})" for p in parts)
    return None if found is None else str(licensing().parse(found))
