"""What a PII scan is asked to do, in a picklable form (it is sent to worker processes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CustomRecognizer:
    name: str
    entity: str
    regex: str
    score: float
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanConfig:
    entities: tuple[str, ...]
    min_scores: Mapping[str, float]
    """Entity -> minimum score; every entity of `entities` has one."""
    recognizers: tuple[CustomRecognizer, ...] = ()
    allow_values: frozenset[str] = frozenset()
    allow_regexes: tuple[str, ...] = ()
    documentation_examples: bool = True
    spacy_model: str | None = None
    salt: str = ""
    precision: str = "repository"
    """`repository`: gates.pii.precision's rules drop what is not personal data in a source tree;
    `presidio`: exactly what Presidio's recognizers report."""

    @property
    def threshold(self) -> float:
        return min(self.min_scores.values())


INLINE_MARKER = "pragma: allowlist pii"
"""Marks a line whose values are reviewed test or sample data (like detect-secrets' marker)."""


@dataclass(frozen=True)
class Hit:
    """One detected value, already masked: the raw value never leaves the scanning process."""

    path: str
    entity: str
    start: int
    end: int
    line: int
    score: float
    preview: str
    value_hash: str
    marked: bool = False
    """The line carries INLINE_MARKER: a reviewed exception, honoured when the policy allows."""
    not_personal: str = ""
    """The precision rule that finds the value not personal data (gates.pii.precision), if any."""
