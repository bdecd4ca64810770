"""The scan's configuration from the gate's policy settings (gates.plugins.pii documents them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gates.pii.config import CustomRecognizer, ScanConfig
from gates.pii.precision import REPOSITORY

DEFAULT_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
)
DEFAULT_MIN_SCORE = 0.4
DEFAULT_SALT = "gates-pii-default-salt"
SERVER_PRELOAD = ("gates.pii.preloaded",)
"""What the fork server the scan's workers fork from imports (gates.pii.scan)."""


def scan_config(settings: Mapping[str, Any]) -> ScanConfig:
    entities = tuple(settings.get("entities") or DEFAULT_ENTITIES)
    min_score = settings.get("min_score", DEFAULT_MIN_SCORE)
    if isinstance(min_score, Mapping):
        default = float(min_score.get("default", DEFAULT_MIN_SCORE))
        scores = {e: float(min_score.get(e, default)) for e in entities}
    else:
        scores = dict.fromkeys(entities, float(min_score))
    allow = settings.get("allow") or {}
    return ScanConfig(
        entities=entities,
        min_scores=scores,
        recognizers=tuple(
            CustomRecognizer(
                name=r["name"],
                entity=r["entity"],
                regex=r["regex"],
                score=float(r.get("score", 0.6)),
                context=tuple(r.get("context", ())),
            )
            for r in settings.get("recognizers") or ()
        ),
        allow_values=frozenset(allow.get("values", ())),
        allow_regexes=tuple(allow.get("regexes", ())),
        documentation_examples=bool(allow.get("documentation_examples", True)),
        spacy_model=settings.get("spacy_model"),
        salt=settings.get("salt") or os.environ.get("GATES_PII_SALT") or DEFAULT_SALT,
        precision=settings.get("precision", REPOSITORY),
    )
