"""Repository precision: what Presidio's recognizers report in a source tree that is not personal data.

Presidio is built for prose and customer records; a repository is mostly code, assets and
translations, where its recognizers read coordinates as phone numbers and contributors' credits as
leaks. With `precision: repository` (the default) the gate judges every result by where it stands,
rule by rule below (each names the `stats.not_personal` counter it adds to); with
`precision: presidio` it reports exactly what one `analyze()` per file would.

- `path_data`: the numbers of SVG path data and geometry attributes (`d="M80.568 49.0039H75..."`,
  `points=`, `viewBox=`, `transform=`) are blanked before any recognizer runs, in SVG files and
  wherever such a string is quoted (JavaScript bundles, JSON icon sets). Not counted per value.
- `decimal`: a number that is the fraction or integer part of a decimal number (`29.6631265631655126`,
  `1573677174.105`, `+.448084975506` in a minified bundle) is no card, SSN, phone number or address.
- `blob`: digits inside a longer token of hash, base64 or hex characters (`sha512-...`, ids) or inside
  a UUID (`11111111-2222-3333-4444-555555555555`) are no card, SSN, phone number or address.
- `card_brand`: a Luhn-valid number no issuer gives out: a card number has its brand's prefix and
  length (Visa 13, 16 or 19 digits; Mastercard 16; Amex 15...), not a company id's (`48146308100036`);
  # pragma: allowlist nextline pii
  and digits of an international phone number (`+4915123451655`) or of an IBAN are not a card.
- `sample_number`: SSNs of repeated or running digits (`111-22-3333`, `987-65-4321`), phone numbers
  of running digits (`123-456-7890`, `987-654-3210`).
- `code_point`: Unicode code points and ranges (`U+9838-9839` in a CSS `unicode-range`) are no phone
  number.
- `phone_format`: a phone number needs a phone-like form or a word saying it is one: a `+` or an
  international prefix, a `tel:` link, digits grouped the way the number's country writes it
  (national or international format, the national prefix optional), or a phone word (`phone`,
  `tel`, `mobile`, `fax`, `call`, ...) before it on its line, as the key of its CSV column, or as
  the header of its column in an aligned text table (a notebook's printed data frame). In code, a
  short word (`call`, `cell`, `tel`, `contact`...) counts only on its own or first in a camelCase
  name, and not after a dot: `fn.call(`, `StripContainerCell` are no phone words, `cellPhone` is.
- `ip_scope`: addresses that name no one: private, link-local, shared, reserved, multicast and
  other not globally routable ranges, and the public resolvers (8.8.8.8, 1.1.1.1, 9.9.9.9...).
- `not_an_address`: dotted numbers that are versions, section or OID numbers: part of a longer
  dotted run, glued to a word or dash (`EN-9.4.1.2`, `section-7.1.1.1`, `3.0.5.130-5a1e7`), after a
  section, chapter or version word (`Section 4.10.22.7`), or four one-digit parts (`5.2.0.0`,
  `1.2.3.4`); IPv6 "addresses" of fewer than three groups (`be::`, `args[1::2]`,
  `2008::`), which are words, slices and prefixes.
- `attribution`: e-mail addresses that credit their owner in public: on a line naming an author,
  maintainer, copyright holder, translator or contributor (`Last-Translator:`, `Signed-off-by:`,
  `author_email=`), in a comment block headed by one (a `.po` file's `# Translators:`, a licence
  header), in a list under a plural key (`"authors": [`, `<developers>`) and in attribution files
  (AUTHORS, CONTRIBUTORS, MAINTAINERS, CREDITS, THANKS, CODEOWNERS, .mailmap); after `by Name` (`Silk
  icons by Mark James <address>`) and in a quoted message's `<address> wrote:`.
- `not_an_email`: a package and version in a URL (`cdn.jsdelivr.net/npm/ol@v7.2.2`), a fediverse
  # pragma: allowlist nextline secret
  handle (`@user@instance.social`), the user information of a URL (`http://user:password@host`,
  which is the secrets gate's), a user at a host before a path (`root@host:/usr/src`, scp and
  build-host strings), SSH protocol names (`sk-ssh-ed25519@openssh.com`).
- `placeholder`: made-up addresses: at a placeholder domain (`test.com`, `email.com`, `domain.com`,
  `foo.com`, one-letter names like `a.com`) or with a placeholder local part (`test`, `user`, `foo`,
  `to`, `from`, `john.doe`, `firstname.lastname`...).
- `role_address`: addresses of a role, list or service, not a person (`security@`, `noreply@`,
  `support@`, `django-users@`, `*@users.noreply.github.com`).
- `test_code`: e-mail addresses, phone numbers and IP addresses written in test source code
  (`tests/`, `test_*.py`, `*.spec.ts`...) are inputs a developer typed. Test data files (fixtures,
  CSV, JSON, YAML, notebooks, SQL) are scanned like any other, and cards, IBANs and SSNs are
  reported everywhere.

These rules judge a value by its surroundings, which the repository's author controls: they keep
accidental leaks visible (customer exports, fixtures, notebooks, logs), not data hidden on purpose
(which an encoding hides from any scanner). A policy that wants every value Presidio reports sets
`precision: presidio`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from gates.pii.allow import ip_address

REPOSITORY = "repository"
PRESIDIO = "presidio"
PRECISIONS = (REPOSITORY, PRESIDIO)

_DIGIT_ENTITIES = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IP_ADDRESS"})
_CONTACT_ENTITIES = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS"})

# --- path_data ----------------------------------------------------------------------------------

_PATH_COMMANDS = "MmLlHhVvCcSsQqTtAaZz"
_PATH_DATA = re.compile(rf"""["'`]([Mm][\s,]*[-+]?\.?\d[-+.,\deE\s{_PATH_COMMANDS}]*+)["'`]""")
"""A quoted string of path data: a move command, then numbers and commands only (the quote first:
a regex that starts with a character set scans fast)."""
_GEOMETRY_ATTRIBUTES = tuple(
    (
        name,
        re.compile(
            name + r"""\s*=\s*["']((?:[-+.,\deE\s()]|matrix|translate|scale|rotate|skew[XY])*+)["']"""
        ),
    )
    for name in ("points", "viewBox", "ransform")  # transform, gradientTransform, patternTransform
)
"""SVG attributes holding numbers only, each found from its name (a literal first: fast)."""
_BLANK = re.compile(r"[^\n]")


def mask_path_data(text: str) -> str:
    """The text with the numbers of path data and geometry attributes blanked (line breaks kept, so
    offsets and lines stay those of the file)."""
    spans = [m.span(1) for m in _PATH_DATA.finditer(text) if _commands(m.group(1)) >= 2]
    for name, attribute in _GEOMETRY_ATTRIBUTES:
        if name in text:
            spans += [m.span(1) for m in attribute.finditer(text)]
    if not spans:
        return text
    parts = []
    pos = 0
    for start, end in sorted(spans):
        start = max(start, pos)
        parts.append(text[pos:start])
        parts.append(_BLANK.sub(" ", text[start:end]))
        pos = max(pos, end)
    parts.append(text[pos:])
    return "".join(parts)


def _commands(path: str) -> int:
    return sum(path.count(c) for c in _PATH_COMMANDS)


# --- the surroundings of a value ----------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A value a recognizer reported, with the text it stands in."""

    path: str
    text: str
    entity: str
    start: int
    end: int

    @property
    def value(self) -> str:
        return self.text[self.start : self.end]

    @functools.cached_property
    def line_start(self) -> int:
        return self.text.rfind("\n", 0, self.start) + 1

    @functools.cached_property
    def line_end(self) -> int:
        end = self.text.find("\n", self.end)
        return len(self.text) if end < 0 else end

    @property
    def before(self) -> str:
        """The line up to the value."""
        return self.text[self.line_start : self.start]

    def near(self, before: int, after: int) -> str:
        """The value with at most `before` and `after` characters of its line around it."""
        return self.text[max(self.line_start, self.start - before) : min(self.line_end, self.end + after)]

    def just_before(self, chars: int) -> str:
        """At most `chars` characters of the line before the value."""
        return self.text[max(self.line_start, self.start - chars) : self.start]

    @property
    def line(self) -> str:
        return self.text[self.line_start : self.line_end]

    def lines_above(self, limit: int) -> list[str]:
        """Up to `limit` lines before the value's line, nearest first."""
        out: list[str] = []
        end = self.line_start - 1
        while end >= 0 and len(out) < limit:
            start = self.text.rfind("\n", 0, end) + 1
            out.append(self.text[start:end])
            end = start - 1
        return out


# --- decimal, blob ------------------------------------------------------------------------------


def _decimal(found: Found) -> bool:
    text, start, end = found.text, found.start, found.end
    lead = found.value.lstrip("+-(\uff0b\u2212 ")
    if lead[:1] == "." and lead[1:2].isdigit():  # `+.448084975506`, `(.8707-.131979`
        return True
    while start > 0 and text[start - 1].isdigit():  # a match may start inside a run of digits
        start -= 1
    fraction = start > 0 and text[start - 1] == "." and not (start > 1 and text[start - 2].isalpha())
    integer_part = text[end : end + 1] == "." and text[end + 1 : end + 2].isdigit()
    return fraction or integer_part


_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
_BLOB_CHARS = 20
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _blob(found: Found) -> bool:
    text, lo, hi = found.text, found.start, found.end
    while lo > 0 and text[lo - 1] in _TOKEN_CHARS:
        lo -= 1
    while hi < len(text) and text[hi] in _TOKEN_CHARS:
        hi += 1
    if (lo, hi) == (found.start, found.end) or hi - lo < _BLOB_CHARS:
        return False
    token = text[lo:hi]
    return (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)) or (
        _UUID.fullmatch(token) is not None
    )


