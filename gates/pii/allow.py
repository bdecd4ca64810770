"""Allow-lists: values that look like PII but are documentation examples or the policy allows."""

from __future__ import annotations

import ipaddress
import re
from functools import cached_property

from gates.pii.config import ScanConfig

# RFC 2606 / RFC 6761 reserve these for documentation and tests.
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
_EXAMPLE_TLDS = ("test", "example", "invalid", "localhost")
# RFC 5737 (IPv4) and RFC 3849 (IPv6) documentation ranges.
_EXAMPLE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
# Card numbers published by payment processors for testing, SSNs the SSA lists as invalid because
# they were printed in advertisements, and the IBANs of the ISO 13616 / ECBS documentation.
_EXAMPLE_VALUES = {
    "CREDIT_CARD": {
        "4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
        "5555555555554444", "5105105105105100", "2223003122003222", "378282246310005",
        "371449635398431", "6011111111111117", "6011000990139424", "3056930009020004",
        "30569309025904", "38520000023237", "3566002020360505", "6200000000000005",
    },
    "US_SSN": {"078051120", "219099999"},  # pragma: allowlist pii
    "IBAN_CODE": {
        "DE89370400440532013000", "GB82WEST12345698765432", "GB29NWBK60161331926819",
        "FR1420041010050500013M02606", "NL91ABNA0417164300", "CH9300762011623852957",
    },
}  # fmt: skip
_FICTIONAL_PHONES = re.compile(
    r"1?(?:\d{3}555\d{4}|555\d{7})"
    r"|(?:44|0)(?:1(?:1[3-8]|[2-6]1)4960\d{3}|2079460\d{3}|2896496\d{3}|2920180\d{3}|1632960\d{3}"
    r"|7700900\d{3}|8081570\d{3}|9098790\d{3}|3069990\d{3})"
)
"""North American numbers with the 555 exchange or area code, the convention for fictional
numbers, and the ranges Ofcom reserves for drama in the UK (020 7946 0xxx, 07700 900xxx...)."""


def _compact(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def ip_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a found value writes (without a prefix length, zone or brackets), if any."""
    if ":" not in value and value.count(".") < 3:
        return None  # no address: spares the exception most values would raise
    try:
        return ipaddress.ip_address(value.split("/")[0].split("%")[0].strip("[]"))
    except ValueError:
        return None


def own_interface(value: str) -> bool:
    """Loopback and "any" addresses name a machine's own interface, never a person: never reported,
    whatever took them for PII."""
    if ":" not in value and not value.lstrip("[").startswith(("127.", "0.")):
        return False  # the only IPv4 forms of those (ipaddress takes no leading zeros)
    address = ip_address(value)
    return address is not None and (address.is_loopback or address.is_unspecified)


def _documentation_example(entity: str, value: str) -> bool:
    address = ip_address(value)
    if address is not None and any(address in n for n in _EXAMPLE_NETWORKS):
        return True  # whatever took it for PII (phonenumbers reads 203.0.113.254 as a number)
    if entity == "EMAIL_ADDRESS":
        domain = value.rpartition("@")[2].lower().rstrip(".")
        return domain.rsplit(".", 1)[-1] in _EXAMPLE_TLDS or any(
            domain == d or domain.endswith("." + d) for d in _EXAMPLE_DOMAINS
        )
    if entity == "PHONE_NUMBER":
        return _FICTIONAL_PHONES.fullmatch(re.sub(r"\D", "", value)) is not None
    return _compact(value) in _EXAMPLE_VALUES.get(entity, set())


class AllowList:
    def __init__(self, config: ScanConfig) -> None:
        self._config = config

    @cached_property
    def _regexes(self) -> list[re.Pattern[str]]:
        return [re.compile(r) for r in self._config.allow_regexes]

    def allows(self, entity: str, value: str) -> bool:
        return (
            own_interface(value)
            or value in self._config.allow_values
            or any(r.fullmatch(value) for r in self._regexes)
            or (self._config.documentation_examples and _documentation_example(entity, value))
        )
