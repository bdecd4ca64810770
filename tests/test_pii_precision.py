"""Repository precision (gates.pii.precision): each rule on the kind of text it is for, a planted
customer export inside a real source tree, and installed and published projects' own files."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gates.errors import InputError
from gates.pii import scan as scan_module
from gates.pii.analyzer import Scanner
from gates.pii.config import Hit
from gates.plugins.interface import CollectContext, Collected
from gates.plugins.pii import PiiGate, scan_config
from gates.plugins.registry import load_registry
from gates.policy.loader import load_policy
from gates.policy.model import PolicyContext
from gates.util.files import select_files
from tests.pii_corpus import Planted, plant

MAX_FINDINGS = 25
"""Findings a real project without personal data may give under the default policy."""


@pytest.fixture(scope="module")
def repository() -> Scanner:
    return Scanner(scan_config({}))


@pytest.fixture(scope="module")
def presidio() -> Scanner:
    return Scanner(scan_config({"precision": "presidio"}))


def judged(scanner: Scanner, path: str, text: str) -> list[tuple[str, str, str]]:
    """(entity, value, the rule that dropped it or '') of every value found."""
    return [(h.entity, text[h.start : h.end], h.not_personal) for h in scanner.scan(path, text)]


# (file, a line of it, entity, value, the rule that finds the value not personal: "" = reported)
CASES = [
    # decimal
    (
        "geometries.json",
        '"coordinates": [-95.4381459623171224, 29.6631265631655126]',
        "CREDIT_CARD",
        "6631265631655126",  # pragma: allowlist pii
        "decimal",
    ),  # pragma: allowlist pii
    ("sessions.txt", "expires 1376587691.105 seconds after", "PHONE_NUMBER", "1376587691", "decimal"),
    # blob
    (
        "package-lock.json",
        '"integrity": "sha512-Q2x/+4930901820/ZkYw+Ab==",',
        "PHONE_NUMBER",
        "+4930901820",
        "blob",
    ),
    (
        "id_rsa.pub",
        "ssh-rsa AAAAB3NzaC1yc2E/4158675309/AAAADAQABAAABAQC",
        "PHONE_NUMBER",
        "4158675309",
        "blob",
    ),
    # card_brand
    (
        "cacert.pem",
        "# Issuer: CN=Certigna Root CA O=Dhimyotis OU=0002 48146308100036",
        "CREDIT_CARD",
        "48146308100036",
        "card_brand",
    ),  # pragma: allowlist pii
    (
        "people.csv",
        "7,Jane Roe,+4915123451655,NL91",
        "CREDIT_CARD",
        "4915123451655",  # pragma: allowlist pii
        "card_brand",
    ),  # pragma: allowlist pii
    (
        "pay.txt",
        "card 4556 7375 8689 9855 on file",  # pragma: allowlist pii
        "CREDIT_CARD",
        "4556 7375 8689 9855",  # pragma: allowlist pii
        "",
    ),  # pragma: allowlist pii
    # sample_number
    (
        "results.py",
        'user_info.parse_string("22 111-22-3333 #221B")',
        "US_SSN",
        "111-22-3333",
        "sample_number",
    ),  # pragma: allowlist pii
    ("hr.csv", "Jane Roe,536-90-4399", "US_SSN", "536-90-4399", ""),  # pragma: allowlist pii
    # phone_format
    ("async.txt", "this is thread id 6131478528.", "PHONE_NUMBER", "6131478528", "phone_format"),
    (
        "group.py",
        "Journal of Mathematical Sociology. 23(3): 181-201. 1999.",
        "PHONE_NUMBER",
        "181-201. 1999",
        "phone_format",
    ),
    ("divisive.py", "http://arxiv.org/abs/0906.0612", "PHONE_NUMBER", "0906.0612", "phone_format"),
    (
        "vendor.js",
        'if("0123456789"!==Object.getOwnPropertyNames',
        "PHONE_NUMBER",
        "0123456789",
        "phone_format",
    ),
    ("notes.md", "Ring her at (415) 867-5309 after five", "PHONE_NUMBER", "(415) 867-5309", ""),
    ("notes.md", "Office 030 901820, ask for Jan", "PHONE_NUMBER", "030 901820", ""),
    ("notes.md", "Ring 01.23.45.67.89 or +49 30 901821", "PHONE_NUMBER", "01.23.45.67.89", ""),
    ("crm.json", '  "mobile": "4158675309",', "PHONE_NUMBER", "4158675309", ""),
    # ip_scope
    ("cache.txt", '"LOCATION": "172.19.26.242:11212",', "IP_ADDRESS", "172.19.26.242", "ip_scope"),
    ("resolv.conf", "nameserver 8.8.8.8", "IP_ADDRESS", "8.8.8.8", "ip_scope"),
    ("net.txt", "ip fe80::1ff:fe23:4567:890a on eth0", "IP_ADDRESS", "fe80::1ff:fe23:4567:890a", "ip_scope"),
    ("access.log", "81.2.69.160 - - [05/Dec/2026] GET /", "IP_ADDRESS", "81.2.69.160", ""),
    # not_an_address
    (
        "core.js",
        'tags:["wcag2a","EN-301-549","EN-9.4.1.2","RGAAv4"]',
        "IP_ADDRESS",
        "9.4.1.2",
        "not_an_address",
    ),
    ("fields.py", "    Section 4.10.22.7 of the HTML5 draft", "IP_ADDRESS", "4.10.22.7", "not_an_address"),
    ("notes.txt", "built against libdnf5 5.2.0.0 today", "IP_ADDRESS", "5.2.0.0", "not_an_address"),
    ("queries.txt", "entries published in 2008::", "IP_ADDRESS", "2008::", "not_an_address"),
    ("json.py", "pairs = zip(args[::2], args[1::2], strict=True)", "IP_ADDRESS", "1::2", "ip_scope"),
    # attribution
    ("AUTHORS", "    Glenn Maynard <glenn@zewt.org>", "EMAIL_ADDRESS", "glenn@zewt.org", "attribution"),
    (
        "x.py",
        "# Silk icon set 1.3 by Mark James <mjames@gmail.com>",
        "EMAIL_ADDRESS",
        "mjames@gmail.com",
        "attribution",
    ),
    (
        "setup.py",
        '    author_email="jannis@leidel.info",',
        "EMAIL_ADDRESS",
        "jannis@leidel.info",
        "attribution",
    ),
    (
        "x.py",
        "        # Michael Hohn <hohn@hooknose.lbl.gov> wrote:",
        "EMAIL_ADDRESS",
        "hohn@hooknose.lbl.gov",
        "attribution",
    ),
    (
        "support.md",
        "Refund requested by jane.roe@gmail.com on 2 May",
        "EMAIL_ADDRESS",
        "jane.roe@gmail.com",
        "",
    ),
    # role_address, placeholder, not_an_email
    (
        "SECURITY.md",
        "Report to security@djangoproject.com, not the tracker",
        "EMAIL_ADDRESS",
        "security@djangoproject.com",
        "role_address",
    ),
    (
        "ml.txt",
        "subscribe django-users@googlegroups.com",
        "EMAIL_ADDRESS",
        "django-users@googlegroups.com",
        "role_address",
    ),
    ("tools.txt", 'EmailField, {"a@a.com": "valid"}', "EMAIL_ADDRESS", "a@a.com", "placeholder"),
    (
        "git.txt",
        '$ git config --global user.email "you@email.com"',
        "EMAIL_ADDRESS",
        "you@email.com",
        "placeholder",
    ),
    (
        "widgets.py",
        '"https://cdn.jsdelivr.net/npm/ol@v7.2.2/ol.css",',
        "EMAIL_ADDRESS",
        "cdn.jsdelivr.net/npm/ol@v7.2.2",
        "not_an_email",
    ),
    (
        "README.md",
        'alt="Follow @wagtail@fosstodon.org"',
        "EMAIL_ADDRESS",
        "wagtail@fosstodon.org",
        "not_an_email",
    ),
    # test_code: contact data typed in tests; a card is reported everywhere
    (
        "tests/test_users.py",
        'User.objects.create(email="lennon@thebeatles.com")',
        "EMAIL_ADDRESS",
        "lennon@thebeatles.com",
        "test_code",
    ),
    # real trees' false positives (jupyterlab's and ansible-core's published files)
    (
        "442.js",
        "bezierCurveTo(A-.448084975506*x,p,A,p+.448084975506*x,A,p+x)",
        "PHONE_NUMBER",
        "+.448084975506",
        "decimal",
    ),
    (
        "fonts.css",
        "unicode-range: U+9810-9814,U+9817-9818,U+981e;",
        "PHONE_NUMBER",
        "+9817-9818",
        "code_point",
    ),
    (
        "4324.js",
        'NE(ndQ,"StripContainerCell/lambda$0$Type",1691),ncm(1692,1,{},ny)',
        "PHONE_NUMBER",
        "1691",
        "phone_format",
    ),
    (
        "4324.js",
        "function HU(n,t){T4.call(this,t.zd(),-16449&t.yd())}",
        "PHONE_NUMBER",
        "16449",
        "phone_format",
    ),
    (
        "app.js",
        'customer.cellPhone = "4158675309"',
        "PHONE_NUMBER",
        "4158675309",
        "",
    ),  # pragma: allowlist pii
    ("dict.py", "    telephone: 123-456-7890", "PHONE_NUMBER", "123-456-7890", "sample_number"),
    (
        "to_uuid.yml",
        "to_uuid(namespace='11111111-2222-3333-4444-555555555555')",
        "CREDIT_CARD",
        "4444-555555555555",  # pragma: allowlist pii
        "blob",
    ),
    (
        "urlsplit.py",
        '"http://user:password@www.acme.com:9000/dir/index.html"',  # pragma: allowlist secret
        "EMAIL_ADDRESS",
        "password@www.acme.com",
        "not_an_email",
    ),
    (
        "netbsd.json",
        '"version": "NetBSD 8.2 mkrepro@mkrepro.NetBSD.org:/usr/src/sys"',
        "EMAIL_ADDRESS",
        "mkrepro@mkrepro.NetBSD.org",
        "not_an_email",
    ),
    (
        "_ssh_agent.py",
        'SKED25519 = "sk-ssh-ed25519@openssh.com"',
        "EMAIL_ADDRESS",
        "sk-ssh-ed25519@openssh.com",
        "not_an_email",
    ),
    (
        "tests/fixtures/users.json",
        '{"email": "lennon@thebeatles.com"}',
        "EMAIL_ADDRESS",
        "lennon@thebeatles.com",
        "",
    ),
    (
        "tests/test_pay.py",
        'charge("4556 7375 8689 9855")',  # pragma: allowlist pii
        "CREDIT_CARD",
        "4556 7375 8689 9855",  # pragma: allowlist pii
        "",
    ),  # pragma: allowlist pii
]


@pytest.mark.parametrize(("path", "line", "entity", "value", "rule"), CASES)
def test_each_rule_on_its_kind_of_text(
    repository: Scanner, presidio: Scanner, path: str, line: str, entity: str, value: str, rule: str
) -> None:
    text = f"first line\n{line}\nlast line\n"
    assert (entity, value, rule) in judged(repository, path, text)
    assert (entity, value, "") in judged(presidio, path, text)  # Presidio itself reports it


def test_card_numbers_presidio_misses(repository: Scanner, presidio: Scanner) -> None:
    """Mastercard's 2-series and 19-digit Visa numbers: found with repository precision, kept only
    for an issuer's range; `precision: presidio` stays the naive call, which finds neither."""
    numbers = {
        "2645-3449-7869-0732": "",  # pragma: allowlist pii
        "2720 9931 5500 0012": "",  # pragma: allowlist pii
        "4748906828836075985": "",  # pragma: allowlist pii
        "4748 9068 2883 6075 985": "",  # pragma: allowlist pii
        "2200 1234 5678 9019": "card_brand",  # pragma: allowlist pii
        "2790 4512 0000 0003": "card_brand",  # pragma: allowlist pii
    }
    text = "".join(f"{i},{number}\n" for i, number in enumerate(numbers))
    assert {v: r for _, v, r in judged(repository, "cards.csv", f"id,card\n{text}")} == numbers
    assert judged(presidio, "cards.csv", f"id,card\n{text}") == []