# --- card_brand, sample_number -----------------------------------------------------------------


def _issued_card(digits: str) -> bool:
    """Whether an issuer's prefix takes a card number of this length (Visa, Mastercard, Amex,
    Discover, Diners, JCB, UnionPay, Maestro, UATP)."""
    n = len(digits)
    first, two = digits[0], int(digits[:2])
    if first == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return n == 16
    if two in (34, 37) or first == "1":
        return n == 15
    if two in (30, 36, 38, 39):
        return 14 <= n <= 19
    if two == 35 or first == "6" or two in (50, 56, 57, 58, 59):
        return 12 <= n <= 19
    return False


_IBAN_BEFORE = re.compile(r"[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4})*[ -]?$")
"""An IBAN's start before a card-like run of its digits."""


def _card_brand(found: Found) -> bool:
    digits = "".join(c for c in found.value if c.isdigit())
    before = found.text[max(0, found.start - 40) : found.start]
    return (
        len(digits) < 12
        or not _issued_card(digits)
        or before.endswith(("+", "\uff0b"))  # the digits of an international phone number
        or _IBAN_BEFORE.search(before) is not None
    )


_DIGITS = "0123456789"


def _running(digits: str) -> bool:
    return digits in _DIGITS * 2 or digits in _DIGITS[::-1] * 2


