"""Licence expressions, normalised with license-expression against the ScanCode licence database
it ships, which also gives every licence a category (Permissive, Copyleft, Copyleft Limited, ...).

Each licence a component declares is resolved on its own (gates.sbom.licence_names): SPDX ids and
expressions, licence names and trove classifiers. A declared licence no source knows does not make
the others unknown: the component is judged by those that are known, and the unrecognised text is
kept beside them. Judging an expression is three-valued: each licence is allowed, denied or unknown.
A choice (`MIT OR GPL-3.0-only`) is allowed when one branch is; a conjunction needs every part
allowed, and the licences a component declares are a conjunction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import license_expression as le  # type: ignore[import-untyped]  # ships no type information

from gates.sbom.licence_names import categories, licensing, resolve


def category(key: str) -> str | None:
    return categories().get(key.lower())


@dataclass(frozen=True)
class Normalised:
    expression: str | None
    """The SPDX expression of the declared licences that are known, joined with AND."""
    unrecognised: tuple[str, ...] = ()
    """Declared licences no source knows, as declared."""
    error: str | None = None
    """Why there is no expression: no licence declared, or none known."""


def normalise(declared: Sequence[str]) -> Normalised:
    """One SPDX expression for a component's declared licences (ids, expressions or names)."""
    if not declared:
        return Normalised(None, (), "names no licence")
    resolved = {text: resolve(text) for text in declared}
    known = [expression for expression in resolved.values() if expression is not None]
    unrecognised = tuple(text for text, expression in resolved.items() if expression is None)
    if not known:
        names = ", ".join(f"`{text}`" for text in unrecognised)  # quotes would be masked
        return Normalised(
            None, unrecognised, f"{names} {'is' if len(unrecognised) == 1 else 'are'} not a known licence"
        )
    joined = " AND ".join(f"({k})" for k in known) if len(known) > 1 else known[0]
    return Normalised(str(licensing().parse(joined)), unrecognised)


@dataclass(frozen=True)
class Coverage:
    components: int
    declaring: int
    """Components that declare a licence."""
    known: int
    """Of those, the components whose licence has a category (see `known`)."""

    @property
    def share(self) -> float:
        """The share of declaring components with a known licence (1.0 when none declares one)."""
        return self.known / self.declaring if self.declaring else 1.0


def coverage(declared: Sequence[Sequence[str]]) -> Coverage:
    """How many of the components (each given by its declared licences) can be judged."""
    expressions = [normalise(texts).expression for texts in declared if texts]
    return Coverage(len(declared), len(expressions), sum(1 for e in expressions if e and known(e)))


def categories_of(expression: str) -> list[str]:
    """The categories of the licences in `expression`, sorted; unknown licences have none."""
    return sorted({c for k in keys(expression) if (c := category(k)) is not None})


@dataclass(frozen=True)
class Judgement:
    outcome: str
    """allow, deny or unknown."""
    rule: str = ""
    reason: str = ""


KeyJudge = Callable[[str], Judgement]
_ALLOW = Judgement("allow")


def keys(expression: str) -> list[str]:
    return [str(k) for k in licensing().license_keys(licensing().parse(expression))]


def judge(expression: str, judge_key: KeyJudge) -> Judgement:
    """The judgement of a normalised expression, from the judgement of each licence in it."""
    return _judge(licensing().parse(expression), judge_key, licensing())


def known(expression: str) -> bool:
    """Whether every licence the expression needs has a category: what the licence gate can judge
    without an `unknown` finding whatever the allow and deny lists say."""
    return judge(expression, lambda key: _ALLOW if category(key) else Judgement("unknown")).outcome == "allow"


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
