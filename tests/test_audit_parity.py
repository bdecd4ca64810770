"""pip-audit in the gate's process answers exactly as its command line does on the same pins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from gates.osv.audit import audit
from gates.osv.client import fetch_record
from gates.osv.mirror import OsvDatabase
from gates.plugins.vulnerabilities import _ids

# Old pins of the packages the shared sample database covers, and one it does not.
PINS = [
    ("cryptography", "3.2"),
    ("flask", "0.12"),
    ("jinja2", "2.10"),
    ("pillow", "6.0.0"),
    ("pyyaml", "5.1"),
    ("requests", "2.19.0"),
    ("setuptools", "40.0.0"),
    ("urllib3", "1.24.1"),
    ("werkzeug", "0.14"),
    ("zope-interface", "5.0.0"),
]


def _cli(pins: list[tuple[str, str]], base: str, tmp_path: Path) -> list[dict[str, Any]]:
    requirements = tmp_path / "pins.txt"
    requirements.write_text("".join(f"{n}=={v}\n" for n, v in pins), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps", "--disable-pip",
         "-s", "osv", "--osv-url", f"{base}/v1/query", "-f", "json", "--desc", "on",
         "--aliases", "on", "--progress-spinner", "off"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    dependencies: list[dict[str, Any]] = json.loads(proc.stdout)["dependencies"]
    return dependencies


def _normalised(dependencies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pip-audit lists an advisory's aliases from a set: their order changes from process to process."""
    return [
        {**d, "vulns": [{**v, "aliases": sorted(v["aliases"])} for v in d.get("vulns", [])]}
        for d in dependencies
    ]


def _as_by_hand(dependencies: list[dict[str, Any]], mirror: str, tmp_path: Path) -> dict[Any, Any]:
    """Each advisory's record as the mirror gives it when asked by id, once the dependencies and
    their advisories are checked to be what pip-audit by hand finds on that mirror."""
    assert _normalised(dependencies) == _normalised(_cli(PINS, mirror, tmp_path))
    advisories = {_ids(v) for d in dependencies for v in d["vulns"]}
    assert len(advisories) > 10
    records = {ids: fetch_record(mirror, ids) for ids in advisories}
    assert None not in records.values()
    return records


def test_the_same_dependencies_advisories_and_records_as_pip_audit_by_hand(
    osv_mirror: str, tmp_path: Path
) -> None:
    result = audit(PINS, "osv", f"{osv_mirror}/v1/query", 10)
    for ids, fetched in _as_by_hand(result.dependencies, osv_mirror, tmp_path).items():
        # The record kept from the query's answer is the one asking by id gives.
        assert fetch_record(osv_mirror, ids, result.records) == fetched


def test_a_database_answered_in_process_gives_what_pip_audit_by_hand_gets_from_its_mirror(
    osv_database_dir: Path, osv_mirror: str, tmp_path: Path
) -> None:
    """The gate's `osv_database` path: pip-audit's own service, sending its queries to the
    database through a requests transport in this process rather than to a server."""
    database = OsvDatabase.load(osv_database_dir)
    local = "http://osv-database.invalid"
    result = audit(PINS, "osv", f"{local}/v1/query", 10, database.exchange)
    for ids, fetched in _as_by_hand(result.dependencies, osv_mirror, tmp_path).items():
        assert fetch_record(local, ids, exchange=database.exchange) == fetched
        assert fetch_record(local, ids, result.records, database.exchange) == fetched