def _sample_number(found: Found) -> bool:
    """SSNs made of repeated or running digits (`111-22-3333`, `987-65-4321`); phone numbers of
    running digits (`123-456-7890`)."""
    digits = "".join(c for c in found.value if c.isdigit())
    if found.entity == "PHONE_NUMBER":  # the placeholders 123-456-7890 and 987-654-3210
        return len(digits) >= 10 and digits[0] in "19" and _running(digits)
    groups = (digits[:3], digits[3:5], digits[5:])
    return all(len(set(g)) == 1 for g in groups) or _running(digits)


def _code_point(found: Found) -> bool:
    """`U+9838-9839`: the recognizer reads the `+` and the hex digits after a `U` as a phone number."""
    text, start = found.text, found.start
    if not found.value.startswith("+"):
        start -= 1  # the match may start after the `+`
        if text[start : start + 1] != "+":
            return False
    return text[start - 1 : start] in ("U", "u") and not text[start - 2 : start - 1].isalnum()


# --- phone_format -------------------------------------------------------------------------------

_PHONE_WORDS = frozenset(
    [
        "phone",
        "phones",
        "telephone",
        "telephones",
        "tel",
        "tele",
        "mobile",
        "mobiles",
        "mob",
        "cell",
        "cellphone",
        "cellular",
        "fax",
        "call",
        "calls",
        "sms",
        "whatsapp",
        "msisdn",
        "landline",
        "handy",
        "telefon",
        "telefono",
        "telefone",
        "teléfono",
        "téléphone",
        "tél",
        "portable",
        "celular",
        "móvil",
        "movil",
        "rufnummer",
        "contact",
    ]
)
_PHONE_STEMS = ("phone", "telefon", "telephon", "téléphon", "handy", "fax", "mobil")
_WORD = re.compile(r"[^\W\d_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_CONTEXT_CHARS = 48
"""How far before a number on its line a phone word may stand (a key, a label; not the rest of a
minified bundle's line)."""
_TABLE_LINES = 200
"""How far up an aligned text table's header row may be: pandas prints at most 60 rows by default
(and the table's rows end the search first); a bound, so that a file of number tables costs
rows x 200 line checks at most."""
_DIGIT_RUN = re.compile(r"\d+")
_INTERNATIONAL = re.compile(r"^(?:\+|\uff0b|00|011)")


def _phone_word(words: str) -> bool:
    """A phone word in `words`: a stem (`phone`, `fax`...) anywhere, even inside a camelCase name;
    a short word (`call`, `cell`, `tel`) only on its own or first in a name, and not after a dot
    (`fn.call(this)`, `StripContainerCell`)."""
    for match in _WORD.finditer(words):
        after_dot = words[match.start() - 1 : match.start()] == "."
        for i, part in enumerate(_CAMEL.sub(" ", match.group()).split()):
            word = part.lower()
            if word.startswith(_PHONE_STEMS) or (word in _PHONE_WORDS and i == 0 and not after_dot):
                return True
    return False


def _phone_words_at(line: str) -> list[tuple[int, int]]:
    """The column spans of the phone words of a line."""
    spaced = _CAMEL.sub(" ", line)
    if len(spaced) != len(line):  # spans would move: keep the line as it is
        spaced = line
    return [m.span() for m in _WORD.finditer(spaced) if _phone_word(m.group())]


_TABULAR_SUFFIXES = (".csv", ".tsv", ".psv", ".tab")
_DELIMITERS = ",;\t|"


def _column_name(found: Found) -> str | None:
    """The header of the value's column in a delimited file (its first line)."""
    if not found.path.lower().endswith(_TABULAR_SUFFIXES) or found.line_start == 0:
        return None
    header = found.text[: found.text.find("\n")]
    delimiter = max(_DELIMITERS, key=header.count)
    index = _field_index(found.before, delimiter)
    fields = _split_fields(header, delimiter)
    return fields[index] if index < len(fields) else None


def _field_index(before: str, delimiter: str) -> int:
    quoted = False
    index = 0
    for c in before:
        if c == '"':
            quoted = not quoted
        elif c == delimiter and not quoted:
            index += 1
    return index


def _split_fields(line: str, delimiter: str) -> list[str]:
    fields = [""]
    quoted = False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == delimiter and not quoted:
            fields.append("")
        else:
            fields[-1] += c
    return fields


_COLUMN_GAP = re.compile(r" {2,}(?=\S)")
_ROW_CHARS = 2000
"""How much of a line is looked at for columns (a minified bundle's line may be megabytes)."""


def _aligned(line: str) -> bool:
    """Whether a line looks like a row of an aligned text table: two runs of two spaces or more
    before a cell (the first may be the indentation of a right-aligned first column)."""
    return len(_COLUMN_GAP.findall(line, 0, _ROW_CHARS)) >= 2


def _table_header(found: Found) -> bool:
    """In an aligned text table (a printed data frame), a phone word in a row above whose columns
    overlap the value's."""
    if not _aligned(found.line):
        return False
    lo, hi = found.start - found.line_start, found.end - found.line_start
    for line in found.lines_above(_TABLE_LINES):
        if not _aligned(line):
            return False
        if any(start < hi and end > lo for start, end in _phone_words_at(line)):
            return True
    return False


def _phone_context(found: Found) -> bool:
    before = found.just_before(_CONTEXT_CHARS)
    if _phone_word(before) or before.rstrip().lower().endswith("tel:"):
        return True
    column = _column_name(found)
    if column is not None:
        return _phone_word(column)
    return _table_header(found)


def _groups(value: str) -> list[str]:
    return _DIGIT_RUN.findall(value)


def phone_formatted(value: str, regions: Sequence[str]) -> bool:
    """Whether a number is written the way phone numbers are: internationally (`+`, `00`), or with
    its digits grouped as phonenumbers formats the number in a region that reads it as valid
    (nationally, with or without the national prefix, or internationally without the `+`),
    # pragma: allowlist nextline pii
    separated as that format does or by one kind of separator throughout (`415.867.5309`,
    `030/901820`). Two groups need a national prefix or brackets first, or ten digits  # pragma: allowlist pii
    # pragma: allowlist nextline pii
    (`030 901820`, `(11) 98765-4321`, `98765 43210`): page ranges, years and decimals (`181-201`,
    `1800-2009`, `0906.0612`) are two groups too."""
    stripped = value.strip()
    if _INTERNATIONAL.match(stripped.lstrip("(\uff08 ")):
        return True
    written = _groups(stripped)
    bracketed = stripped.startswith(("(", "\uff08"))
    separators = _separators(stripped)
    if bracketed:
        separators = separators[1:]
    if len(written) < 2:
        return False
    if len(written) == 2 and (
        separators == ["."] or not (bracketed or written[0].startswith("0") or len("".join(written)) >= 10)
    ):
        return False
    uniform = len(set(separators)) <= 1 and set(separators) <= {" ", "-", ".", "/"}
    return any(
        written == groups and (uniform or separators == format_separators)
        for region in regions
        for groups, format_separators in _written_forms(stripped, region, bracketed)
    )


_NON_DIGITS = re.compile(r"\D+")


def _separators(value: str) -> list[str]:
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    return _NON_DIGITS.findall(value, digits[0], digits[-1]) if digits else []


@functools.lru_cache(maxsize=50_000)
def _written_forms(value: str, region: str, bracketed: bool) -> list[tuple[list[str], list[str]]]:
    """The digit groups of the number's formats, each with the separators of that format."""
    import phonenumbers  # here: 50 ms to import, which only a scan with phone candidates needs

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return []
    if not phonenumbers.is_valid_number(number):
        return []
    forms = []
    for kind in (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL):
        formatted = phonenumbers.format_number(number, kind).lstrip("+")
        separators = _separators(formatted)
        forms.append((_groups(formatted), separators[1:] if bracketed else separators))
    national, separators = forms[0]
    region_code = phonenumbers.region_code_for_number(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region_code) if region_code else None
    prefix = metadata.national_prefix if metadata else None
    if prefix and national and national[0].startswith(prefix):
        without = national[0][len(prefix) :]
        forms.append(([without, *national[1:]], separators) if without else (national[1:], separators[1:]))
    return forms


# --- ip_scope, not_an_address ---------------------------------------------------------------

_PUBLIC_RESOLVERS = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
        "208.67.222.222", "208.67.220.220", "2001:4860:4860::8888", "2001:4860:4860::8844",
        "2606:4700:4700::1111", "2606:4700:4700::1001", "2620:fe::fe", "2620:fe::9",
    )
)  # fmt: skip
_DOTTED_ON = frozenset(f".{d}" for d in range(10))
_NUMBERED = re.compile(
    r"(?i)\b(?:section|sections|sect|sec|chapter|ch|clause|article|art|part|rule|rules|step|version|"
    r"ver|v|release|rel|rfc|iso|oid|hyperspec|table|figure|fig|§)\W{0,3}$"
)
_NUMBERED_CHARS = 24
"""A section, chapter or version word right before a dotted number (`Section 4.10.22.7`)."""
_IPV6_GROUPS = 3
"""Fewer written groups than this (`be::`, `1::2`, `2008::`) are words, slices or prefixes."""


