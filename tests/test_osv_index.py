"""A local OSV database is parsed once and then read from its index, with the same answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gates.osv import mirror
from gates.osv.mirror import INDEX_DIR_ENV, OsvDatabase

PINS = [("pillow", "6.0.0"), ("jinja2", "2.10"), ("urllib3", "1.24.1"), ("flask", "0.12"), ("Jinja2", "2.10")]


def _answers(database: OsvDatabase) -> list[list[str]]:
    return [[r["id"] for r in database.query("PyPI", name, version)] for name, version in PINS]


def test_the_index_answers_as_the_parsed_database_and_follows_its_content(
    osv_database_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INDEX_DIR_ENV, str(tmp_path / "index"))
    database = tmp_path / "db"
    shutil.copytree(osv_database_dir, database)
    parsed = OsvDatabase.load(database)
    (index,) = (tmp_path / "index").glob("*.json")
    parses: list[str] = []
    real_parse = mirror._parse_record
    monkeypatch.setattr(
        mirror, "_parse_record", lambda text, source: parses.append(source) or real_parse(text, source)
    )
    indexed = OsvDatabase.load(database)
    assert parses == []
    assert indexed.records == parsed.records
    assert _answers(indexed) == _answers(parsed) and any(_answers(parsed))
    # Any change to the database's files is a new digest: parsed again, under a new index.
    record = next(p for p in sorted(database.rglob("*")) if p.suffix in (".yaml", ".json"))
    record.write_bytes(record.read_bytes() + b"\n")
    OsvDatabase.load(database)
    assert parses and len(list((tmp_path / "index").glob("*.json"))) == 2
    # An index that cannot be read is a miss, not an error.
    index.write_bytes(b"{not json")
    record.write_bytes(record.read_bytes()[:-1])
    parses.clear()
    assert OsvDatabase.load(database).records == parsed.records and parses
