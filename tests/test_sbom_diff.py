"""`gates sbom diff`: real SBOMs (CycloneDX bom-examples), SBOMs the real cyclonedx-py makes from two
requirement sets and from two Python environments, and each ecosystem's version ordering."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates import versions
from tests.conftest import SHARED_DIR, CliResult

BOMS = SHARED_DIR / "data" / "boms"
needs_boms = pytest.mark.skipif(not BOMS.is_dir(), reason="../shared/data/boms is absent (real SBOMs)")


@pytest.mark.parametrize(
    ("purl_type", "lower", "higher"),
    [
        # Go: pseudo-versions sort by their timestamp, before the release they precede.
        ("golang", "v0.0.0-20210101000000-abcdefabcdef", "v0.0.0-20220101000000-0123456789ab"),
        ("golang", "v1.2.3", "v1.2.4-0.20220101000000-abcdefabcdef"),
        ("golang", "v1.2.4-0.20220101000000-abcdefabcdef", "v1.2.4"),
        ("golang", "v1.9.0", "v2.0.0+incompatible"),
        # Maven: qualifiers (alpha < beta < milestone < rc < snapshot < release < sp), numbers inside.
        ("maven", "2.0-beta8", "2.0-beta9"),
        ("maven", "2.0-beta9", "2.0-beta10"),
        ("maven", "2.0-beta10", "2.0"),
        ("maven", "1.0-alpha1", "1.0-beta1"),
        ("maven", "1.0-rc1", "1.0-SNAPSHOT"),
        ("maven", "1.0-SNAPSHOT", "1.0"),
        ("maven", "1.0", "1.0-sp1"),
        ("pypi", "1.0rc1", "1.0"),
        ("pypi", "1.0", "1.0.post1"),
        ("pypi", "1.10", "2!0.1"),
        ("npm", "1.0.0-alpha.2", "1.0.0-alpha.10"),
        ("npm", "1.0.0-rc.1", "1.0.0"),
        ("cargo", "0.1.9", "0.1.10"),
        ("composer", "v1.0.0", "1.0.1"),
        ("nuget", "1.0.0-beta", "1.0.0"),
        ("gem", "1.0.0.pre", "1.0.0"),
        ("deb", "2.0-1", "1:1.0-1"),
    ],
)
def test_each_ecosystem_orders_versions_its_own_way(purl_type: str, lower: str, higher: str) -> None:
    assert versions.compare(purl_type, lower, higher) == -1
    assert versions.compare(purl_type, higher, lower) == 1
    assert versions.compare(purl_type, higher, higher) == 0


def test_versions_that_cannot_be_ordered_say_so() -> None:
    assert versions.compare("pypi", "1.0", "not a version") is None
    assert versions.compare("npm", "latest", "1.0.0") is None
    assert versions.compare("generic", "1", "2") is None  # no ordering of its own
    assert versions.compare("unheard-of", "1", "2") is None
    assert versions.version_class("go") is versions.version_class("golang")


def _component(name: str, version: str, licence: str = "MIT") -> dict[str, Any]:
    return {
        "type": "library",
        "name": name,
        "version": version,
        "purl": f"pkg:npm/{name}@{version}",
        "licenses": [{"license": {"id": licence}}],
    }


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@needs_boms
def test_a_real_sbom_against_its_edited_copy(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    original = json.loads((BOMS / "cern-lhc-vdm-editor.cdx.json").read_text(encoding="utf-8"))
    edited = copy.deepcopy(original)
    components = edited["components"]
    by_purl = {c["purl"]: c for c in components}
    for purl, version in (("pkg:npm/puppeteer@1.19.0", "2.0.0"), ("pkg:npm/ws@6.2.1", "5.2.2")):
        by_purl[purl]["version"] = version
        by_purl[purl]["purl"] = purl.rsplit("@", 1)[0] + "@" + version
    by_purl["pkg:npm/mime@2.4.4"]["licenses"] = [{"license": {"id": "GPL-3.0-only"}}]
    components.remove(by_purl["pkg:npm/progress@2.0.3"])
    components.remove(by_purl["pkg:npm/debug@2.6.9"])  # debug 3.2.6 and 4.1.1 stay
    components.append(_component("left-pad", "1.3.0", "WTFPL"))
    old = BOMS / "cern-lhc-vdm-editor.cdx.json"
    new = _write(tmp_path / "new.cdx.json", edited)

    result = run_cli("sbom", "diff", old, new)

    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "added": [
            {
                "name": "left-pad",
                "version": "1.3.0",
                "purl": "pkg:npm/left-pad@1.3.0",
                "licences": "WTFPL",
                "categories": ["Public Domain"],
            }
        ],
        "removed": [
            {
                "name": "progress",
                "version": "2.0.3",
                "purl": "pkg:npm/progress@2.0.3",
                "licences": "MIT",
                "categories": ["Permissive"],
            }
        ],
        "changed": [
            {
                "name": "debug",
                "purl": "pkg:npm/debug@4.1.1",
                "from": "2.6.9, 3.2.6, 4.1.1",
                "to": "3.2.6, 4.1.1",
                "change": "other",
            },
            {
                "name": "mime",
                "purl": "pkg:npm/mime@2.4.4",
                "from": "2.4.4",
                "to": "2.4.4",
                "change": "licence",
                "licences_from": "MIT",
                "licences_to": "GPL-3.0-only",
                "categories_from": ["Permissive"],
                "categories_to": ["Copyleft"],
            },
            {
                "name": "puppeteer",
                "purl": "pkg:npm/puppeteer@2.0.0",
                "from": "1.19.0",
                "to": "2.0.0",
                "change": "upgrade",
            },
            {"name": "ws", "purl": "pkg:npm/ws@5.2.2", "from": "6.2.1", "to": "5.2.2", "change": "downgrade"},
        ],
    }
    same = run_cli("sbom", "diff", old, old)
    assert json.loads(same.out) == {"added": [], "removed": [], "changed": []}


def test_markdown_names_each_change_and_escapes_what_the_sbom_says(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    def bom(*components: dict[str, Any]) -> dict[str, Any]:
        return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": list(components)}

    hostile = _component("x", "1.0.0") | {"name": "a|b <img src=x>", "purl": "pkg:npm/hostile@1.0.0"}
    old = _write(tmp_path / "old.json", bom(_component("kept", "1.0.0"), _component("gone", "1.0.0")))
    new = _write(tmp_path / "new.json", bom(_component("kept", "0.9.0", "GPL-2.0-only"), hostile))

    result = run_cli("sbom", "diff", old, new, "--format", "md")

    assert result.code == 0, result.err
    assert "1 added, 1 removed, 1 changed (0 upgraded, 1 downgraded, 1 with another licence)." in result.out
    assert "| a\\|b &lt;img src=x&gt; | 1.0.0 | MIT (Permissive) |" in result.out
    assert "| kept | 1.0.0 | 0.9.0 | ⬇️ downgrade | MIT (Permissive) → GPL-2.0-only (Copyleft) |" in result.out
    assert "<img" not in result.out


def test_the_diff_orders_maven_and_go_versions_as_their_ecosystems_do(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    def component(purl: str) -> dict[str, Any]:
        name, version = purl.rsplit("/", 1)[1].split("@")
        return {"type": "library", "name": name, "version": version, "purl": purl}

    def bom(*purls: str) -> dict[str, Any]:
        components = [component(p) for p in purls]
        return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}

    old = _write(
        tmp_path / "old.json",
        bom(
            "pkg:maven/org.example/beta@2.0-beta9?type=jar",
            "pkg:maven/org.example/snap@1.0",
            "pkg:golang/golang.org/x/net@v0.0.0-20220101000000-abcdefabcdef",
            "pkg:golang/example.com/mod@v1.2.3",
        ),
    )
    new = _write(
        tmp_path / "new.json",
        bom(
            "pkg:maven/org.example/beta@2.0-beta10?type=jar",  # as text, beta10 < beta9
            "pkg:maven/org.example/snap@1.0-SNAPSHOT",  # a snapshot comes before its release
            "pkg:golang/golang.org/x/net@v0.0.0-20210101000000-0123456789ab",  # an older commit
            "pkg:golang/example.com/mod@v1.2.4-0.20220101000000-abcdefabcdef",  # after v1.2.3
        ),
    )

    changes = json.loads(run_cli("sbom", "diff", old, new).out)

    assert [(c["name"], c["change"]) for c in changes["changed"]] == [
        ("beta", "upgrade"),
        ("mod", "upgrade"),
        ("net", "downgrade"),
        ("snap", "downgrade"),
    ]
    assert changes["added"] == changes["removed"] == []


def test_a_file_that_is_no_sbom_is_exit_2(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"bomFormat": "SPDX"}', encoding="utf-8")
    result = run_cli("sbom", "diff", bad, bad)
    assert result.code == 2
    assert "bad.json: not a CycloneDX SBOM" in result.err
    missing = run_cli("sbom", "diff", tmp_path / "nope.json", bad)
    assert missing.code == 2 and "nope.json: cannot read" in missing.err
    # Bounded time and memory: a FIFO (no writer) or an endless device is refused before reading.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for endless in (fifo, Path("/dev/zero")):
        refused = run_cli("sbom", "diff", endless, bad)
        assert refused.code == 2 and f"{endless}: not a regular file" in refused.err


def _cyclonedx_py(*args: str | Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "cyclonedx_py", *map(str, args), "--of", "JSON", "--sv", "1.6", "-o", "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_sboms_of_two_requirement_sets_made_by_cyclonedx_py(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    sets = {
        "old": "requests==2.31.0\nurllib3==2.0.7\nidna==3.6\nDjango==4.2.11\n",
        "new": "requests==2.32.3\nurllib3==1.26.18\ncertifi==2024.2.2\ndjango==4.2.11\n",
    }
    files = {}
    for name, requirements in sets.items():
        (tmp_path / f"{name}.txt").write_text(requirements, encoding="utf-8")
        files[name] = _write(
            tmp_path / f"{name}.cdx.json", _cyclonedx_py("requirements", tmp_path / f"{name}.txt")
        )

    changes = json.loads(run_cli("sbom", "diff", files["old"], files["new"]).out)

    assert [(a["name"], a["version"]) for a in changes["added"]] == [("certifi", "2024.2.2")]
    assert [(r["name"], r["version"]) for r in changes["removed"]] == [("idna", "3.6")]
    assert [(c["name"], c["from"], c["to"], c["change"]) for c in changes["changed"]] == [
        ("requests", "2.31.0", "2.32.3", "upgrade"),
        ("urllib3", "2.0.7", "1.26.18", "downgrade"),
    ]  # Django and django are one PyPI package


def _environment(root: Path, distributions: dict[str, tuple[str, str]]) -> Path:
    """A virtual environment with these distributions (name -> version, licence) installed: their
    metadata in site-packages, which is all cyclonedx-py reads."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for name, (version, licence) in distributions.items():
        info = Path(purelib) / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: {licence}\n", encoding="utf-8"
        )
        (info / "RECORD").write_text("", encoding="utf-8")
    assert sysconfig.get_paths()["purelib"] != purelib
    return python