def _ip_scope(found: Found) -> bool:
    address = ip_address(found.value)
    if address is None:
        return False
    return (
        not address.is_global or address.is_multicast or address.is_reserved or address in _PUBLIC_RESOLVERS
    )


def _not_an_address(found: Found) -> bool:
    value, text, start, end = found.value, found.text, found.start, found.end
    if ":" in value:
        return sum(1 for group in value.split("/")[0].split(":") if group) < _IPV6_GROUPS
    before = text[start - 1] if start else " "
    after = text[end : end + 2]
    if before in ".-_#" or before.isalnum() or after[:1].isalpha() or after[:1] == "-" or after in _DOTTED_ON:
        return True
    if _NUMBERED.search(found.just_before(_NUMBERED_CHARS)):
        return True
    return all(len(part) == 1 for part in value.split("/")[0].split("."))


# --- attribution, role_address ------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"(?i)(?<![a-z])(?:co-?)?authors?(?![a-z])|(?:module|section|code)author|authored|maintainers?(?![a-z])|"
    r"maintained|copyright|\u00a9|\(c\)|contributors?(?![a-z])|contributed|credits?(?![a-z])|"
    r"translators?(?![a-z])|language-team|msgid-bugs|packager|"
    r"(?:signed-off|acked|tested|reviewed|reported|suggested|helped)-by|"
    r"\b(?:written|revised|created|developed|designed|translated|ported|modified|originally|"
    r"edited|updated|adapted|converted|implemented|submitted)\s+by\b"
)
_ATTRIBUTION_BEFORE = 200
_ATTRIBUTION_AFTER = 80
"""The part of its line around an address that may credit it (not the rest of a minified line)."""
_BY_NAME = re.compile(r"\bby\s+(?:[^\W\d_][\w.'-]*\s+){0,3}[^\W\d_][\w.'-]*\s*[<(\[]\s*$")
"""`... by Jane Roe <`: the address credits the person named before it."""
_BY_NAME_CHARS = 80
_WROTE = re.compile(r"[>)\]]?\s*(?:wrote|writes|schrieb|a écrit)\b", re.IGNORECASE)
"""`Jane Roe <address> wrote:`: a quoted message's attribution line."""
_LIST_HEADER = re.compile(
    r"(?i)^[\W_]*(?:authors|maintainers|contributors|developers|translators|credits|committers|"
    r"thanks|acknowledg(?:e)?ments|author(?=\s*:\s*$))\b"
)
"""A line opening a list of people credited (`"authors": [`, `<developers>`, `# Translators:`, a
YAML `author:` key over a list, as Ansible modules document theirs)."""
_COMMENT = re.compile(r"^\s*(?:#|//|/\*|\*|--|;|%|<!--|\.\.|\||')")
_COMMENT_LINES = 80
_LIST_LINES = 8
_ATTRIBUTION_FILES = frozenset(
    [
        "authors",
        "contributors",
        "contributers",
        "maintainers",
        "credits",
        "thanks",
        "codeowners",
        "owners",
        ".mailmap",
        "patrons",
        "backers",
    ]
)
_ROLES = frozenset(
    [
        "abuse",
        "admin",
        "administrator",
        "announce",
        "billing",
        "bugs",
        "careers",
        "compliance",
        "contact",
        "dev",
        "devel",
        "developers",
        "devnull",
        "dpo",
        "enquiries",
        "feedback",
        "foundation",
        "git",
        "hello",
        "help",
        "helpdesk",
        "hostmaster",
        "info",
        "inquiries",
        "jobs",
        "legal",
        "list",
        "lists",
        "mail",
        "mailer-daemon",
        "maintainers",
        "marketing",
        "media",
        "news",
        "newsletter",
        "nobody",
        "noc",
        "no-reply",
        "noreply",
        "donotreply",
        "do-not-reply",
        "office",
        "ops",
        "owner",
        "postmaster",
        "press",
        "privacy",
        "root",
        "sales",
        "security",
        "service",
        "sponsors",
        "staff",
        "support",
        "sysadmin",
        "team",
        "webmaster",
        "www",
    ]
)
_LIST_SUFFIXES = (
    "-announce", "-users", "-user", "-dev", "-devel", "-developers", "-discuss", "-request",
    "-bounces", "-owner", "-subscribe", "-unsubscribe", "-help", "-commits", "-security", "-updates",
    "-bugs", "-general", "-team", "-list",
)  # fmt: skip
_SERVICE_DOMAINS = ("users.noreply.github.com", "noreply.github.com", "googlegroups.com")


