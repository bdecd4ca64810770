"""The PII gate with real Presidio on files the tests write."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gates.model import Severity
from gates.pii import scan as scan_module
from gates.pii.analyzer import Scanner
from gates.pii.config import ScanConfig
from gates.pii.lines import LineIndex
from gates.pii.settings import DEFAULT_ENTITIES
from gates.plugins.interface import CollectContext, Collected, GateError
from gates.plugins.pii import PiiGate, scan_config
from gates.report.registry import load_formats
from gates.util.files import select_files
from tests.conftest import Repo

# Raw values the tests plant; none of them may appear in any output.
EMAIL = "jane.roe@acme-corp.io"
PHONE = "+1 415 867 5309"
CARD = "4556 7375 8689 9855"  # passes Luhn; pragma: allowlist pii
BAD_CARD = "4556 7375 8689 9856"  # fails Luhn
IBAN = "GB33BUKB20201555555555"  # pragma: allowlist pii
SSN = "536-90-4399"  # pragma: allowlist pii
IPV4 = "81.2.69.160"
IPV6 = "2a02:c7f:d4a4:9e00:1cb4:5c2e:e0a1:4e2b"
RAW_VALUES = (EMAIL, PHONE, CARD, IBAN, SSN, IPV4, IPV6, "867 5309", "8689 9855", "90-4399")

LEAKY_FILES = {
    "notes.md": f"""\
        # Support log
        Customer wrote from {EMAIL} and asked us to call {PHONE}.
        Paid with card {CARD}; the other card {BAD_CARD} was a typo.
        Refund to IBAN {IBAN}. Her SSN: {SSN}
        Server {IPV4} and {IPV6} logged it.
        """,
}


def collect(root: Path, inline_suppressions: bool = True, **settings: Any) -> Collected:
    ctx = CollectContext(
        root=root,
        settings={"max_file_bytes": 2_000_000, **settings},
        out_dir=root / ".gates",
        deadline=time.monotonic() + 300,
        inline_suppressions=inline_suppressions,
    )
    return PiiGate().collect(ctx)


def by_rule(collected: Collected) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for f in collected.findings:
        out.setdefault(f.rule, []).append(f)
    return out


def test_finds_each_entity_with_line_and_masked_preview(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo(LEAKY_FILES)
    found = by_rule(collect(repo.root))
    assert sorted(found) == sorted(DEFAULT_ENTITIES)
    lines = {rule: sorted(f.location.line for f in fs) for rule, fs in found.items()}
    assert lines.pop("PHONE_NUMBER")[0] == 2  # phonenumbers also sees one in the IPv6 address
    assert lines == {
        "EMAIL_ADDRESS": [2],
        "CREDIT_CARD": [3],  # the card failing Luhn is not reported
        "IBAN_CODE": [4],
        "US_SSN": [4],
        "IP_ADDRESS": [5, 5],
    }
    email = found["EMAIL_ADDRESS"][0]
    assert email.properties["preview"] == "j***@***.io"
    assert email.message == "EMAIL_ADDRESS j***@***.io (score 1.00)"
    assert found["CREDIT_CARD"][0].properties["preview"] == "**** **** **** **55"
    assert found["CREDIT_CARD"][0].severity is Severity.HIGH
    assert found["IP_ADDRESS"][0].severity is Severity.LOW
    for finding in (f for fs in found.values() for f in fs):
        dumped = json.dumps(finding.to_json())
        assert not any(raw in dumped for raw in RAW_VALUES), dumped


def test_fingerprint_follows_value_hash_and_salt(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo({"a.txt": f"mail {EMAIL}\n", "b.txt": f"\n\nagain {EMAIL}\n"})
    first = collect(repo.root).findings
    again = collect(repo.root).findings
    salted = collect(repo.root, salt="team-secret").findings
    assert [f.fingerprint for f in first] == [f.fingerprint for f in again]
    hashes = {f.properties["value_hash"] for f in first}
    assert len(hashes) == 1  # the same value in two files
    assert len({f.fingerprint for f in first}) == 2  # but two places
    assert {f.properties["value_hash"] for f in salted}.isdisjoint(hashes)


def test_documentation_examples_and_allow_lists_pass(make_repo: Callable[..., Repo]) -> None:
    examples = """\
        Write to support@example.com or ops@mail.example.org, call (212) 555-0142.
        Test card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.
        Hosts 192.0.2.10, 198.51.100.7, 203.0.113.254 and 2001:db8::42.
        """
    repo = make_repo({"README.md": examples, "team.txt": f"lead {EMAIL}\nint alice@acme.io\n"})
    result = collect(repo.root, include=["README.md"])
    assert result.findings == []
    result = collect(
        repo.root,
        include=["README.md"],
        allow={"documentation_examples": False},
        precision="presidio",  # repository precision drops role addresses and reserved networks too
    )
    assert {f.rule for f in result.findings} == {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "IP_ADDRESS",
    }
    allowed = collect(
        repo.root,
        include=["team.txt"],
        allow={"values": [EMAIL], "regexes": [r".*@acme\.io"]},
    )
    assert allowed.findings == []
    assert len(collect(repo.root, include=["team.txt"]).findings) == 2


def test_skips_binary_huge_non_utf8_and_outside_symlinks(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo({"ok.txt": f"{EMAIL}\n"})
    (repo.root / "blob.bin").write_bytes(b"\x00\x01" + EMAIL.encode() + b"\x00")
    (repo.root / "latin1.txt").write_bytes(f"caf\xe9 {EMAIL}".encode("latin-1"))
    (repo.root / "huge.txt").write_text(f"{EMAIL}\n" * 40_000, encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text(f"{EMAIL}\n", encoding="utf-8")
    (repo.root / "link.txt").symlink_to(outside)
    (repo.root / "inner-link.txt").symlink_to(repo.root / "ok.txt")
    result = collect(repo.root, max_file_bytes=100_000)
    assert [f.location.path for f in result.findings] == ["ok.txt"]
    assert result.stats["skipped"] == {
        "binary": 1,
        "not_utf8": 1,
        "too_large": 1,
        "symlink": 1,
        "symlink_outside": 1,
    }
    assert result.stats["files"] == 1


def test_structured_files_report_the_line(make_repo: Callable[..., Repo]) -> None:
    records = [{"id": i, "owner": f"amir.levi{i}@corp.io" if i == 3 else "n/a"} for i in range(5)]
    notebook = {
        "cells": [{"cell_type": "code", "source": ["x = 1\n", f"send('{EMAIL}')\n"]}],
        "metadata": {},
    }
    repo = make_repo(
        {
            "data/records.json": json.dumps(records, indent=2),
            "data/people.csv": f"id,email\n1,n/a\n2,{EMAIL}\n",
            "flows/flow.yaml": f"steps:\n  - notify:\n      to: {EMAIL}\n",
            "analysis.ipynb": json.dumps(notebook, indent=1),
        }
    )
    where = {(f.location.path, f.location.line) for f in collect(repo.root).findings}
    assert where == {
        ("data/records.json", 16),
        ("data/people.csv", 3),
        ("flows/flow.yaml", 3),
        ("analysis.ipynb", 7),
    }


def test_custom_recognizer_uses_context_words(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo(
        {
            "hr.txt": "employee badge EMP-123456 issued\n",
            "misc.txt": "order EMP-654321 shipped\n",
        }
    )
    recognizer = {
        "name": "employee_id",
        "entity": "EMPLOYEE_ID",
        "regex": r"EMP-\d{6}",
        "score": 0.3,
        "context": ["employee"],
    }
    result = collect(repo.root, entities=["EMPLOYEE_ID"], recognizers=[recognizer], min_score=0.5)
    # 0.3 alone is under 0.5; "employee" within the five words before lifts it by 0.35.
    assert [(f.location.path, f.properties["score"]) for f in result.findings] == [("hr.txt", 0.65)]
    assert result.findings[0].severity is Severity.MEDIUM


def test_min_score_per_entity_and_severity_override(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo(LEAKY_FILES)
    result = collect(repo.root, min_score={"default": 0.4, "PHONE_NUMBER": 0.9})
    assert "PHONE_NUMBER" not in by_rule(result)
    settings: Mapping[str, Any] = {"severity": {"IP_ADDRESS": "high"}}
    evaluated = PiiGate().evaluate(result.findings, settings)
    assert {f.severity for f in evaluated if f.rule == "IP_ADDRESS"} == {Severity.HIGH}


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"spacy_model": "xx_no_such_model_sm"}, "is not installed"),
        ({"entities": ["PERSON"]}, "needs a spaCy NER model"),
        ({"entities": ["NOT_AN_ENTITY"]}, "has no Presidio recognizer"),
    ],
)
@pytest.mark.parametrize("parallel", [False, True])
def test_configuration_errors_are_gate_errors(
    make_repo: Callable[..., Repo],
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, Any],
    reason: str,
    parallel: bool,
) -> None:
    # In workers forked from the fork server too: a worker that cannot build its analyzer says why
    # (a pool whose initializer raises only breaks).
    repo = make_repo(LEAKY_FILES)
    if parallel:
        monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 0)
    with pytest.raises(GateError, match=reason):
        collect(repo.root, **settings, jobs=2 if parallel else 1)


# Parity traps from real repositories: a four-digit pager number, an IP inside a longer run of
# digits, numbers glued to letters, an extension, time stamps (phonenumbers rejects a date and hour
# followed by ":mm"), numeric tables.
PARITY_TEXT = """\
pager #1645, libdnf5 5.2.0.0 and build 10.0.0.1.2; fax 030 1234567 or +49 30 901820.
hex 0x8881: 18, sha 3f2a1b0c9d8e7f6a5b4c, id_9876543210x, call 415-867-5309x12 today
stamp 2024-09-10T10:33:00Z, ssn 078051125, zip 94105-1234, card 4556737586899855 (pragma: allowlist pii)
table = [1376, 4204, 1311, 1420, 3206, 25, 2317]; v6 ::1 and [2001:4860:4860::8888]:53
mail a.b+c@sub.mail-host.co.uk, (02) 9876 5432, 020 7946 0018, 1-800-555-0199
Login expires in 12 hours at 2020-11-12 01:53:16-05:00, "created": "2016-10-28 23:44:00.0"
mapped ::ffff:192.0.2.33 zone fe80::1ff:fe23:4567:890a%eth2/64 alone 198.51.100.7/24 x.y@host.org
extensions 415-867-5309 int 12, 415-867-5309int12, 030 901820 \uff0312, 415-867-5309,    ext.  ,  12
glued b415-867-5309 415-867-5309q 2019-12-05T01, but parts of 030/9018 2020q and a1 415-867-5309 count
shapes 536-22-8726 536 22 8726 12345-6789 123-456789 (pragma: allowlist pii)
shapes 1534800122 4556-7375-8689-9855 3714 496353 98431 (pragma: allowlist pii)
json {"to":"jane.roe@corp-mail.io","cc":["x@y.org"]}<john@acme.io>;bob@corp.io,@handle a@b
iban DE89 3704 0044 0532 0130 00, GB82WEST12345698765432;FR14-2004-1010-0505-0001-3M02-606
glued xDE89370400440532013000 and DE89370400440532013000x
glued v10.1.2.3 10.1.2.3.4 ::ffff:10.0.0.1/96 card 4111 1111 1111 1111 x4111111111111111 4111111111111111y
"""


@pytest.mark.parametrize("precision", ["presidio", "repository"])
def test_fast_path_agrees_with_naive_analyze(precision: str) -> None:
    # `presidio`: the fast path reports exactly what one analyze() per file reports; `repository`:
    # both see the text with path data blanked and the same rules judge their values.
    config = ScanConfig(
        entities=DEFAULT_ENTITIES,
        min_scores=dict.fromkeys(DEFAULT_ENTITIES, 0.4),
        documentation_examples=False,
        salt="t",
        precision=precision,
    )
    fast = Scanner(config).scan("t.txt", PARITY_TEXT * 3)
    naive = Scanner(config, fast=False).scan("t.txt", PARITY_TEXT * 3)
    assert len(naive) > 20
    assert [(h.entity, h.start, h.end, h.not_personal) for h in fast] == [
        (h.entity, h.start, h.end, h.not_personal) for h in naive
    ]
    assert any(h.not_personal for h in naive) == (precision == "repository")


def test_entities_without_a_prefilter_are_scanned_in_whole_files(make_repo: Callable[..., Repo]) -> None:
    # A URL holds no digits, `@` or IBAN prefix: the pre-filter knows nothing of it, so no file
    # may be skipped and the recognizer sees the whole text.
    repo = make_repo({"notes.md": "Dashboards live at https://grafana.internal.example.org/d/ops now.\n"})
    config = ScanConfig(entities=("URL", "EMAIL_ADDRESS"), min_scores={"URL": 0.4, "EMAIL_ADDRESS": 0.4})
    files = select_files(repo.root).files
    result = scan_module.scan(files, config, workers=1, deadline=time.monotonic() + 300)
    assert [h.entity for h in result.hits] == ["URL"]
    text = (repo.root / "notes.md").read_text()
    naive = Scanner(config, fast=False).scan("notes.md", text)
    assert [(h.start, h.end) for h in result.hits] == [(h.start, h.end) for h in naive]


# Units like the ones the gate gives the phone recognizer (a digit cluster and a few characters
# around it), where a region's matcher finds a number by each path gates.pii.phone reasons about.
PHONE_TRAPS = (
    "#1645",  # German numbers of four digits, no other region
    ",1680, 31",
    " 030 1234567.",  # national prefix
    "(+49 30 901820)",  # `+` before a known country code: the same in every region
    " +0 30 901820, ",  # `+` before no country code: parsed as a national number
    " ++49 30 901820",
    " 0049 30 901820",  # international prefixes
    " 011 44 20 7946 0018",
    " 00 972 3 123 4567",
    " 415-867-5309x12 ",  # extensions
    " 415-867-5309 ext. 12",
    " 1x2x3x4 030-9018-20 ext 5",  # letters the matcher may read as keypad digits
    " 123456789012345678901234567890 030 901820",  # over 20 digits in a row
    ": 1573677174.105,\n",  # time stamps, IPs, dates
    ",10.210.246.220,58",
    "'2024-09-10T10:33:00Z",
    " 1-800-555-0199, (02) 9876 5432",
    " 12025550123 ",  # the region's country code without `+`, then the national prefix (twice)
    " 1 1 202 555 0123 ",
    " 4930901820,",
    " 972 3 123 4567 ",
    " 91 98765 43210 ",
    " 0 21 11 98765-4321 ",  # Brazil: national prefix and carrier code, transformed to the NSN
    " (11) 98765-4321,",
    " 0 11 98765 4321, 90 11 3456 7890 ",  # Brazil's national prefixes, which are a pattern
    " 55 0 11 3456 7890 ",
    " 015 11 98765-4321 ",  # a carrier code after the national prefix, then the NSN
    " 90 21 11 3456 7890 ",
    " 55 0 21 11 98765 4321 ",  # the country code, then the national prefix and a carrier code
    " 5511987654321, 550211198765432 ",
    ": 1556840545.967,",
    " 021 11 3456 7890 ",  # pragma: allowlist pii
    " 1700000000123,",  # a valid US number inside a run, but not after the run's start + prefixes
    " 8675309415 ",
    " 030 9018 доб 20 ",  # one match of the matcher: punctuation between blocks, an extension
    " 030 901820 ~ 12 ",
    " (030) [9018]-20 ",
    ": 0.3112500011920929\n",  # digits that start with no country code or national prefix
    '"10.238.167.199",',
    " 4900 30 901820 ",  # country code and national prefix, literally
    " 00 1 415 867 5309 ",
    "'+1 679-266-5517'",  # found by one region only, while others may run first
    " (+44) 20 7946 0018 #",  # a match covering the whole unit ends the region loop
    " 415-867-5309 x 12#",
    ":123456789012:interesting",  # letters after the last digit are in no candidate
    ": 6271844772424770508\n# MD5 Fingerprint: 69:c1",  # an extension label on the next line
    ",3008, # 2064\n5238,2962",  # the label `#` and an extension on this one
    " 30 901820 ",  # a German number whose format needs the national prefix, written without it
    " 02 12 34 56 78, 3 123 4567, 9876543210 ",  # France, Israel, India without `+`
    " 180020 20 7946 0018 ",  # one of Britain's two national prefixes for parsing
    " 0033 1 23 45 67 89, 00 0 123 4567 ",  # an international prefix, and one before a 0
    " +999 123 4567, +1 711-873-9690 ",  # `+` before an unknown country code; an invalid NANP
    "1.3.6.1.4.1.5962.99.1.3633258862.2104868982",  # every dot starts a string of its own
    " call(030-901820), f(1691), g((030-901820), h([1.3.6.1]) (0x100, 1920x1080) ",  # one bracket
)


@pytest.mark.parametrize("text", PHONE_TRAPS)
def test_phone_regions_skipped_only_where_they_cannot_match(text: str) -> None:
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from gates.pii.phone import RegionFilter

    full = PhoneRecognizer()
    regions = RegionFilter(full.supported_regions)
    narrowed = PhoneRecognizer(supported_regions=regions.possible(text))
    spans = [(r.start, r.end) for r in full.analyze(text, ["PHONE_NUMBER"])]
    assert [(r.start, r.end) for r in narrowed.analyze(text, ["PHONE_NUMBER"])] == spans
    # Each region alone, too: a skipped region finds nothing, or only `+` numbers another runs.
    for region in set(full.supported_regions) - set(regions.possible(text)):
        alone = PhoneRecognizer(supported_regions=(region,)).analyze(text, ["PHONE_NUMBER"])
        assert {(r.start, r.end) for r in alone} <= set(spans)


@pytest.mark.parametrize("text", PHONE_TRAPS)
def test_phone_units_give_what_the_recognizer_gives(text: str) -> None:
    from presidio_analyzer import EntityRecognizer
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from gates.pii.candidates import Candidates
    from gates.pii.phone import presidio_regions

    config = ScanConfig(entities=("PHONE_NUMBER",), min_scores={"PHONE_NUMBER": 0.4}, salt="t")
    scanner = Scanner(config)
    full = PhoneRecognizer()
    expected = [(r.start, r.end, r.score) for r in full.analyze(text, ["PHONE_NUMBER"])]
    # Every cluster's unit through the narrowed path, de-duplicated over the text as Presidio does.
    units = Candidates(text, presidio_regions().reads_any).phones
    got = EntityRecognizer.remove_duplicates(scanner._phones(full, units))
    assert sorted((r.start, r.end, r.score) for r in got) == sorted(expected)


def test_clusters_read_alone_are_skipped_only_where_no_region_reads_them() -> None:
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from gates.pii.candidates import digit_clusters, phone_units
    from gates.pii.phone import RegionFilter

    full = PhoneRecognizer()
    regions = RegionFilter(full.supported_regions)
    skipped = 0
    # Japan and Australia, which no region reads without the `+` (nor after a bracket).
    beyond = (" +81 3-1234-5678 ", " (+61) 2 9876 5432 ", " + 61 2 9876 5432 ")
    brackets = "f(1691) g(4345) h((1691 i( (1691 (+1691 [0x100] (1920x1080, 30 (1.2.3.4) (2019-01-01)"
    for text in (*PHONE_TRAPS, *beyond, brackets, ",2181,21 #1645 ,1691, 3 x=4345; 0.8938 1699/2"):
        found = full.analyze(text, ["PHONE_NUMBER"])
        for start, end in digit_clusters(text):
            cluster = text[start:end]
            if cluster.isdecimal():  # the short cut for a single run agrees with the recorder
                assert regions.reads_any(cluster) == bool(regions.possible(cluster))
        for unit in phone_units(text, digit_clusters(text), lambda cluster: True):
            if unit.alone and not regions.reads_any(unit.cluster):
                skipped += 1
                overlapping = [r for r in found if r.start < unit.end and r.end > unit.start]
                assert not overlapping, (text, unit.cluster)
    assert skipped >= 10
    assert regions.reads_any("1691") and not regions.reads_any("4345")  # German numbers can be short


@pytest.mark.parametrize(
    "cluster",
    [
        "2181", "12345678901234567890", "123456789012345678901", "2019-01-01", "1.2.3.4",
        "1556840545.967", "0.3112500011920929", "12-34.56", "1.2-3.4", "1..2.3", "1/2/2020", "0x100",
        "1920x1080", "1.2-3x4", "12X34",
        "-".join(str(i) for i in range(1, 23)), ".".join(str(i) for i in range(1, 22)), "030 901820",
    ],
)  # fmt: skip
def test_plain_clusters_give_the_strings_the_matcher_parses(cluster: str) -> None:
    from gates.pii.phone import parsed_strings, plain_strings

    shortcut = plain_strings(cluster)
    assert shortcut is None or set(shortcut) == set(parsed_strings(cluster))


def test_region_filter_refuses_a_phonenumbers_it_cannot_record(monkeypatch: pytest.MonkeyPatch) -> None:
    from gates.pii import phone

    assert len(phone.parsed_strings("tel 030 1234567, fax 030/1234568")) >= 3
    monkeypatch.setattr(phone, "parsed_strings", lambda text: [])
    with pytest.raises(GateError, match="_parse_and_verify"):
        phone.RegionFilter(["DE"])


def test_phone_traps_find_numbers_and_skip_regions() -> None:
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from gates.pii.phone import RegionFilter

    full = PhoneRecognizer()
    regions = RegionFilter(full.supported_regions)
    found = [text for text in PHONE_TRAPS if full.analyze(text, ["PHONE_NUMBER"])]
    assert len(found) >= 25  # most traps hold a number that some region finds
    narrowed = [text for text in PHONE_TRAPS if len(regions.possible(text)) < len(full.supported_regions)]
    assert len(narrowed) >= len(PHONE_TRAPS) // 2
    assert regions.possible("v1.2") == ()
    assert regions.possible("#1645") == ("DE",)
    assert not {"US", "CA", "BR"} & set(regions.possible(" 1700000000123,"))
    assert regions.possible(",030,901820,") == ()  # a comma ends the matcher's match


def test_texts_the_prefilter_keeps_from_presidio_hold_nothing_presidio_finds() -> None:
    # The pre-filter's claim, against one analyze() of each text it keeps from Presidio, at any
    # score: the traps, the parity text's lines, and chunks of this project's PII code and tests
    # (dense in near misses: versions, dates, hex, phone-like digits).
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from gates.pii.candidates import Candidates
    from gates.pii.phone import PRESIDIO_REGIONS, presidio_regions

    assert PhoneRecognizer().supported_regions == PRESIDIO_REGIONS
    config = ScanConfig(entities=DEFAULT_ENTITIES, min_scores=dict.fromkeys(DEFAULT_ENTITIES, 0.0), salt="t",
                        documentation_examples=False, precision="presidio")  # fmt: skip
    naive = Scanner(config, fast=False)
    here = Path(__file__).resolve().parent
    sources = sorted((here.parent / "gates" / "pii").glob("*.py")) + sorted(here.glob("test_pii*.py"))
    chunks = []
    for source in sources:
        lines = source.read_text().splitlines(keepends=True)
        chunks += ["".join(lines[i : i + 8]) for i in range(0, len(lines), 8)]
    decorated = "class A:\n    @abc.abstractmethod\n    @dataclasses.dataclass(kw_only=True)\n@x.y\n"
    texts = [*PHONE_TRAPS, *PARITY_TEXT.splitlines(), *chunks, "# Copyright (c) 2020 Ansible\n", decorated]

    def kept_from_presidio(texts: list[str], entities: tuple[str, ...]) -> list[str]:
        return [t for t in texts if not Candidates(t, presidio_regions().reads_any).needed_by(entities)]

    kept = kept_from_presidio(texts, DEFAULT_ENTITIES)
    assert len(kept) >= 100 and len(texts) - len(kept) >= 100
    assert [t for t in kept if naive.scan("t.txt", t)] == []
    # Repository precision adds a card recognizer and blanks path data before the pre-filter.
    repository = Scanner(dataclasses.replace(config, precision="repository"), fast=False)
    prepared = [repository.prepared(t) for t in texts]
    kept = kept_from_presidio(prepared, DEFAULT_ENTITIES)
    assert [t for t in kept if repository.scan("t.txt", t)] == []
    # Each entity's own check, too: a text kept from one recognizer holds nothing it finds.
    for entity in DEFAULT_ENTITIES:
        one = Scanner(dataclasses.replace(config, entities=(entity,), min_scores={entity: 0.0}), fast=False)
        kept = kept_from_presidio(texts, (entity,))
        assert [t for t in kept if one.scan("t.txt", t)] == [], entity


def test_a_hook_on_one_file_finds_what_the_whole_run_finds_there(make_repo: Callable[..., Repo]) -> None:
    # A hook scans only the files it is given: each file's findings are those of a run over the
    # tree, whether the file reaches Presidio (some recognizer has candidates) or not.
    texts = {f"f{i}.txt": line + "\n" for i, line in enumerate(PARITY_TEXT.splitlines())}
    decorated = "    @abc.abstractmethod\n    @dataclasses.dataclass(kw_only=True)\n"
    repo = make_repo({**texts, "year.py": "# Copyright (c) 2020 Ansible\n", "clean.txt": decorated})
    files = select_files(repo.root).files
    config = scan_config({})
    whole = scan_module.scan(files, config, workers=1, deadline=time.monotonic() + 300)
    assert len({h.path for h in whole.hits}) >= 6
    for file in files:
        alone = scan_module.scan([file], config, workers=1, deadline=time.monotonic() + 300)
        assert alone.hits == [h for h in whole.hits if h.path == file.path], file.path
    assert 0 < whole.presidio_files < whole.files


# The fork server builds an analyzer for the default policy, which workers reuse; other policies'
# workers build their own.
@pytest.mark.parametrize("settings", [{}, {"salt": "other", "precision": "presidio"}])
def test_process_pool_matches_one_process(
    make_repo: Callable[..., Repo], monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]
) -> None:
    repo = make_repo({f"f{i}.txt": PARITY_TEXT + f"u{i}@corp.io\n" for i in range(6)})
    (repo.root / "blob.bin").write_bytes(b"\0" * 100)
    (repo.root / "latin1.txt").write_bytes("caf\xe9 030 901820".encode("latin-1"))
    (repo.root / "clean.txt").write_text("nothing to see\n")
    files = select_files(repo.root).files
    config = scan_config(settings)
    one = scan_module.scan(files, config, workers=1, deadline=time.monotonic() + 300)
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "CHUNK_BYTES", 1)
    two = scan_module.scan(files, config, workers=2, deadline=time.monotonic() + 300)
    assert two.workers == 2
    assert two.hits == one.hits
    # Texts handed over whenever a few wait, each batch finished before the next (bounded memory).
    monkeypatch.setattr(scan_module, "HELD_BYTES", len(PARITY_TEXT) * 2)
    batched = scan_module.scan(files, config, workers=2, deadline=time.monotonic() + 300)
    assert (batched.hits, batched.presidio_files) == (one.hits, one.presidio_files)
    assert len(one.hits) > 6
    # Each part counts what it read and skipped; the parts add up to one process's counts.
    assert (two.files, two.bytes, two.presidio_files, two.skipped) == (
        one.files, one.bytes, one.presidio_files, one.skipped,
    )  # fmt: skip
    assert (one.files, one.presidio_files, dict(one.skipped)) == (7, 6, {"binary": 1, "not_utf8": 1})


def test_a_run_without_the_cache_starts_the_fork_server_early_and_scans_with_it(
    make_repo: Callable[..., Repo],
) -> None:
    # `--no-cache`: every gate collects for certain, so the pii gate's fork server starts importing
    # Presidio while the subject is taken (Preparing), and the scan uses it whatever the input's
    # size; with the cache the same small input is scanned in one process. Same findings.
    repo = make_repo(
        {
            **{f"f{i}.txt": PARITY_TEXT for i in range(3)},
            "gates.yaml": "version: 1\ngates:\n  pii: {fail_on: none, jobs: 2}\n",
        }
    )
    found = []
    for extra in (["--no-cache"], []):
        done = subprocess.run(
            [sys.executable, "-m", "gates", "run", ".", "--only", "pii", "--format", "json", *extra],
            cwd=repo.root,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        (gate,) = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))["gates"]
        found.append((gate["stats"]["processes"], [f["fingerprint"] for f in gate["findings"]]))
    assert [processes for processes, _ in found] == [2, 1]
    assert found[0][1] == found[1][1] and len(found[0][1]) > 3


def test_presidio_is_imported_only_when_there_are_candidates(
    make_repo: Callable[..., Repo],
) -> None:
    # A year is a digit cluster, but no phone region reads four such digits alone; a decorator's
    # `@` ends no e-mail address's local part.
    clean = make_repo({"a.py": "# (c) 2020 Ansible\n@abc.abstractmethod\ndef f(x):\n    pass\n"})
    leaky = make_repo({"a.txt": f"{EMAIL}\n"})
    probe = """\
