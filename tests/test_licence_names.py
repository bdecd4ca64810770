"""Licence names, trove classifiers and SPDX expressions to licence keys, on each declared licence."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gates.model import Finding, Location, Severity
from gates.plugins.licence import LicenceGate
from gates.sbom import licence_names, licence_table, licences
from gates.sbom.read import parse_sbom
from tests.conftest import SHARED_BOMS, needs_shared_boms

# The free-text names real Maven and PyPI SBOMs declare (issue 17), and what they stand for.
REAL_NAMES = [
    ("Public Domain", "LicenseRef-scancode-public-domain"),
    ("lgpl", "LGPL-2.0-or-later"),
    ("GNU Lesser General Public License, Version 2.1", "LGPL-2.1-only"),
    ("Eclipse Distribution License - v 1.0", "BSD-3-Clause"),
    ("EDL 1.0", "BSD-3-Clause"),
    ("BSD License", "BSD-3-Clause"),
    ("The BSD License", "BSD-3-Clause"),
    ("ALv2", "Apache-2.0"),
    ("ASF 2.0", "Apache-2.0"),
    ("AL 2.0", "Apache-2.0"),
    ("Apache Software Licenses", "Apache-2.0"),
    ("The Apache Software License, Version 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("Apache 2", "Apache-2.0"),
    ("Apache2", "Apache-2.0"),
    ("COMMON DEVELOPMENT AND DISTRIBUTION LICENSE (CDDL) Version 1.0", "CDDL-1.0"),
    ("CDDL+GPL", "CDDL-1.1 OR GPL-2.0-only WITH Classpath-exception-2.0"),
    ("CC0", "CC0-1.0"),
    ("GPL v2", "GPL-2.0-only"),
    ("GNU General Public License, version 2", "GPL-2.0-only"),
    ("MIT/X11", "MIT"),
    ("MIT (http://mootools.net/license.txt)", "MIT"),
    ("Eclipse Public License v2.0", "EPL-2.0"),
    ("Eclipse Public License - v 1.0", "EPL-1.0"),
    ("Mozilla Public License, Version 2.0", "MPL-2.0"),
    ("BSD 2-Clause License", "BSD-2-Clause"),
    ("GPL2 w/ CPE", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ("GPL v2 or later", "GPL-2.0-or-later"),
    ("GNU Lesser General Public License, version 2.1 or any later version", "LGPL-2.1-or-later"),
    ("GNU Lesser General Public License v3 or later (LGPLv3+)", "LGPL-3.0-or-later"),
    # POMs in a Maven local repository (tests/data/sboms/SOURCE)
    ("Eclipse Distribution License (New BSD License)", "BSD-3-Clause"),
    ("3-Clause BSD License", "BSD-3-Clause"),
    ("The BSD3 License", "BSD-3-Clause"),
    ("BSD License 3", "BSD-3-Clause"),
    ("Go License", "BSD-3-Clause"),
]

CLASSIFIERS = [
    ("License :: OSI Approved :: BSD License", "BSD-3-Clause"),
    ("License :: OSI Approved :: MIT License", "MIT"),
    ("License :: OSI Approved :: Apache Software License", "Apache-2.0"),
    ("License :: OSI Approved :: Python Software Foundation License", "PSF-2.0"),
    ("License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0-only"),
    ("License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)", "GPL-2.0-or-later"),
    ("License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    ("License :: OSI Approved :: ISC License (ISCL)", "ISC"),
    ("License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)", "LGPL-2.0-or-later"),
]


@pytest.mark.parametrize(("declared", "expected"), REAL_NAMES + CLASSIFIERS)
def test_names_and_classifiers_map_to_licence_keys(declared: str, expected: str) -> None:
    assert licence_names.resolve(declared) == expected
    assert licences.known(expected)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        # one name with "and" inside it, not two licences
        ("Common Development and Distribution License", "CDDL-1.0"),
        ("Common Development and Distribution License 1.1", "CDDL-1.1"),
        # a choice or a conjunction of known names, in words
        ("MPL 2.0 or EPL 1.0", "MPL-2.0 OR EPL-1.0"),
        ("Apache 2.0 and MIT", "Apache-2.0 AND MIT"),
        # SPDX expressions, with deprecated ids, exceptions and ids a name lookup repairs
        ("(MIT OR Apache-2.0)", "MIT OR Apache-2.0"),
        ("LGPL-3.0+", "LGPL-3.0-or-later"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("Apache2 OR MIT", "Apache-2.0 OR MIT"),
        ("MIT OR LicenseRef-Mystery", "MIT OR LicenseRef-Mystery"),  # judged three-valued
        # nothing known in it
        ("BSD-like", None),
        ("Dual MIT/GPL", None),
        ("Common Development", None),
        ("License :: OSI Approved", None),
        ("License :: Other/Proprietary License", None),  # says nothing about the terms
        ("MIT AND (", None),
    ],
)
def test_words_in_names_are_not_operators(declared: str, expected: str | None) -> None:
    assert licence_names.resolve(declared) == expected


@pytest.fixture
def without_table() -> Iterator[None]:
    """The resolver with an empty reviewed table (caches cleared before and after)."""
    saved = dict(licence_table.NAMES)
    licence_table.NAMES.clear()
    licence_names.resolve.cache_clear()
    licence_names._index.cache_clear()
    try:
        yield
    finally:
        licence_table.NAMES.update(saved)
        licence_names.resolve.cache_clear()
        licence_names._index.cache_clear()


TABLE = {
    name: str(licence_names.licensing().parse(expression)) for name, expression in licence_table.NAMES.items()
}


def test_every_table_entry_is_known_and_needed(without_table: None) -> None:
    """Each reviewed entry names licences with a category, and none is already what the licence
    database and the SPDX list say (a dead entry would hide what the sources get right)."""
    assert len({licence_names.words(name) for name in TABLE}) == len(TABLE), "two entries for one name"
    for name, expression in TABLE.items():
        assert licences.known(expression), name
        assert licence_names.resolve(name) != expression, f"{name!r} needs no table entry"


def test_each_declared_licence_is_judged_on_its_own() -> None:
    normalised = licences.normalise(["Apache-2.0", "Some Vendor Licence Agreement"])
    assert (normalised.expression, normalised.unrecognised) == (
        "Apache-2.0",
        ("Some Vendor Licence Agreement",),
    )
    assert _judged(["Apache-2.0", "Some Vendor Licence Agreement"]) == []
    assert [f.rule for f in _judged(["GPL-3.0-only", "Some Vendor Licence Agreement"])] == ["licence-denied"]
    [unknown] = _judged(["Some Vendor Licence Agreement", "Other terms"])
    assert (
        unknown.message
        == "pkg:npm/x@1: `Some Vendor Licence Agreement`, `Other terms` are not a known licence"
    )
    assert unknown.properties["unrecognised"] == ["Some Vendor Licence Agreement", "Other terms"]


def _judged(declared: list[str], **settings: object) -> list[Finding]:
    normalised = licences.normalise(declared)
    record = Finding(
        gate="licence",
        rule="component",
        severity=Severity.INFO,
        message="",
        location=Location(logical="pkg:npm/x@1"),
        fingerprint="f",
        properties={
            "name": "x",
            "version": "1",
            "declared": declared,
            "expression": normalised.expression,
            "category": None,
            "unrecognised": list(normalised.unrecognised),
            "error": normalised.error,
        },
    )
    return LicenceGate().evaluate([record], {"deny_categories": ["Copyleft"], **settings})


@needs_shared_boms
@pytest.mark.parametrize("path", sorted(SHARED_BOMS.glob("*.cdx.*")) if SHARED_BOMS.is_dir() else [])
def test_real_sboms_reach_the_coverage_target(path: Path) -> None:
    """Issue 17: at least 95% of the components that declare a licence get a known category."""
    sbom = parse_sbom(path.read_bytes(), path.name)
    coverage = licences.coverage([c.licences for c in sbom.components])
    assert coverage.declaring > 40
    assert coverage.share >= 0.95, coverage


COMMITTED_BOMS = sorted((Path(__file__).parent / "data" / "sboms").glob("*.cdx.*"))


@pytest.mark.parametrize("path", COMMITTED_BOMS, ids=[p.name for p in COMMITTED_BOMS])
def test_real_maven_sboms_reach_the_coverage_target(path: Path) -> None:
    """Issue 17 on Maven: cdxgen's SBOM of a Maven local repository, JSON and XML
    (tests/data/sboms/SOURCE), licences from the artefacts' own POMs."""
    sbom = parse_sbom(path.read_bytes(), path.name)
    assert sbom.problem is None
    assert {c.purl.split("/")[0] for c in sbom.components if c.purl} == {"pkg:maven"}
    coverage = licences.coverage([c.licences for c in sbom.components])
    assert coverage.declaring > 150
    assert coverage.share >= 0.95, coverage


