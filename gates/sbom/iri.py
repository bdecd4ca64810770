"""IRI syntax (RFC 3987) as one regular expression: the `iri` and `iri-reference` formats of the
CycloneDX JSON schema, which `url` fields use.

jsonschema checks these formats with rfc3987-syntax, an Earley parser over the RFC's grammar: about
0.1 s per URL on a loaded 2-core machine, so 35 s for a 62-component Composer SBOM and minutes for a
large one, and 1 to 2.7 s just to import. The grammar has no recursion, so it is a regular language:
the expression below is transcribed rule by rule from rfc3987-syntax's own grammar file
(`syntax_rfc3987.lark`), including its limits (its IPv6 literals need one 16-bit group before `::`
except in the `::` + six groups form, so `[::1]` is refused, and `ucschar` stops at U+FFEF). It accepts
exactly what that parser accepts; tests compare the two on real SBOMs' URLs and edge cases. Every
repetition is possessive and the delimiters (`:/?#@[]`) are outside the repeated classes, so a match
takes linear time on any input.
"""

from __future__ import annotations

import functools
import re

_HEX = "0-9A-Fa-f"
_UCSCHAR = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
_IPRIVATE = "\ue000-\uf8ff"
_UNRESERVED = r"A-Za-z0-9\-._~"
_IUNRESERVED = _UNRESERVED + _UCSCHAR
_SUB_DELIMS = "!$&'()*+,;="
_PCT = f"%[{_HEX}]{{2}}"


def _run(chars: str, at_least_one: bool = False) -> str:
    """Characters of the class `chars` or percent-encoded octets, repeated possessively."""
    return f"(?:[{chars}]|{_PCT}){'++' if at_least_one else '*+'}"


_IPCHAR = _IUNRESERVED + _SUB_DELIMS + ":@"
_ISEGMENT = _run(_IPCHAR)
_ISEGMENT_NZ = _run(_IPCHAR, at_least_one=True)
_ISEGMENT_NZ_NC = _run(_IUNRESERVED + _SUB_DELIMS + "@", at_least_one=True)
_IPATH_ABEMPTY = f"(?:/{_ISEGMENT})*+"
_IPATH_ABSOLUTE = f"/(?:{_ISEGMENT_NZ}(?:/{_ISEGMENT})*+)?+"
_IPATH_ROOTLESS = f"{_ISEGMENT_NZ}(?:/{_ISEGMENT})*+"
_IPATH_NOSCHEME = f"{_ISEGMENT_NZ_NC}(?:/{_ISEGMENT})*+"

_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = f"[{_HEX}]{{1,4}}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"


def _groups(count: int) -> str:
    return f"(?:{_H16}:){{{count}}}" if count else ""


# rfc3987-syntax's nine IPv6 forms: six groups and ls32; `::` and five groups and ls32; then k
# groups (1 to 7, the last without its colon), `::`, and what fills the address up.
_IPV6_FORMS = [
    f"{_groups(6)}{_LS32}",
    f"::{_groups(5)}{_LS32}",
    f"{_groups(0)}{_H16}::{_groups(4)}{_LS32}",
    f"{_groups(1)}{_H16}::{_groups(3)}{_LS32}",
    f"{_groups(2)}{_H16}::{_groups(2)}{_LS32}",
    f"{_groups(3)}{_H16}::{_groups(1)}{_LS32}",
    f"{_groups(4)}{_H16}::{_LS32}",
    f"{_groups(5)}{_H16}::{_H16}",
    f"{_groups(6)}{_H16}::",
]
_IPV6 = "(?:" + "|".join(_IPV6_FORMS) + ")"
_IPVFUTURE = f"v[{_HEX}]+\\.[{_UNRESERVED}{_SUB_DELIMS}:]+"
_IP_LITERAL = rf"\[(?:{_IPV6}|{_IPVFUTURE})\]"
# ipv4address is also a reg-name, so the host needs only these two forms
_IHOST = f"(?:{_IP_LITERAL}|{_run(_IUNRESERVED + _SUB_DELIMS)})"
_IAUTHORITY = f"(?:{_run(_IUNRESERVED + _SUB_DELIMS + ':')}@)?+{_IHOST}(?::[0-9]*+)?+"
_IQUERY = _run(_IPCHAR + _IPRIVATE + "/?")
_IFRAGMENT = _run(_IPCHAR + "/?")
_TAIL = rf"(?:\?{_IQUERY})?+(?:#{_IFRAGMENT})?+"
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*+"

_IRI = f"{_SCHEME}:(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_ROOTLESS}|){_TAIL}"
_IRELATIVE_REF = f"(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_NOSCHEME}|){_TAIL}"


@functools.cache
def _compiled(expression: str) -> re.Pattern[str]:
    """Compiled on first use: compiling both takes about 0.1 s, which every command would pay at
    start-up though only SBOM validation matches URLs."""
    return re.compile(expression)


def is_iri(value: object) -> bool:
    """RFC 3987 IRI; a value that is not a string is left to the schema's `type`."""
    return not isinstance(value, str) or _compiled(_IRI).fullmatch(value) is not None


def is_iri_reference(value: object) -> bool:
    """RFC 3987 IRI reference: an IRI or a relative reference."""
    return not isinstance(value, str) or (
        _compiled(_IRI).fullmatch(value) is not None or _compiled(_IRELATIVE_REF).fullmatch(value) is not None
    )