def test_attribution_blocks_and_lists(repository: Scanner) -> None:
    po = (
        "# Translators:\n# Jannis Leidel <jannis@leidel.info>, 2011\n"
        "# Besnik Bleta <besnik@programeshqip.org>, 2014\n"
        'msgid ""\nmsgstr ""\n"Last-Translator: Rafael Fontenelle "\n"<rffontenelle@gmail.com>, 2022\\n"\n'
    )
    pyproject = '[project]\nauthors = [\n    {name = "Jane Roe", email = "jane@roe.dev"},\n]\n'
    module = 'DOCUMENTATION = """\nauthor:\n  - Jane Roe (@janeroe) <jane@roe.dev>\n"""\n'
    records = '[\n  {\n    "name": "Jane Roe",\n    "email": "jane.roe@gmail.com"\n  }\n]\n'
    assert {v: r for _, v, r in judged(repository, "django.po", po)} == {
        "jannis@leidel.info": "attribution",
        "besnik@programeshqip.org": "attribution",
        "rffontenelle@gmail.com": "attribution",
    }
    assert judged(repository, "pyproject.toml", pyproject) == [
        ("EMAIL_ADDRESS", "jane@roe.dev", "attribution")
    ]
    assert judged(repository, "customers.json", records) == [("EMAIL_ADDRESS", "jane.roe@gmail.com", "")]
    assert judged(repository, "modules/dnf.py", module) == [("EMAIL_ADDRESS", "jane@roe.dev", "attribution")]