def _attribution_file(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return name in _ATTRIBUTION_FILES or name.split(".")[0] in _ATTRIBUTION_FILES


def _attribution(found: Found) -> bool:
    if _attribution_file(found.path) or _ATTRIBUTION.search(
        found.near(_ATTRIBUTION_BEFORE, _ATTRIBUTION_AFTER)
    ):
        return True
    if _BY_NAME.search(found.just_before(_BY_NAME_CHARS)) or _WROTE.match(found.text, found.end):
        return True
    comment = _COMMENT.match(found.line) is not None
    above = found.lines_above(_COMMENT_LINES if comment else _LIST_LINES)
    for i, line in enumerate(above):
        # A header wrapped onto the next line (`"Last-Translator: Name "` / `"<address>"`), or
        # a comment block headed by an attribution.
        if _LIST_HEADER.match(line) or ((comment or i == 0) and _ATTRIBUTION.search(line)):
            return True
        if i >= _LIST_LINES and not _COMMENT.match(line):
            return False
    return False


def _not_an_email(found: Found) -> bool:
    text, start, end = found.text, found.start, found.end
    local, _, domain = found.value.lower().rpartition("@")
    return (
        "/" in found.value
        or text[start - 1 : start] == "@"
        or _URL_USER.search(text, max(found.line_start, start - _URL_USER_CHARS), start) is not None
        or text[end : end + 2] in (":/", ":~")
        or (domain == "openssh.com" and "-" in local)
    )


_URL_USER = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@]*$")
"""`http://user:` right before the match: what the recognizer read as an address is a URL's
user information and host."""
_URL_USER_CHARS = 200


