"""A generated customer export, planted inside a real source tree, to measure the PII gate's recall.

`plant(root, seed)` writes customer records (names, e-mail addresses, phone numbers of six
countries in the forms people write them, card numbers, IBANs, SSNs) as a CSV export, a European
CSV export (`;`, German headers), JSON, YAML and a Jupyter notebook (the records in a code cell, a
printed data frame and printed rows in its outputs), and returns where each value stands. The
values are random but valid: cards pass Luhn with their brand's prefix and length, IBANs their
check digits, phone numbers phonenumbers' validation, SSNs the SSA's rules; none is a
documentation example the gate allows. Used by tests/test_pii_precision.py and benchmarks/pii.py.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
import yaml

from gates.pii.allow import AllowList
from gates.pii.config import ScanConfig

COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR")
ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN")
FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Lukas",
    "Sophie",
    "Hannah",
    "Chloé",
    "Louis",
    "Aarav",
    "Priya",
    "Ananya",
    "Rohan",
    "Gabriel",
    "Beatriz",
    "Mateus",
    "Larissa",
    "Amir",
    "Noa",
    "Mia",
    "Ben",
    "Jonas",
    "Léa",
    "Hugo",
    "Camille",
    "Arjun",
    "Diya",
    "Thiago",
    "Yara",
]
LAST = [
    "Thompson",
    "Walker",
    "Hughes",
    "Müller",
    "Schmidt",
    "Wagner",
    "Dubois",
    "Lefebvre",
    "Moreau",
    "Sharma",
    "Iyer",
    "Nair",
    "Souza",
    "Lima",
    "Carvalho",
    "Levi",
    "Cohen",
    "Peretz",
    "Becker",
    "Fischer",
    "Bernard",
    "Martin",
    "Patel",
    "Reddy",
    "Oliveira",
    "Costa",
    "Evans",
]
DOMAINS = [
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "web.de",
    "gmx.net",
    "orange.fr",
    "laposte.net",
    "rediffmail.com",
    "uol.com.br",
    "bol.com.br",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "northwind-traders.co.uk",
    "brightpath-logistics.de",
]

_ALLOW = AllowList(ScanConfig(entities=ENTITIES, min_scores=dict.fromkeys(ENTITIES, 0.4)))


@dataclass(frozen=True)
class Planted:
    path: str
    entity: str
    start: int
    end: int
    form: str
    """How the value is written: for phones the country and format (`DE national`), else the
    entity's form (`spaced`, `compact`...)."""


@dataclass(frozen=True)
class Customer:
    first: str
    last: str
    email: str
    phone: str
    phone_form: str
    card: str
    card_form: str
    iban: str
    iban_form: str
    ssn: str
    ssn_form: str
    country: str


def _luhn_complete(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


_CARD_BRANDS = (
    ("Visa-16", "4", 16), ("Visa-13", "4", 13), ("Visa-19", "4", 19), ("Mastercard-5", "5", 16),
    ("Mastercard-2", "2", 16), ("Amex", "3", 15), ("Discover", "6011", 16),
)  # fmt: skip
"""Visa 13, 16 and 19 digits, Mastercard's 51-55 and 2221-2720 series, Amex, Discover."""


def _card_prefix(rng: random.Random, prefix: str) -> str:
    if prefix == "2":
        return str(rng.randint(2221, 2720))
    if prefix == "5":
        return str(rng.randint(51, 55))
    if prefix == "3":
        return rng.choice(("34", "37"))
    return prefix


def card_number(rng: random.Random) -> tuple[str, str]:
    """A card number and its form, `<brand> <compact|spaced|dashed>`."""
    while True:
        brand, prefix, length = rng.choice(_CARD_BRANDS)
        prefix = _card_prefix(rng, prefix)
        body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
        number = _luhn_complete(body)
        if not _ALLOW.allows("CREDIT_CARD", number):
            break
    layout = rng.choice(("compact", "spaced", "dashed"))
    form = f"{brand} {layout}"
    if layout == "compact":
        return number, form
    sep = " " if layout == "spaced" else "-"
    if length == 15:  # Amex: 4-6-5
        return sep.join((number[:4], number[4:10], number[10:])), form
    if length == 13:  # Visa's old 13 digits: 4-3-3-3
        return sep.join((number[:4], number[4:7], number[7:10], number[10:])), form
    return sep.join(number[i : i + 4] for i in range(0, length, 4)), form


# Country, length of the basic bank account number, its alphabet ("9": digit, "A": capital).
_IBAN_FORMATS = {
    "DE": "999999999999999999",
    "GB": "AAAA99999999999999",
    "FR": "99999999999999999999999",
    "NL": "AAAA9999999999",
    "ES": "99999999999999999999",
    "BE": "999999999999",
}


def iban(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(_IBAN_FORMATS))
    bban = "".join(
        rng.choice("0123456789" if c == "9" else "ABCDEFGHIJKLMNOPQRSTUVWXYZ") for c in _IBAN_FORMATS[country]
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    value = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    form = rng.choice(("compact", "grouped"))
    if form == "grouped":
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4)), form
    return value, form


