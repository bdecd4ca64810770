"""Reading CycloneDX SBOMs, JSON and XML, and validating them as strictly as cyclonedx-python-lib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from gates.errors import InputError
from gates.sbom import iri
from gates.sbom.read import parse_sbom
from tests.conftest import SHARED_BOMS, CliResult, needs_shared_boms

XML_BOM = """\
<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1">
  <metadata>
    <component type="application"><name>app</name><version>1.0</version>
      <licenses><license><id>Apache-2.0</id></license></licenses></component>
  </metadata>
  <components>
    <component type="library">
      <group>org.example</group><name>core</name><version>2.0</version>
      <licenses><license><name>The Apache Software License, Version 2.0</name></license></licenses>
      <purl>pkg:maven/org.example/core@2.0</purl>
      <components>
        <component type="library"><name>inner</name><version>0.1</version>
          <licenses><expression>MIT OR GPL-3.0-only</expression></licenses>
          <purl>pkg:maven/org.example/inner@0.1</purl></component>
      </components>
    </component>
    <component type="library"><name>gpl</name><version>3</version>
      <licenses><license><id>GPL-3.0-only</id></license></licenses>
      <purl>pkg:maven/org.example/gpl@3</purl></component>
  </components>
</bom>
"""

BAD_URL = "http://exa mple.com/<bad>"


def _json_bom(url: str) -> str:
    component = {
        "type": "library",
        "name": "x",
        "version": "1",
        "externalReferences": [{"type": "website", "url": url}],
    }
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [component]}
    )


def test_an_xml_sbom_is_read_like_json() -> None:
    sbom = parse_sbom(XML_BOM.encode(), "bom.xml")
    assert (sbom.format, sbom.spec_version, sbom.problem) == ("xml", "1.5", None)
    assert sbom.root is not None and sbom.root.licences == ("Apache-2.0",)
    assert [(c.name, c.purl, c.licences) for c in sbom.components] == [
        ("org.example/core", "pkg:maven/org.example/core@2.0", ("The Apache Software License, Version 2.0",)),
        ("inner", "pkg:maven/org.example/inner@0.1", ("MIT OR GPL-3.0-only",)),
        ("gpl", "pkg:maven/org.example/gpl@3", ("GPL-3.0-only",)),
    ]


def test_an_xml_sbom_that_breaks_the_schema_carries_the_problem_with_its_line() -> None:
    broken = XML_BOM.replace("<version>2.0</version>", "<version>2.0</version><colour>red</colour>")
    problem = parse_sbom(broken.encode(), "bom.xml").problem
    assert problem is not None and problem.startswith(
        "line 9: Element 'colour': This element is not expected."
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'>\n<components>\n</bom>",
            "bom.xml:3: not well-formed XML",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE bom [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'>&b;</bom>",
            "bom.xml: XML entities and external references are not accepted",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'>&x;</bom>",
            "bom.xml: XML entities and external references are not accepted",
        ),
        (b"<project xmlns='http://maven.apache.org/POM/4.0.0'/>", "bom.xml: not a CycloneDX SBOM"),
        (b"<bom xmlns='http://cyclonedx.org/schema/bom/9.9'/>", "unsupported CycloneDX XML namespace"),
        (
            "<?xml version='1.0' encoding='ISO-8859-1'?><bom xmlns='http://cyclonedx.org/schema/bom/1.5'>é</bom>".encode(
                "latin-1"
            ),
            "bom.xml: not UTF-8",
        ),
    ],
)
def test_hostile_or_foreign_xml_is_bad_input(raw: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_sbom(raw, "bom.xml")
    assert message in str(caught.value)


def test_deeply_nested_components_are_read_without_recursion() -> None:
    depth = 5000
    inner = "".join(f"<component type='library'><name>c{i}</name><components>" for i in range(depth))
    outer = "</components></component>" * depth
    raw = f"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'><components>{inner}{outer}</components></bom>"
    sbom = parse_sbom(raw.encode(), "deep.xml")
    assert len(sbom.components) == depth and sbom.components[-1].name == f"c{depth - 1}"
    assert sbom.problem is not None and "depth" in sbom.problem  # too deep for the library's parser
    # json reads 300 levels; the schema validator's recursion does not get through them
    nested = '{"type": "library", "name": "c", "components": [' * 300 + '{"type": "library", "name": "leaf"}'
    raw = f'{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{nested}{"]}" * 300}]}}'
    sbom = parse_sbom(raw.encode(), "deep.json")
    assert len(sbom.components) == 301 and sbom.problem is not None


def test_a_url_that_is_no_iri_makes_the_sbom_invalid() -> None:
    problem = parse_sbom(_json_bom(BAD_URL).encode(), "bom.json").problem
    assert problem is not None and problem.startswith("line 1: components/0/externalReferences/0/url:")
    assert parse_sbom(_json_bom("https://example.com/a?b#c").encode(), "bom.json").problem is None


def test_the_command_line_validates_urls_as_strictly_as_the_library(tmp_path: Path) -> None:
    """The console script starts without rfc3987-syntax; SBOM validation must still check IRIs."""
    (tmp_path / "bom.json").write_text(_json_bom(BAD_URL), encoding="utf-8")
    (tmp_path / "gates.yaml").write_text(
        "version: 1\ngates:\n  sbom: {sbom: {file: bom.json}, require_purl: false}\n", encoding="utf-8"
    )
    gates = Path(sys.executable).parent / "gates"
    done = subprocess.run(
        [str(gates), "run", str(tmp_path), "--only", "sbom", "--out", str(tmp_path / "out"), "--no-cache"],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )
    assert done.returncode == 1, done.stderr
    verdict = json.loads((tmp_path / "out" / "verdict.json").read_text(encoding="utf-8"))
    [gate] = verdict["gates"]
    assert [f["rule"] for f in gate["findings"]] == ["sbom-invalid"]
    assert "externalReferences/0/url" in gate["findings"][0]["message"]


# Strings on which an IRI checker can go wrong: every rule of the grammar, at its edges.
IRI_CASES = [
    *(
        f"http://{host}/p"
        for host in (
            "[::1]",  # refused by rfc3987-syntax's IPv6 forms, so refused here too
            "[1::1]",
            "[1:2:3:4:5:6:7:8]",
            "[1:2:3:4:5:6:1.2.3.4]",
            "[1:2::3:4:5:6:7]",
            "[1:2:3:4:5:6:7::]",
            "[12345::1]",
            "[v1.x]",
            "[V1.x]",
            "[v.x]",
            "1.2.3.4",
            "256.1.1.1",
            "h:",
            "h:8a",
            "u:p@h:80",
            "a@b@c",
            "",
            "ex ample.com",
            "exämple.com",
        )
    ),
    "a:",
    "a:b:c",
    "1a:b",
    "//",
    "///",
    "/a//b",
    "?q",
    "#f",
    "a?b#c#d",
    "./a:b",
    "a/b:c",
    "%41",
    "%4",
    "http://a/%zz",
    "http://a/\ue000",
    "http://a/?\ue000",
    "http://a/#\ue000",
    "http://a\n",
    "http://a/\u00a0\ud7ff\uf900",
    "http://a/\ufdd0",
    "mailto:x@y",
    "git+https://github.com/a/b.git",
    "git+ssh://git@github.com/a/b.git",
    "urn:uuid:591eb851-2646-4d52-aa40-ac8b35a2b2d7",
    "https://api.github.com/repos/symfony/string/zipball/571334ce9f687e3e6af72db4d3b2a9431e4fd9ed",
    BAD_URL,
    "",
]


def test_the_iri_checker_accepts_exactly_what_rfc3987_syntax_accepts() -> None:
    rfc3987_syntax = pytest.importorskip("rfc3987_syntax")  # installed with cyclonedx-python-lib[validation]
    for value in IRI_CASES:
        assert iri.is_iri(value) == rfc3987_syntax.is_valid_syntax("iri", value), value
        assert iri.is_iri_reference(value) == rfc3987_syntax.is_valid_syntax("iri_reference", value), value


def test_the_iri_checker_is_linear_on_hostile_input() -> None:
    for hostile in (
        "a" * 200_000 + " ",
        "http://" + "%4" * 100_000,
        "//" + "a:" * 100_000 + "@@",
        "a:" + "/" * 200_000 + " ",
    ):
        assert not iri.is_iri(hostile + "\n")
        assert not iri.is_iri_reference(hostile + "\n")


@needs_shared_boms
@pytest.mark.parametrize("name", ["laravel-7.12.0", "cern-lhc-vdm-editor"])
def test_real_json_and_xml_sboms_of_one_project_read_alike(name: str) -> None:
    as_json = parse_sbom((SHARED_BOMS / f"{name}.cdx.json").read_bytes(), "json")
    as_xml = parse_sbom((SHARED_BOMS / f"{name}.cdx.xml").read_bytes(), "xml")
    assert as_json.problem is None and as_xml.problem is None
    assert as_json.components == as_xml.components and as_json.root == as_xml.root
    assert len(as_xml.components) > 40


def test_an_xml_sbom_file_feeds_every_supply_chain_gate(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    (tmp_path / "bom.cdx.xml").write_text(XML_BOM, encoding="utf-8")
    (tmp_path / "gates.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            gates:
              sbom: {sbom: &sbom {file: bom.cdx.xml}}
              licence: {sbom: *sbom, deny_categories: [Copyleft]}
            """
        ),
        encoding="utf-8",
    )
    result = run_cli(
        "run", tmp_path, "--only", "sbom", "--only", "licence", "--out", tmp_path / "out", "--no-cache"
    )
    assert result.code == 1, result.err
    verdict = json.loads((tmp_path / "out" / "verdict.json").read_text(encoding="utf-8"))
    licence = next(g for g in verdict["gates"] if g["name"] == "licence")
    assert [(f["rule"], f["location"]["logical"]) for f in licence["findings"]] == [
        ("licence-denied", "pkg:maven/org.example/gpl@3")
    ]
    released = list((tmp_path / "out").rglob("sbom.cdx.*"))
    assert [p.name for p in released] == ["sbom.cdx.xml"] and released[0].read_text(
        encoding="utf-8"
    ) == XML_BOM


@needs_shared_boms
def test_sbom_diff_reads_xml_like_json(run_cli: Callable[..., CliResult]) -> None:
    """The same real SBOM as JSON and as XML: `gates sbom diff` sees no change."""
    result = run_cli(
        "sbom",
        "diff",
        SHARED_BOMS / "laravel-7.12.0.cdx.json",
        SHARED_BOMS / "laravel-7.12.0.cdx.xml",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"added": [], "removed": [], "changed": []}