_PLACEHOLDER_LOCAL = re.compile(
    r"(?i)^(?:test|tester|testing|user|username|foo|bar|baz|qux|foobar|someone|somebody|anyone|"
    r"anybody|noone|no-one|to|from|cc|bcc|sender|recipient|receiver|email|e-mail|mail|address|"
    r"example|sample|dummy|fake|invalid|john\.?doe|jane\.?doe|"
    r"first\.?last|firstname\.?lastname|name\.?surname|your\.?name|your\.?email|"
    r"my\.?email|my\.?mail)[._-]?\d*$"
)
_PLACEHOLDER_DOMAINS = frozenset(
    [
        "test.com",
        "test.org",
        "test.net",
        "email.com",
        "domain.com",
        "mydomain.com",
        "yourdomain.com",
        "foo.com",
        "bar.com",
        "foobar.com",
        "baz.com",
        "somewhere.com",
        "somewhere.org",
        "nowhere.com",
        "anywhere.com",
        "company.com",
        "yourcompany.com",
        "mycompany.com",
        "acme.com",
        "site.com",
        "website.com",
        "host.com",
        "server.com",
        "user.com",
        "users.com",
        "other.com",
        "another.com",
    ]
)


def _placeholder(found: Found) -> bool:
    local, _, domain = found.value.lower().rpartition("@")
    labels = domain.split(".")
    return (
        domain in _PLACEHOLDER_DOMAINS
        or (len(labels) == 2 and len(labels[0]) == 1)
        or _PLACEHOLDER_LOCAL.match(local.split("+")[0]) is not None
    )