def test_a_licence_change_between_two_environments_made_by_cyclonedx_py(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    old = _environment(tmp_path / "v1", {"demo-lib": ("1.0", "MIT"), "steady": ("2.0", "BSD-3-Clause")})
    new = _environment(
        tmp_path / "v2", {"demo-lib": ("1.1", "GPL-3.0-only"), "steady": ("2.0", "Apache-2.0")}
    )
    files = [
        _write(tmp_path / f"{n}.cdx.json", _cyclonedx_py("environment", python))
        for n, python in (("old", old), ("new", new))
    ]

    changes = json.loads(run_cli("sbom", "diff", *files).out)

    assert changes["added"] == changes["removed"] == []
    assert changes["changed"] == [
        {
            "name": "demo-lib",
            "purl": "pkg:pypi/demo-lib@1.1",
            "from": "1.0",
            "to": "1.1",
            "change": "upgrade",
            "licences_from": "MIT",
            "licences_to": "GPL-3.0-only",
            "categories_from": ["Permissive"],
            "categories_to": ["Copyleft"],
        },
        {
            "name": "steady",
            "purl": "pkg:pypi/steady@2.0",
            "from": "2.0",
            "to": "2.0",
            "change": "licence",
            "licences_from": "BSD-3-Clause",
            "licences_to": "Apache-2.0",
            "categories_from": ["Permissive"],
            "categories_to": ["Permissive"],
        },
    ]
