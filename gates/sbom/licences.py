"""Licence expressions, normalised with license-expression against the ScanCode licence database it
ships, which also gives every licence a category (Permissive, Copyleft, Copyleft Limited, ...).

Judging an expression is three-valued: each licence is allowed, denied or unknown. A choice
(`MIT OR GPL-3.0-only`) is allowed when one branch is; a conjunction needs every part allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import license_expression as le  # type: ignore[import-untyped]  # ships no type information

CATEGORIES = (
    "CLA",
    "Commercial",
    "Copyleft",
    "Copyleft Limited",
    "Free Restricted",
    "Patent License",
    "Permissive",
    "Proprietary Free",
    "Public Domain",
    "Source-available",
    "Unstated License",
)


@cache
def _licensing() -> le.Licensing:
    return le.get_spdx_licensing()


@cache
def _categories() -> dict[str, str]:
    """SPDX key (and its deprecated aliases), lowercased -> ScanCode category."""
    table: dict[str, str] = {}
    for entry in le.get_license_index():
        for key in [entry.get("spdx_license_key"), *entry.get("other_spdx_license_keys", [])]:
            if key:
                table.setdefault(key.lower(), entry["category"])
    return table


def category(key: str) -> str | None:
    return _categories().get(key.lower())


@dataclass(frozen=True)
class Normalised:
    expression: str | None
    """The SPDX expression; several licences in one component are joined with AND."""
    error: str | None = None


def normalise(licences: Sequence[str]) -> Normalised:
    """One SPDX expression for a component's declared licences (ids, expressions or names)."""
    if not licences:
        return Normalised(None, "names no licence")
    joined = " AND ".join(f"({text})" if len(licences) > 1 else text for text in licences)
    try:
        parsed = _licensing().parse(joined, validate=False)
    except le.ExpressionError as e:
        return Normalised(None, f"cannot parse licence {joined!r}: {e}")
    return Normalised(str(parsed)) if parsed is not None else Normalised(None, "names no licence")


@dataclass(frozen=True)
class Judgement:
    outcome: str
    """allow, deny or unknown."""
    rule: str = ""
    reason: str = ""


KeyJudge = Callable[[str], Judgement]
_ALLOW = Judgement("allow")


def keys(expression: str) -> list[str]:
    return [str(k) for k in _licensing().license_keys(_licensing().parse(expression))]


def judge(expression: str, judge_key: KeyJudge) -> Judgement:
    """The judgement of a normalised expression, from the judgement of each licence in it."""
    licensing = _licensing()
    return _judge(licensing.parse(expression), judge_key, licensing)


def _judge(node: object, judge_key: KeyJudge, licensing: le.Licensing) -> Judgement:
    if isinstance(node, le.LicenseWithExceptionSymbol):
        return judge_key(str(node.license_symbol.key))
    if isinstance(node, le.LicenseSymbol):
        return judge_key(str(node.key))
    parts = [_judge(arg, judge_key, licensing) for arg in getattr(node, "args", ())]
    denied = [p for p in parts if p.outcome == "deny"]
    unknown = [p for p in parts if p.outcome == "unknown"]
    if isinstance(node, licensing.OR):
        if any(p.outcome == "allow" for p in parts):
            return _ALLOW
        if unknown:
            return unknown[0]
        return Judgement("deny", denied[0].rule, "; ".join(p.reason for p in denied))
    if denied:  # AND
        return denied[0]
    return unknown[0] if unknown else _ALLOW