def _role_address(found: Found) -> bool:
    local, _, domain = found.value.lower().rpartition("@")
    local = local.split("+")[0]
    return (
        local in _ROLES
        or local.endswith(_LIST_SUFFIXES)
        or domain.endswith(_SERVICE_DOMAINS)
        or domain.startswith(("lists.", "list."))
    )


# --- test_code ----------------------------------------------------------------------------------

_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "e2e"})
_CODE_SUFFIXES = frozenset(
    [
        ".py",
        ".pyi",
        ".js",
        ".jsx",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".vue",
        ".rb",
        ".go",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".groovy",
        ".cs",
        ".fs",
        ".php",
        ".rs",
        ".swift",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".m",
        ".mm",
        ".pl",
        ".pm",
        ".t",
        ".sh",
        ".bash",
        ".zsh",
        ".ps1",
        ".lua",
        ".r",
        ".ex",
        ".exs",
        ".erl",
        ".clj",
        ".dart",
        ".jl",
    ]
)
_TEST_NAME = re.compile(r"(?i)^(?:test_.*|.*_tests?|.*[._-](?:test|spec)|.*(?:Test|Tests|Spec)|conftest)$")


def test_code(path: str) -> bool:
    """Source code of tests: a code file in a test directory or named as a test."""
    parts = PurePosixPath(path.lower()).parts
    pure = PurePosixPath(path)
    if pure.suffix.lower() not in _CODE_SUFFIXES:
        return False
    stem = pure.name[: -len(pure.suffix)]
    return bool(_TEST_DIRS.intersection(parts[:-1])) or _TEST_NAME.match(stem) is not None


