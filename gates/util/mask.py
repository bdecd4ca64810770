"""Masking detected values (PII, secrets) so they never reach a verdict, report or log in clear."""

from __future__ import annotations

import hashlib
import hmac


def mask_value(value: str) -> str:
    """A preview that helps a human find the value without revealing it: `j***@***.com` for an
    e-mail address, else the first character, stars and at most the last two characters."""
    value = value.strip()
    if "@" in value:
        local, _, domain = value.partition("@")
        tld = domain.rsplit(".", 1)[1] if "." in domain else ""
        return f"{local[:1]}***@***" + (f".{tld}" if tld else "")
    if len(value) <= 4:
        return "*" * len(value)
    tail = value[-2:] if len(value) >= 10 else ""
    return f"{value[:1]}{'*' * min(len(value) - 1 - len(tail), 8)}{tail}"


def salted_hash(value: str, salt: str) -> str:
    """A keyed hash of a value: the same value under the same salt always matches (for waivers and
    baselines), but the hash cannot be reversed by guessing common values without the salt."""
    return hmac.new(salt.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def mask_digits(value: str, keep: int = 2) -> str:
    """`***-***-**42`: every letter and digit but the last `keep` becomes `*` and separators stay,
    so the shape of a phone, card or account number shows but not the number."""
    value = value.strip()
    alnum = sum(c.isalnum() for c in value)
    out: list[str] = []
    for c in value:
        if c.isalnum():
            alnum -= 1
            out.append(c if alnum < keep else "*")
        else:
            out.append(c)
    return "".join(out)
