"""CVSS v3.x base scores from vector strings (the FIRST specification's formula), so an advisory's
severity comes from its vector rather than from a label someone typed."""

from __future__ import annotations

import math

from gates.model import Severity

_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PRIVILEGES = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def _roundup(value: float) -> float:
    """CVSS 3.1 Roundup: the smallest one-decimal number >= value, free of float noise."""
    scaled = round(value * 100_000)
    return scaled / 100_000 if scaled % 10_000 == 0 else (math.floor(scaled / 10_000) + 1) / 10.0


def base_score(vector: str) -> float | None:
    """The base score of a `CVSS:3.0/...` or `CVSS:3.1/...` vector, or None if it is not one."""
    prefix, _, rest = vector.strip().partition("/")
    if prefix not in ("CVSS:3.0", "CVSS:3.1"):
        return None
    metrics = dict(part.split(":", 1) for part in rest.split("/") if ":" in part)
    try:
        scope = metrics["S"]
        iss = 1 - math.prod(1 - _WEIGHTS[m][metrics[m]] for m in ("C", "I", "A"))
        exploitability = 8.22 * math.prod(_WEIGHTS[m][metrics[m]] for m in ("AV", "AC", "UI"))
        exploitability *= _PRIVILEGES[scope][metrics["PR"]]
    except KeyError:
        return None
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    if impact <= 0:
        return 0.0
    total = impact + exploitability
    return _roundup(min(total if scope == "U" else 1.08 * total, 10.0))


def severity(score: float) -> Severity:
    """The CVSS qualitative rating; a score of 0 (None) is info."""
    for floor, rating in ((9.0, Severity.CRITICAL), (7.0, Severity.HIGH), (4.0, Severity.MEDIUM)):
        if score >= floor:
            return rating
    return Severity.LOW if score > 0 else Severity.INFO