# --- the rules ----------------------------------------------------------------------------------

Rule = Callable[[Found], bool]


def rules(phone_regions: Sequence[str]) -> list[tuple[str, frozenset[str], Rule]]:
    """(counter name, entities it judges, rule) in the order they are tried."""
    regions = tuple(phone_regions)

    def phone_format(found: Found) -> bool:
        return not (_phone_context(found) or phone_formatted(found.value, regions))

    return [
        ("test_code", _CONTACT_ENTITIES, lambda found: test_code(found.path)),
        ("decimal", _DIGIT_ENTITIES, _decimal),
        ("card_brand", frozenset({"CREDIT_CARD"}), _card_brand),
        ("sample_number", frozenset({"US_SSN"}), _sample_number),
        ("code_point", frozenset({"PHONE_NUMBER"}), _code_point),
        ("blob", _DIGIT_ENTITIES, _blob),
        ("ip_scope", frozenset({"IP_ADDRESS"}), _ip_scope),
        ("not_an_address", frozenset({"IP_ADDRESS"}), _not_an_address),
        ("phone_format", frozenset({"PHONE_NUMBER"}), phone_format),
        ("sample_number", frozenset({"PHONE_NUMBER"}), _sample_number),  # formatted, yet running digits
        ("not_an_email", frozenset({"EMAIL_ADDRESS"}), _not_an_email),
        ("role_address", frozenset({"EMAIL_ADDRESS"}), _role_address),
        ("placeholder", frozenset({"EMAIL_ADDRESS"}), _placeholder),
        ("attribution", frozenset({"EMAIL_ADDRESS"}), _attribution),
    ]


class Judge:
    """Tells which rule, if any, finds a value not personal."""

    def __init__(self, phone_regions: Sequence[str]) -> None:
        self._rules = rules(phone_regions)

    def not_personal(self, found: Found) -> str:
        """The name of the first rule that finds the value not personal, or ''."""
        for name, entities, rule in self._rules:
            if found.entity in entities and rule(found):
                return name
        return ""
