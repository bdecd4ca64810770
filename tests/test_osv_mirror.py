"""The local OSV mirror: loading OSV records, matching versions, the HTTP API, the CLI command."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gates.errors import InputError
from gates.model import Severity
from gates.osv import cvss
from gates.osv.mirror import OsvDatabase
from tests.conftest import OSV_FIXTURES, OSV_SHARED_SAMPLE


def _post(url: str, body: Any) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _ids(db: OsvDatabase, name: str, version: str) -> list[str]:
    return [r["id"] for r in db.query("PyPI", name, version)]


@pytest.fixture(scope="module")
def fixtures_db() -> OsvDatabase:
    return OsvDatabase.load(OSV_FIXTURES)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.9", []),
        ("0.9.post1", ["GATES-TEST-0001"]),  # listed in `versions`, outside the ranges
        ("1.0", ["GATES-TEST-0001"]),
        ("1.1.9", ["GATES-TEST-0001"]),
        ("1.2", []),  # fixed
        ("2.1", ["GATES-TEST-0001"]),  # last_affected is still affected
        ("2.1.1", []),
        ("3.0", ["GATES-TEST-0002"]),  # introduced, never fixed
        ("9.9", ["GATES-TEST-0002"]),
    ],
)
def test_ranges_and_versions_lists_decide_what_is_affected(
    fixtures_db: OsvDatabase, version: str, expected: list[str]
) -> None:
    assert _ids(fixtures_db, "gates-demo", version) == expected


def test_names_are_matched_after_pep503_normalisation(fixtures_db: OsvDatabase) -> None:
    assert _ids(fixtures_db, "JINJA2", "2.10") == ["PYSEC-2019-217"]
    assert _ids(fixtures_db, "Gates.Demo", "1.0") == ["GATES-TEST-0001"]
    assert _ids(fixtures_db, "jinja2", "2.10.1") == []


def test_timestamps_are_reserialised_in_the_form_pip_audit_parses(fixtures_db: OsvDatabase) -> None:
    record = fixtures_db.records["PYSEC-2019-217"]
    # An unquoted YAML timestamp with microseconds, and an explicit offset: both made plain UTC.
    assert record["modified"] == "2021-11-22T04:57:52Z"
    assert record["published"] == "2019-04-07T00:29:00Z"
    assert fixtures_db.records["GATES-TEST-0001"]["published"] == "2024-01-01T00:00:00Z"


def test_an_osv_export_zip_loads_like_a_directory(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(OSV_FIXTURES / "demo" / "GATES-TEST-0001.json", "GATES-TEST-0001.json")
    assert _ids(OsvDatabase.load(archive), "gates-demo", "1.0") == ["GATES-TEST-0001"]


def test_a_corrupt_record_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "BAD-1.yaml").write_text("id: BAD-1\naffected: [\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"BAD-1\.yaml: not valid YAML"):
        OsvDatabase.load(tmp_path)


def test_hidden_and_linked_folders_and_links_to_nothing_are_not_read_and_no_folder_is_too_deep(
    tmp_path: Path,
) -> None:
    def record(advisory: str) -> str:
        return json.dumps(
            {
                "id": advisory,
                "affected": [{"package": {"name": "demo", "ecosystem": "PyPI"}, "versions": ["1.0"]}],
            }
        )

    database = tmp_path / "db"
    for folder, advisory in (("a", "A-1"), (".git", "HIDDEN-1"), ("../elsewhere", "LINKED-1")):
        (database / folder).mkdir(parents=True)
        (database / folder / f"{advisory}.json").write_text(record(advisory), encoding="utf-8")
    (database / "linked").symlink_to(tmp_path / "elsewhere")
    (database / "folder.json").symlink_to(database / "a")
    (database / "dangling.json").symlink_to(tmp_path / "nothing")
    deep = database
    for _ in range(1100):  # deeper than Python's recursion limit
        deep = deep / "d"
        deep.mkdir()
    (deep / "DEEP-1.json").write_text(record("DEEP-1"), encoding="utf-8")
    try:
        assert _ids(OsvDatabase.load(database), "demo", "1.0") == ["A-1", "DEEP-1"]
    finally:  # shutil.rmtree, cleaning up after pytest, recurses
        (deep / "DEEP-1.json").unlink()
        while deep != database:
            deep.rmdir()
            deep = deep.parent


def test_http_api_answers_query_querybatch_and_vulns(osv_fixture_mirror: str) -> None:
    assert osv_fixture_mirror.startswith("http://127.0.0.1:")
    found = _post(
        f"{osv_fixture_mirror}/v1/query",
        {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "2.10"},
    )
    assert [v["id"] for v in found["vulns"]] == ["PYSEC-2019-217"]
    assert _post(f"{osv_fixture_mirror}/v1/query", {"package": {"purl": "pkg:pypi/jinja2@3.1.4"}}) == {}
    batch = _post(
        f"{osv_fixture_mirror}/v1/querybatch",
        {
            "queries": [
                {"package": {"purl": "pkg:pypi/gates-demo@1.0"}},
                {"package": {"purl": "pkg:pypi/jinja2@3.0"}},
            ]
        },
    )
    assert batch == {
        "results": [{"vulns": [{"id": "GATES-TEST-0001", "modified": "2024-01-02T03:04:05Z"}]}, {}]
    }
    with urllib.request.urlopen(f"{osv_fixture_mirror}/v1/vulns/GATES-TEST-0002", timeout=10) as r:
        assert json.loads(r.read())["aliases"] == ["GHSA-gate-test-0002"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{osv_fixture_mirror}/v1/vulns/NOPE-1", timeout=10)
    assert missing.value.code == 404
    missing.value.close()
    with pytest.raises(urllib.error.HTTPError) as bad:
        _post(f"{osv_fixture_mirror}/v1/query", {"commit": "abc"})
    assert bad.value.code == 400
    bad.value.close()


@pytest.mark.skipif(not OSV_SHARED_SAMPLE.is_dir(), reason="../shared/data/osv-pypi-sample is absent")
def test_real_pypa_advisories_from_the_shared_sample() -> None:
    db = OsvDatabase.load(OSV_SHARED_SAMPLE)
    assert _ids(db, "jinja2", "2.10") == ["PYSEC-2019-217", "PYSEC-2021-66"]
    assert _ids(db, "flask", "2.2.5") == []
    assert "PYSEC-2023-62" in _ids(db, "flask", "2.2.4")
    assert all(
        r.get("modified", "Z").endswith("Z") and "." not in r.get("modified", "") for r in db.records.values()
    )


def test_cli_serves_a_directory_on_loopback_and_prints_its_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gates", "osv-mirror", "serve", str(OSV_FIXTURES), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        found = _post(f"{url}/v1/query", {"package": {"purl": "pkg:pypi/jinja2@2.10"}})
        assert [v["id"] for v in found["vulns"]] == ["PYSEC-2019-217"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.parametrize(
    ("vector", "score", "rating"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, Severity.HIGH),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", 8.1, Severity.HIGH),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, Severity.MEDIUM),
        ("CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.2, Severity.MEDIUM),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, Severity.CRITICAL),
        ("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, Severity.LOW),
    ],
)
def test_cvss_v3_base_scores(vector: str, score: float, rating: Severity) -> None:
    computed = cvss.base_score(vector)
    assert computed == score
    assert cvss.severity(score) is rating


def test_cvss_vectors_it_cannot_score_give_none() -> None:
    assert cvss.base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") is None
    assert cvss.base_score("CVSS:3.1/AV:N") is None


def test_pypi_names_are_served_in_canonical_form_as_osv_does(tmp_path: Path) -> None:
    """pip-audit matches fixed versions by the canonical name; a database may spell it otherwise."""
    from gates.osv.mirror import OsvDatabase

    record = tmp_path / "db" / "X-1.json"
    record.parent.mkdir()
    record.write_text(
        '{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"name": "Jinja2",'
        ' "ecosystem": "PyPI"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},'
        ' {"fixed": "2.10.1"}]}]}]}'
    )
    (served,) = OsvDatabase.load(tmp_path / "db").query("PyPI", "jinja2", "2.10")
    assert served["affected"][0]["package"]["name"] == "jinja2"