import sys, time
from pathlib import Path
from gates.plugins.interface import CollectContext
from gates.plugins.pii import PiiGate
root = Path(sys.argv[1])
ctx = CollectContext(root=root, settings={}, out_dir=root, deadline=time.monotonic() + 60)
found = PiiGate().collect(ctx).findings
print(len(found), "presidio_analyzer" in sys.modules)
"""
    outputs = [
        subprocess.run(
            [sys.executable, "-c", probe, str(repo.root)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        ).stdout.split()
        for repo in (clean, leaky)
    ]
    assert outputs == [["0", "False"], ["1", "True"]]


def test_a_pool_imports_presidio_in_its_server_only(make_repo: Callable[..., Repo]) -> None:
    # Workers fork from a server that imported Presidio: this process never imports it.
    repo = make_repo({f"f{i}.txt": PARITY_TEXT for i in range(4)})
    probe = """\
import sys, time
from pathlib import Path
from gates.pii import scan
from gates.plugins.pii import scan_config
from gates.util.files import select_files
scan.PARALLEL_MIN_BYTES, scan.CHUNK_BYTES = 0, 1
files = select_files(Path(sys.argv[1])).files
result = scan.scan(files, scan_config({}), workers=2, deadline=time.monotonic() + 300)
print(len(result.hits), result.workers, "presidio_analyzer" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", probe, str(repo.root)], capture_output=True, text=True, check=True
    )
    found, workers, imported = done.stdout.split()
    assert int(found) > 4 and (workers, imported) == ("2", "False")


