"""Vulnerabilities of every ecosystem: OSV range matching in each ecosystem's own ordering, and the
gate on SBOMs made by other ecosystems' tools (the real cyclonedx-npm; the real SBOMs in ../shared).

The OSV records here are written by the tests, shaped like the real ones (ids of real advisories),
so that each ordering trap is pinned down exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from gates.osv.client import query_batch
from gates.osv.match import affects, fixed_versions, osv_package, record_affects
from gates.osv.mirror import OsvDatabase, serving
from tests.conftest import SHARED_DIR, CliResult, Repo


def _record(
    advisory: str, ecosystem: str, name: str, *ranges: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}, "ranges": list(ranges)}
    if "versions" in extra:
        affected["versions"] = extra.pop("versions")
    return {"id": advisory, "modified": "2024-01-01T00:00:00Z", "affected": [affected], **extra}


def _range(kind: str, *events: tuple[str, str]) -> dict[str, Any]:
    return {"type": kind, "events": [{k: v} for k, v in events]}


def _covers(record: Mapping[str, Any], version: str) -> bool:
    package = record["affected"][0]["package"]
    return record_affects(record, package["ecosystem"], package["name"], version)


MAVEN = _record(
    "GHSA-maven-beta",
    "Maven",
    "org.example:lib",
    _range("ECOSYSTEM", ("introduced", "2.0-beta8"), ("fixed", "2.0")),
)
NPM = _record(
    "GHSA-35jh-r3h4-6jhm",
    "npm",
    "lodash",
    _range("SEMVER", ("introduced", "0"), ("fixed", "4.17.21")),
    summary="Command Injection in lodash",
    severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
)
GO = _record(
    "GO-2022-0229",
    "Go",
    "golang.org/x/crypto",
    _range("SEMVER", ("introduced", "0"), ("fixed", "0.0.0-20220314234659-1baeb1ce4c0b")),
)


@pytest.mark.parametrize(
    ("record", "version", "expected"),
    [
        # Maven's ComparableVersion: qualifiers below the release, numbers inside them compared as numbers
        (MAVEN, "2.0-beta7", False),
        (MAVEN, "2.0-beta8", True),
        (MAVEN, "2.0-beta9", True),
        (MAVEN, "2.0-beta10", True),  # lexically "beta10" < "beta8": a string comparison gets this wrong
        (MAVEN, "2.0-rc1", True),
        (MAVEN, "2.0", False),
        (MAVEN, "2.0.0", False),  # Maven: 2.0 == 2.0.0
        (MAVEN, "10.0", False),
        # npm: a pre-release sorts below its release
        (NPM, "4.17.20", True),
        (NPM, "4.17.21-beta.1", True),
        (NPM, "4.17.21", False),
        (NPM, "4.17.100", False),  # numeric, not lexical
        # Go: SEMVER ranges without the `v`, pseudo-versions ordered by their timestamp
        (GO, "v0.0.0-20210817164053-32db794688a5", True),
        (GO, "v0.0.0-20220314234659-1baeb1ce4c0b", False),
        (GO, "v0.0.0-20220315160706-3147a52a75dd", False),
        (GO, "v0.1.0", False),
    ],
)
def test_ranges_use_each_ecosystems_own_ordering(
    record: dict[str, Any], version: str, expected: bool
) -> None:
    assert _covers(record, version) is expected


def test_last_affected_limit_versions_lists_and_withdrawn_records() -> None:
    last = _record("A-1", "npm", "x", _range("SEMVER", ("introduced", "1.0.0"), ("last_affected", "1.2.0")))
    assert [_covers(last, v) for v in ("0.9.0", "1.0.0", "1.2.0", "1.2.1")] == [False, True, True, False]
    limited = _record("A-2", "npm", "x", _range("SEMVER", ("introduced", "0"), ("limit", "2.0.0")))
    assert [_covers(limited, v) for v in ("1.9.9", "2.0.0", "3.0.0")] == [True, False, False]
    listed = _record("A-3", "RubyGems", "rack", versions=["2.2.3", "2.2.4"])
    assert [_covers(listed, v) for v in ("2.2.3", "2.2.4", "2.2.5")] == [True, True, False]
    reopened = _record(
        "A-4",
        "NuGet",
        "Newtonsoft.Json",
        _range(
            "ECOSYSTEM",
            ("introduced", "0"),
            ("fixed", "12.0.1"),
            ("introduced", "13.0.0"),
            ("fixed", "13.0.1"),
        ),
    )
    assert [_covers(reopened, v) for v in ("11.0.2", "12.0.1", "13.0.0", "13.0.1")] == [
        True,
        False,
        True,
        False,
    ]
    withdrawn = {
        **_record("A-5", "npm", "x", _range("SEMVER", ("introduced", "0"))),
        "withdrawn": "2024-02-01T00:00:00Z",
    }
    assert not _covers(withdrawn, "1.0.0")
    git_only = _record("A-6", "crates.io", "x", _range("GIT", ("introduced", "abc123"), ("fixed", "def456")))
    assert not _covers(git_only, "1.0.0")
    composer = _record(
        "A-7",
        "Packagist",
        "laravel/framework",
        _range("ECOSYSTEM", ("introduced", "7.0.0"), ("fixed", "7.1.2")),
    )
    assert [_covers(composer, v) for v in ("7.0.0-RC1", "7.0.0", "7.1.1", "7.1.2")] == [
        False,
        True,
        True,
        False,
    ]
    assert fixed_versions(reopened, "NuGet", "Newtonsoft.Json") == ["12.0.1", "13.0.1"]
    assert record_affects(reopened, "NuGet", "newtonsoft.json", "11.0.2")  # NuGet ids ignore case
    assert not affects({"ranges": [_range("ECOSYSTEM", ("introduced", "0"))]}, "NoSuchEcosystem", "1.0")


@pytest.mark.parametrize(
    ("purl", "package"),
    [
        ("pkg:npm/%40babel/polyfill@7.10.4", ("npm", "@babel/polyfill")),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ("Maven", "org.apache.logging.log4j:log4j-core"),
        ),
        ("pkg:golang/golang.org/x/crypto@v0.0.0-2021", ("Go", "golang.org/x/crypto")),
        ("pkg:composer/laravel/framework@7.12.0", ("Packagist", "laravel/framework")),
        ("pkg:cargo/smallvec@1.6.0", ("crates.io", "smallvec")),
        ("pkg:gem/rack@2.2.3", ("RubyGems", "rack")),
        ("pkg:nuget/Newtonsoft.Json@12.0.0", ("NuGet", "Newtonsoft.Json")),
        ("pkg:generic/openssl@1.1.1", None),
    ],
)
def test_purls_name_osv_packages(purl: str, package: tuple[str, str] | None) -> None:
    assert osv_package(PackageURL.from_string(purl)) == package


def _database(tmp: Path, *records: Mapping[str, Any]) -> Path:
    folder = tmp / "osv-db"
    folder.mkdir(exist_ok=True)
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    return folder


def test_the_mirror_answers_batch_queries_for_every_ecosystem(tmp_path: Path) -> None:
    database = OsvDatabase.load(_database(tmp_path, MAVEN, NPM, GO))
    with serving(database) as base:
        found = query_batch(
            base,
            [
                ("Maven", "org.example:lib", "2.0-beta10"),
                ("npm", "lodash", "4.17.21"),
                ("npm", "lodash", "4.17.20"),
                ("Go", "golang.org/x/crypto", "v0.0.0-20210817164053-32db794688a5"),
            ],
        )
    assert found == [["GHSA-maven-beta"], [], ["GHSA-35jh-r3h4-6jhm"], ["GO-2022-0229"]]


def _cyclonedx(components: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components}
    )


def _component(purl: str) -> dict[str, Any]:
    parsed = PackageURL.from_string(purl)
    return {"type": "library", "name": parsed.name, "version": parsed.version, "purl": purl, "bom-ref": purl}


def _gate(out: Path) -> dict[str, Any]:
    (gate,) = json.loads((out / "verdict.json").read_text())["gates"]
    return dict(gate)


def test_the_gate_audits_npm_maven_go_and_composer_components(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    composer = _record(
        "GHSA-composer",
        "Packagist",
        "laravel/framework",
        _range("ECOSYSTEM", ("introduced", "0"), ("fixed", "7.1.2")),
    )
    withdrawn = {
        **_record("GHSA-gone", "npm", "lodash", _range("SEMVER", ("introduced", "0"))),
        "withdrawn": "2024-01-02T00:00:00Z",
    }
    database = _database(tmp_path, MAVEN, NPM, GO, composer, withdrawn)
    sbom = _cyclonedx(
        [
            _component("pkg:npm/lodash@4.17.20"),
            _component("pkg:npm/left-pad@1.3.0"),
            _component("pkg:maven/org.example/lib@2.0-beta10"),
            _component("pkg:maven/org.example/lib@2.0"),
            _component("pkg:golang/golang.org/x/crypto@v0.0.0-20210817164053-32db794688a5"),
            _component("pkg:composer/laravel/framework@7.12.0"),
            _component("pkg:generic/zlib@1.2.11"),
            _component("pkg:npm/express@^4.17.0"),
            _component("pkg:pub/shelf@1.0.0"),
        ]
    )
    policy = "version: 1\ngates:\n  vulnerabilities: {sbom: {file: bom.json}, fail_on: high}\n"
    repo = make_repo({"gates.yaml": policy, "bom.json": sbom})
    out = repo.root / "out"
    result = run_cli("run", repo.root, "--out", out, "--input", f"vulnerabilities.osv_database={database}")
    assert result.code == 1, result.err
    gate = _gate(out)
    found = sorted((f["rule"], f["location"]["logical"]) for f in gate["findings"])
    assert found == [
        ("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20"),
        ("GHSA-maven-beta", "pkg:maven/org.example/lib@2.0-beta10"),
        ("GO-2022-0229", "pkg:golang/golang.org/x/crypto@v0.0.0-20210817164053-32db794688a5"),
        ("unaudited", "pkg:npm/express@^4.17.0"),  # a range, not a version: no audit can tell
        ("unaudited", "pkg:pub/shelf@1.0.0"),  # no ordering for Pub at hand
    ]
    lodash = next(f for f in gate["findings"] if f["rule"] == "GHSA-35jh-r3h4-6jhm")
    assert lodash["severity"] == "high" and "4.17.21" in lodash["message"]
    stats = json.loads((out / "findings.json").read_text())["collections"][0]["stats"]
    assert stats["audited_by_ecosystem"] == {"Go": 1, "Maven": 2, "Packagist": 1, "npm": 2}
    assert stats["not_audited"] == {"generic": 1}

    waived = (
        policy
        + "waivers:\n"
        + "".join(
            f"  - {{gate: vulnerabilities, rule: {rule}, reason: ok, owner: web, expires: '2099-01-01'}}\n"
            for rule in ("GHSA-35jh-r3h4-6jhm", "GHSA-maven-beta", "GO-2022-0229", "unaudited")
        )
    )
    repo.write("gates.yaml", waived)
    repo.commit("waive")
    assert (
        run_cli("run", repo.root, "--out", out, "--input", f"vulnerabilities.osv_database={database}").code
        == 0
    )


def test_an_unreachable_osv_service_is_an_error_for_other_ecosystems_too(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # pragma: allowlist nextline secret
    policy = "version: 1\ngates:\n  vulnerabilities: {sbom: {file: bom.json}, osv_url: 'http://user:pw@127.0.0.1:9'}\n"
    repo = make_repo({"gates.yaml": policy, "bom.json": _cyclonedx([_component("pkg:npm/lodash@4.17.20")])})
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 3
    gate = _gate(out)
    assert gate["status"] == "error" and "cannot reach http://" in gate["reason"]


def _npm_tools() -> None:
    missing = [tool for tool in ("npm", "cyclonedx-npm") if shutil.which(tool) is None]
    if missing:
        message = f"needs {', '.join(missing)} (.ci/run installs @cyclonedx/cyclonedx-npm with npm)"
        pytest.skip(message)


def test_a_real_cyclonedx_npm_sbom_is_audited(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    _npm_tools()
    package = {
        "name": "tiny-app",
        "version": "1.0.0",
        "private": True,
        "dependencies": {"lodash": "4.17.20", "minimist": "1.2.6"},
    }
    repo = make_repo({"package.json": json.dumps(package), ".npmrc": "fund=false\naudit=false\n"})
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--ignore-scripts"],
        cwd=repo.root,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["cyclonedx-npm", "--package-lock-only", "--output-file", "bom.json"],
        cwd=repo.root,
        check=True,
        capture_output=True,
    )
    minimist = _record(
        "GHSA-xvch-5gv4-984h", "npm", "minimist", _range("SEMVER", ("introduced", "0"), ("fixed", "1.2.6"))
    )
    database = _database(tmp_path, NPM, minimist)
    repo.write("gates.yaml", "version: 1\ngates:\n  vulnerabilities: {sbom: {file: bom.json}}\n")
    repo.commit("sbom")
    out = repo.root / "out"
    assert (
        run_cli("run", repo.root, "--out", out, "--input", f"vulnerabilities.osv_database={database}").code
        == 1
    )
    assert [f["rule"] for f in _gate(out)["findings"]] == ["GHSA-35jh-r3h4-6jhm"]  # minimist 1.2.6 is fixed


def _shared_bom(name: str) -> Path:
    path = SHARED_DIR / "data" / "boms" / name
    if not path.is_file():
        pytest.skip(f"needs ../shared/data/boms/{name} (the shared real SBOMs)")
    return path


@pytest.mark.parametrize(
    ("bom", "purl", "ecosystem"),
    [
        ("juice-shop-11.1.2.cdx.json", "pkg:npm/jsonwebtoken@0.4.0", "npm"),
        ("laravel-7.12.0.cdx.json", "pkg:composer/laravel/framework@v7.30.6", "Packagist"),
        ("protonmail-webclient-v4.cdx.json", "pkg:npm/%40babel/polyfill@7.10.4", "npm"),
    ],
)
def test_real_sboms_of_other_ecosystems(
    bom: str,
    purl: str,
    ecosystem: str,
    tmp_path: Path,
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
) -> None:
    document = json.loads(_shared_bom(bom).read_text())
    purls = {c.get("purl") for c in document.get("components", [])}
    if purl not in purls:  # the pinned component must be in the real SBOM, or the test proves nothing
        pytest.fail(f"{purl} is not in {bom}: {sorted(p for p in purls if p)[:5]}...")
    parsed = PackageURL.from_string(purl)
    package = osv_package(parsed)
    assert package is not None and package[0] == ecosystem
    record = _record("GATES-TEST-REAL", ecosystem, package[1], _range("ECOSYSTEM", ("introduced", "0")))
    database = _database(tmp_path, record)
    repo = make_repo({"gates.yaml": "version: 1\ngates:\n  vulnerabilities: {sbom: {file: bom.json}}\n"})
    shutil.copy(_shared_bom(bom), repo.root / "bom.json")
    repo.commit("sbom")
    out = repo.root / "out"
    run_cli("run", repo.root, "--out", out, "--input", f"vulnerabilities.osv_database={database}")
    gate = _gate(out)
    assert gate["status"] == "fail", gate["reason"]
    hits = {f["location"]["logical"] for f in gate["findings"] if f["rule"] == "GATES-TEST-REAL"}
    assert purl in hits
    stats = json.loads((out / "findings.json").read_text())["collections"][0]["stats"]
    assert (
        stats["audited_by_ecosystem"].get(ecosystem, 0)
        >= len([p for p in purls if p and PackageURL.from_string(p).type == parsed.type]) - 5
    )