def ssn(rng: random.Random) -> tuple[str, str]:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    form = rng.choice(("dashed", "dashed", "spaced"))
    sep = "-" if form == "dashed" else " "
    return sep.join((digits[:3], digits[3:5], digits[5:])), form


def _national_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    kind = rng.choice((phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE))
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    nsn = str(example.national_number)
    while True:
        keep = len(nsn) - rng.randint(4, 6)
        candidate = nsn[:keep] + "".join(rng.choice("0123456789") for _ in range(len(nsn) - keep))
        number = phonenumbers.parse("+" + str(example.country_code) + candidate)
        written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number) and not _ALLOW.allows("PHONE_NUMBER", written):
            return number


def _fmt(number: phonenumbers.PhoneNumber, kind: int) -> str:
    return phonenumbers.format_number(number, kind)


_NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
_INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL
_E164 = phonenumbers.PhoneNumberFormat.E164


def _uniform(national: str, sep: str) -> str:
    """The national format with every separator replaced by `sep` (brackets dropped)."""
    groups = "".join(c if c.isdigit() else " " for c in national).split()
    return sep.join(groups)


def _without_prefix(national: str) -> str:
    return national[1:] if national.startswith("0") else national


_REGION_FORMS: dict[str, tuple[tuple[str, Callable[[phonenumbers.PhoneNumber], str]], ...]] = {
    "US": (
        ("dashed", lambda n: _uniform(_fmt(n, _NATIONAL), "-")),
        ("dotted", lambda n: _uniform(_fmt(n, _NATIONAL), ".")),
    ),
    "GB": (("with (0)", lambda n: _fmt(n, _INTERNATIONAL).replace(" ", " (0)", 1)),),
    "DE": (
        ("slash", lambda n: _fmt(n, _NATIONAL).replace(" ", "/", 1)),
        ("dashed", lambda n: _uniform(_fmt(n, _NATIONAL), "-")),
    ),
    "FR": (("dotted", lambda n: _uniform(_fmt(n, _NATIONAL), ".")),),
    "IN": (
        ("no prefix", lambda n: _without_prefix(_fmt(n, _NATIONAL))),
        ("dashed intl", lambda n: _fmt(n, _INTERNATIONAL).replace(" ", "-")),
    ),
    "BR": (("dashed intl", lambda n: "+55 " + _fmt(n, _NATIONAL)),),
}
_COMMON_FORMS: tuple[tuple[str, Callable[[phonenumbers.PhoneNumber], str]], ...] = (
    ("international", lambda n: _fmt(n, _INTERNATIONAL)),
    ("e164", lambda n: _fmt(n, _E164)),
    ("national", lambda n: _fmt(n, _NATIONAL)),
    ("digits", lambda n: "".join(c for c in _fmt(n, _NATIONAL) if c.isdigit())),
)


def phone(rng: random.Random, region: str) -> tuple[str, str]:
    number = _national_number(rng, region)
    name, form = rng.choice(_COMMON_FORMS + _REGION_FORMS[region])
    return form(number), f"{region} {name}"


def customer(rng: random.Random) -> Customer:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[:3]}{rng.randint(1, 99)}"))
    local = local.lower().translate(str.maketrans("äöüéè", "aouee"))
    email = f"{local}@{rng.choice(DOMAINS)}".encode("ascii", "ignore").decode()
    country = rng.choice(COUNTRIES)
    phone_value, phone_form = phone(rng, country)
    card, card_form = card_number(rng)
    iban_value, iban_form = iban(rng)
    ssn_value, ssn_form = ssn(rng)
    return Customer(
        first,
        last,
        email,
        phone_value,
        phone_form,
        card,
        card_form,
        iban_value,
        iban_form,
        ssn_value,
        ssn_form,
        country,
    )