def test_no_output_of_gates_run_holds_a_raw_value(make_repo: Callable[..., Repo], tmp_path: Path) -> None:
    repo = make_repo(
        {
            **LEAKY_FILES,
            "data/customers.json": json.dumps([{"email": EMAIL, "phone": PHONE, "ip": IPV4}]),
        }
    )
    out = tmp_path / "out"
    formats = load_formats().names()  # every report format there is
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "run", str(repo.root), "--only", "pii", "--out", str(out)]
        + [arg for f in formats for arg in ("--format", f)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr  # cards and SSNs fail the default policy
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= len(formats)
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    assert "EMAIL_ADDRESS" in json.dumps(verdict)
    for text in [proc.stdout, proc.stderr, *(p.read_text(encoding="utf-8") for p in written)]:
        leaked = [raw for raw in RAW_VALUES if raw in text]
        assert leaked == []


def test_own_interface_addresses_are_never_reported(make_repo: Callable[..., Repo]) -> None:
    # Even with the documentation allow-list off: a context word ("ip") lifts `::` over min_score.
    repo = make_repo({"net.txt": "ip 127.0.0.1, ip :: and ip [::]/0, ip ::1, but ip 10.1.2.3 and ip ::2\n"})
    collected = collect(
        repo.root, entities=["IP_ADDRESS"], allow={"documentation_examples": False}, precision="presidio"
    )
    assert sorted(f.properties["preview"] for f in collected.findings) == ["**.*.*.*", "::*"]


def test_inline_marker_is_honoured_only_while_governance_allows_it(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo(
        {
            "fixtures/users.csv": (
                "name,email\n"
                "Jane,jane.roe@acme-mail.de  # pragma: allowlist pii\n"
                "John,john.smith@acme-mail.de\n"
                "local,127.0.0.1 and 0.0.0.0 and ::1\n"
            )
        }
    )
    everything = collect(repo.root, inline_suppressions=False, entities=["EMAIL_ADDRESS", "IP_ADDRESS"])
    assert everything.stats["inline_marked"] == 1
    assert {(f.rule, f.location.line) for f in everything.findings} == {
        ("EMAIL_ADDRESS", 2),
        ("EMAIL_ADDRESS", 3),
    }  # loopback and "any" addresses name no one
    assert [f.properties.get("inline_marker") for f in everything.findings] == [True, None]
    honoured = collect(repo.root, entities=["EMAIL_ADDRESS", "IP_ADDRESS"])
    assert honoured.stats["inline_marked"] == 1
    assert [f.location.line for f in honoured.findings] == [3]


def test_a_file_is_read_to_its_end_whatever_its_recorded_size(tmp_path: Path) -> None:
    from gates.util.files import RepoFile, read_text

    path = tmp_path / "grew.txt"
    path.write_text("x" * 200_000)
    for recorded in (0, 10, 65_535, 65_536, 200_000):
        assert len(read_text(RepoFile("grew.txt", path, recorded))) == 200_000


def test_line_numbers_of_offsets_in_any_order() -> None:
    text = "a\nbb\n\nccc\n"
    index = LineIndex(text)
    expected = {0: 1, 1: 1, 2: 2, 4: 2, 5: 3, 6: 4, 9: 4, 10: 5}
    for offset in [*expected, 6, 0, 10, 2]:  # increasing, then back to earlier offsets
        assert index.line(offset) == expected[offset], offset
