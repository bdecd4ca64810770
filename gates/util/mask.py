"""Masking detected values (PII, secrets) so they never reach a verdict, report or log in clear."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from gates.model import Finding


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


_SENSITIVE = "token|key|secret|pass|pwd|session|sid|auth|sig|code|jwt"
_SENSITIVE_PARAM = re.compile(_SENSITIVE, re.IGNORECASE)
# `?token=...` or `&api_key=...` where a tool printed a URL's path and query without its scheme.
_SENSITIVE_PAIR = re.compile(
    rf"([?&;][\w.-]*(?:{_SENSITIVE})[\w.-]*=)([^&;#\s'\"*][^&;#\s'\"]*?)(?=[.,:!?)]*(?:[&;#\s'\"]|$))",
    re.IGNORECASE,
)


def redact_url(url: str, params: tuple[str, ...] = ()) -> str:
    """`url` without its user information (`https://***@host/`) and with the values of query
    parameters that look like credentials (or are named in `params`) masked."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket: nothing in it is trusted to be harmless
        return mask_value(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2])
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        secret = [bool(_SENSITIVE_PARAM.search(k)) or k in params for k, _ in pairs]
        if any(secret):
            masked = [(k, mask_value(v) if s else v) for (k, v), s in zip(pairs, secret, strict=True)]
            parts = parts._replace(query=urlencode(masked, safe="*"))
    return parts.geturl()


# A URL in free text: a scheme, `://` and everything up to white space, a quote or a bracket,
# punctuation that ends a sentence aside.
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.-]*://[^\s'"<>`()\[\]{}]*[^\s'"<>`()\[\]{}.,;:!?]""")
# A quoted literal: the quote must not touch a word character outside it, so the apostrophes of
# "don't" and "it's" open nothing.
_QUOTED = re.compile(r"""(?<![\w'"])(['"])([^'"\n]+)\1(?!\w)""")


# Credentials in free text that no URL or quote marks: the token formats of well-known services
# (AWS, GitHub, GitLab, Slack, Stripe, JWTs) and `password=...`-like assignments. An SBOM field, a
# licence name or a copyright line can hold one, and reports quote those as they are.
_TOKEN = re.compile(
    r"\b(?:(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})\b"
)
_ASSIGNED = re.compile(
    r"(?<![\w*.])([\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
    r"[\w-]*\s*[=:]\s*)([^\s'\"`&;,<>()*]{4,})(?!\*)",
    re.IGNORECASE,
)


def redact_credentials(text: str) -> str:
    """`text` with every URL in it passed through `redact_url`, credential-like query pairs, token
    formats of well-known services and `password=...`-like assignments masked."""
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    if "=" in text:
        text = _SENSITIVE_PAIR.sub(lambda m: m.group(1) + mask_value(m.group(2)), text)
    if "=" in text or ":" in text:
        text = _ASSIGNED.sub(lambda m: m.group(1) + mask_value(m.group(2)), text)
    return _TOKEN.sub(lambda m: mask_value(m.group(0)), text)


def redact_credentials_in(value: Any) -> Any:
    """A JSON value with `redact_credentials` applied to every string in it."""
    if isinstance(value, str):
        return redact_credentials(value)
    if isinstance(value, Mapping):
        return {k: redact_credentials_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_credentials_in(v) for v in value]
    return value


def mask_message(text: str) -> str:
    """A tool's message fit for a report: URLs redacted and every quoted literal masked, because
    a scanner quotes what it saw (bandit's B105 to B107 quote the hard-coded password itself).
    A gate naming something harmless in its own message (a cookie, a parameter) uses backticks."""
    text = redact_credentials(text)
    return _QUOTED.sub(lambda m: f"{m.group(1)}{mask_value(m.group(2))}{m.group(1)}", text)


@functools.cache
def rules_digest() -> str:
    """A digest of this module's source: what the collect cache keeps was masked under these rules,
    so an entry masked under others (an older gates) is no hit and need not be masked again."""
    try:
        return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    except OSError:  # no source to read: nothing cached by another process is reused
        return secrets.token_hex(32)


def mask_finding(finding: Finding) -> Finding:
    """The finding as every output may show it: any gate's tool can quote a secret in its message
    or put a credential in a URL (a target given with its password), so none is trusted to mask."""
    location = finding.location
    if location.logical is not None:
        location = replace(location, logical=redact_credentials(location.logical))
    return replace(
        finding,
        message=mask_message(finding.message),
        location=location,
        properties=redact_credentials_in(dict(finding.properties)),
        help_uri=redact_credentials(finding.help_uri) if finding.help_uri is not None else None,
    )


# C0 and C1 control characters (a terminal's escape sequences, characters XML 1.0 forbids) but
# newline and tab, and the bidirectional controls that make a file name read as another
# ("Trojan Source").
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Text with every control or bidirectional character written as its `\\uXXXX` escape: what a
    scanned file name or a tool's message holds shows as it is, in any report or terminal, and a
    JSON document means the same (that is JSON's own escape)."""
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