def _record(c: Customer, phone_key: str = "phone") -> dict[str, str]:
    return {
        "name": f"{c.first} {c.last}",
        "email": c.email,
        phone_key: c.phone,
        "card_number": c.card,
        "iban": c.iban,
        "ssn": c.ssn,
        "country": c.country,
    }


def _csv(customers: Sequence[Customer], delimiter: str, header: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for i, c in enumerate(customers, 1):
        writer.writerow([i, f"{c.first} {c.last}", c.email, c.phone, c.card, c.iban, c.ssn, c.country])
    return out.getvalue()


def _frame(customers: Sequence[Customer]) -> str:
    """How pandas prints `df[["name", "email", "phone"]]`: right-aligned columns, an index."""
    rows = [("", "name", "email", "phone")]
    rows += [(str(i), f"{c.first} {c.last}", c.email, c.phone) for i, c in enumerate(customers)]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    return "".join(
        "  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows
    )


def _notebook(customers: Sequence[Customer]) -> str:
    records = [_record(c) for c in customers]
    source = "customers = " + json.dumps(records, indent=4, ensure_ascii=False) + "\n"
    frame = _frame(customers)
    printed = "".join(
        f"{r['name']}: {r['email']}, card {r['card_number']}, IBAN {r['iban']}, SSN {r['ssn']}\n"
        for r in records
    )
    notebook = {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": ["# Churn analysis\n", "Customer sample from the CRM.\n"],
            },
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "outputs": [],
                "source": source.splitlines(keepends=True),
            },
            {
                "cell_type": "code",
                "execution_count": 2,
                "metadata": {},
                "source": [
                    "import pandas as pd\n",
                    "df = pd.DataFrame(customers)\n",
                    'df[["name", "email", "phone"]]\n',
                ],
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "execution_count": 2,
                        "metadata": {},
                        "data": {"text/plain": frame.splitlines(keepends=True)},
                    }
                ],
            },
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {},
                "source": [
                    "for r in customers:\n",
                    "    print(f\"{r['name']}: {r['email']}, card {r['card_number']}, \"\n",
                    "          f\"IBAN {r['iban']}, SSN {r['ssn']}\")\n",
                ],
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": printed.splitlines(keepends=True)}
                ],
            },
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _files(customers: Sequence[Customer]) -> dict[str, tuple[str, Sequence[Customer]]]:
    parts = [customers[i::5] for i in range(5)]
    header = ("id", "name", "email", "phone", "card_number", "iban", "ssn", "country")
    german = ("Nr", "Name", "E-Mail", "Telefon", "Kreditkarte", "IBAN", "SSN", "Land")
    data = {"customers": [_record(c) for c in parts[3]]}
    return {
        "exports/customers.csv": (_csv(parts[0], ",", header), parts[0]),
        "exports/kunden.csv": (_csv(parts[1], ";", german), parts[1]),
        "fixtures/customers.json": (
            json.dumps([_record(c, "mobile") for c in parts[2]], indent=2) + "\n",
            parts[2],
        ),
        "config/customers.yaml": (
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200),
            parts[3],
        ),
        "notebooks/churn.ipynb": (_notebook(parts[4]), parts[4]),
    }


def _occurrences(text: str, value: str) -> list[int]:
    found, pos = [], text.find(value)
    while pos >= 0:
        found.append(pos)
        pos = text.find(value, pos + 1)
    return found


def plant(root: Path, seed: int = 17, customers: int = 250, folder: str = "planted") -> list[Planted]:
    """Writes the files below `root/folder` and returns every planted value's place."""
    rng = random.Random(seed)
    everyone = [customer(rng) for _ in range(customers)]
    planted: list[Planted] = []
    for relative, (text, written) in _files(everyone).items():
        path = f"{folder}/{relative}"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
        for c in written:
            for entity, value, form in (
                ("EMAIL_ADDRESS", c.email, "address"),
                ("PHONE_NUMBER", c.phone, c.phone_form),
                ("CREDIT_CARD", c.card, c.card_form),
                ("IBAN_CODE", c.iban, c.iban_form),
                ("US_SSN", c.ssn, c.ssn_form),
            ):
                planted += [
                    Planted(path, entity, at, at + len(value), form) for at in _occurrences(text, value)
                ]
    return sorted(set(planted), key=lambda p: (p.path, p.start, p.entity))