def test_phone_words_in_csv_headers_and_printed_tables(repository: Scanner) -> None:
    csv = "id;Name;Telefon;Land\n1;Jane Roe;4158675309;US\n2;Jan Roe;02083661177;GB\n"
    ids = "id,name,account\n1,Jane Roe,4158675309\n"
    frame = "        name          phone\n0  Jane Roe     4158675309\n1   Jan Roe    02083661177\n"
    assert [r for _, _, r in judged(repository, "export.csv", csv)] == ["", ""]
    assert [r for _, _, r in judged(repository, "export.csv", ids)] == ["phone_format"]
    assert [r for _, _, r in judged(repository, "frame.txt", frame)] == ["", ""]


def test_path_data_is_blanked_before_any_recognizer(repository: Scanner, presidio: Scanner) -> None:
    # The start of Simple Icons' Porsche icon (CC0, shipped in mkdocs-material's wheel), as an SVG
    # and as a JavaScript string; the e-mail address beside it is still found, on its own line.
    path = (
        "M11.972 0A26 26 0 0 0 9.93.091a28 28 0 0 0-4.248.685 24 24 0 0 0-2.975.966l-.06.022s.118 7"
        ".243.21 10.831a10 10 0 0 0 .569 3.098 15 15 0 0 0 1.622 3.214A12.9 12.9 0 0 0 7.56 21.66a1"
        "1 11 0 0 0 1.192.873 15 15 0 0 0 2.038 1.031c.233.098.436.192.62.255A5 5 0 0 0 12 24a5 5 0"
        " 0 0 .59-.182c.182-.063.387-.156.62-.255a15 15 0 0 0 2.037-1.031 11 11 0 0 0 1.194-.873 12"
        ".9 12.9 0 0 0 2.511-2.752 15 15 0 0 0 1.622-3.214 10 10 0 0 0 .57-3.098c.091-3.588.21-10.8"
        "27.21-10.827l-.057-.026a24 24 0 0 0-2.976-.966 28 28 0 0 0-4.248-.684A26 26 0 0 0 12.031 0"
        "zm0 .361h.057c.679.008 1.288.03 1.963.09a26.6 26.6 0 0 1 4.084.663 22.5 22.5 0 0 1 2.861.9"
        "37l.057.025-.038 2.274-.019-.01a23 23 0 0 0-2.86-.937 26.6 26.6 0 0"
    )
    svg = f'<svg viewBox="0 0 1920 1080">\n<path d="{path}"/>\n<!-- jane.roe@gmail.com -->\n</svg>\n'
    js = f'const icon = {{d:"{path}"}};\n'
    assert len([h for h in presidio.scan("icon.svg", svg) if h.entity == "PHONE_NUMBER"]) >= 3
    assert judged(repository, "icon.svg", svg) == [("EMAIL_ADDRESS", "jane.roe@gmail.com", "")]
    assert [h.line for h in repository.scan("icon.svg", svg)] == [3]
    assert judged(repository, "bundle.js", js) == []