def test_this_environment_reaches_the_coverage_target(tmp_path: Path) -> None:
    """The PyPI side: an SBOM of the interpreter running the tests (real packages' metadata, trove
    classifiers and License-Expression fields), generated with cyclonedx-py as the gate does."""
    out = tmp_path / "environment.cdx.json"
    subprocess.run(
        [sys.executable, "-m", "cyclonedx_py", "environment", sys.executable, "--of", "JSON", "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    sbom = parse_sbom(out.read_bytes(), "environment")
    coverage = licences.coverage([c.licences for c in sbom.components])
    assert coverage.declaring > 50
    assert coverage.share >= 0.95, coverage


def test_gates_parsing_licences_at_once_in_threads_share_one_built_licensing() -> None:
    """The sbom and licence gates collect in threads of one run: both parsing before the licence
    database's tokenizer was built crashed one of them (AttributeError inside license-expression)."""
    crashed: list[BaseException] = []

    def parse(start: threading.Barrier) -> None:
        start.wait()
        try:
            licence_names.licensing().parse("Apache-2.0 OR (MIT AND GPL-2.0-only)")
        except BaseException as e:
            crashed.append(e)

    for _ in range(30):
        licence_names._built_licensing.cache_clear()
        start = threading.Barrier(6)
        threads = [threading.Thread(target=parse, args=(start,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert crashed == []