def test_precision_presidio_is_the_naive_call(presidio: Scanner) -> None:
    text = 'thread id 6131478528, EN-9.4.1.2 and <glenn@zewt.org>\nd="M80.568 49.0039H75.3497"\n'
    naive = Scanner(scan_config({"precision": "presidio"}), fast=False)
    fast = [(h.entity, h.start, h.end, h.not_personal) for h in presidio.scan("t.txt", text)]
    assert fast == [(h.entity, h.start, h.end, h.not_personal) for h in naive.scan("t.txt", text)]
    assert {e for e, *_ in fast} >= {"PHONE_NUMBER", "IP_ADDRESS", "EMAIL_ADDRESS"}


def test_policy_names_a_known_precision(tmp_path: Path) -> None:
    policy = tmp_path / "gates.yaml"
    policy.write_text("version: 1\ngates:\n  pii: {precision: loose}\n", encoding="utf-8")
    with pytest.raises(InputError, match="precision"):
        load_policy(policy, load_registry(), PolicyContext())


def _copy_installed(package: str, into: Path) -> Path:
    """An installed package's files (a real tree nobody here wrote), copied: site-packages may lie
    inside a repository that ignores it."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    target = into / package
    shutil.copytree(spec.submodule_search_locations[0], target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def collect(root: Path, **settings: Any) -> Collected:
    ctx = CollectContext(
        root=root, settings={"jobs": 1, **settings}, out_dir=root / ".gates", deadline=time.monotonic() + 600
    )
    return PiiGate().collect(ctx)


def _recall(planted: list[Planted], hits: list[Hit]) -> tuple[Counter[str], Counter[str]]:
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p in planted:
        total[p.entity] += 1
        found[p.entity] += any(
            h.path == p.path and h.entity == p.entity and h.start < p.end and h.end > p.start for h in hits
        )
    return found, total


def test_planted_customer_export_inside_a_real_tree(tmp_path: Path) -> None:
    root = _copy_installed("docutils", tmp_path)
    planted = plant(root, seed=17, customers=250)
    files = select_files(root).files
    result = scan_module.scan(files, scan_config({}), workers=1, deadline=time.monotonic() + 600)
    found, total = _recall(planted, result.hits)
    assert set(total) == {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN"}
    for entity in ("EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN"):
        assert found[entity] == total[entity], entity
    assert found["PHONE_NUMBER"] >= 0.95 * total["PHONE_NUMBER"]
    forms = {p.form.split()[0] for p in planted if p.entity == "PHONE_NUMBER"}
    assert forms == {"US", "GB", "DE", "FR", "IN", "BR"}
    planted_files = {p.path for p in planted}
    assert {p.rsplit(".", 1)[1] for p in planted_files} == {"csv", "json", "yaml", "ipynb"}
    spans = {(p.path, p.entity, p.start, p.end) for p in planted}
    in_planted = [h for h in result.hits if h.path in planted_files]
    extra = [
        h
        for h in in_planted
        if not any(s[0] == h.path and s[1] == h.entity and s[2] < h.end and s[3] > h.start for s in spans)
    ]
    assert extra == []
    elsewhere = [h for h in result.hits if h.path not in planted_files]
    assert len(elsewhere) <= MAX_FINDINGS
    assert sum(result.not_personal.values()) > 100  # docutils credits its authors


@pytest.mark.parametrize("package", ["IPython", "pygments", "setuptools", "jinja2", "werkzeug"])
def test_installed_projects_give_few_findings(tmp_path: Path, package: str) -> None:
    collected = collect(_copy_installed(package, tmp_path))
    assert len(collected.findings) <= MAX_FINDINGS, Counter(f.rule for f in collected.findings)
    assert set(collected.stats["not_personal"]) <= {
        "test_code", "decimal", "blob", "card_brand", "sample_number", "ip_scope", "not_an_address",
        "phone_format", "not_an_email", "role_address", "placeholder", "attribution",
    }  # fmt: skip


WHEEL = "sphinx==9.0.4"
"""A published project with SVG artwork, minified JavaScript and 70 translations."""


@pytest.fixture(scope="module")
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel's files, downloaded from the package index once (kept in pytest's cache)."""
    cache = Path(request.config.cache.mkdir("pii-wheels"))
    if not list(cache.glob("sphinx-*.whl")):
        download = ["download", "-q", "--no-deps", "--only-binary", ":all:", WHEEL, "-d", str(cache)]
        subprocess.run(
            [sys.executable, "-m", "pip", *download],
            check=True,
            capture_output=True,
        )  # fmt: skip
    root = tmp_path_factory.mktemp("published")
    with zipfile.ZipFile(next(cache.glob("sphinx-*.whl"))) as wheel:
        wheel.extractall(root)
    return root


def test_published_project_assets(published: Path) -> None:
    assets = ["**/*.svg", "**/*.po", "**/*.js", "**/*.pot"]
    naive = collect(published, include=assets, precision="presidio")
    kept = collect(published)
    by_rule = Counter(f.rule for f in naive.findings)
    assert by_rule["EMAIL_ADDRESS"] >= 100 and by_rule["PHONE_NUMBER"] >= 20  # translators, digit runs
    assert len(kept.findings) <= MAX_FINDINGS, [(f.rule, f.location.path) for f in kept.findings]
    assert kept.stats["not_personal"]["attribution"] >= 100
