"""Licences of components an SBOM names none for: installed metadata, else the package index's core
metadata (PEP 658) through the index pip is configured with, cached on disk, offline from the cache."""

from __future__ import annotations

import hashlib
import http.server
import importlib.metadata
import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult

# What the index publishes: name, version, the licence lines of each wheel's METADATA
PUBLISHED = {
    ("permissive-thing", "1.0"): "Classifier: License :: OSI Approved :: BSD License\n",
    ("copyleft-thing", "2.0"): "License-Expression: GPL-3.0-or-later\n",
    ("named-thing", "0.3"): "License: The Apache Software License, Version 2.0\n",
}


def _write_index(root: Path) -> None:
    """A PEP 503 index with PEP 658 metadata files next to the wheels (the wheels themselves are
    never fetched)."""
    for (name, version), licence in PUBLISHED.items():
        wheel = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        metadata = f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n{licence}".encode()
        (root / "files").mkdir(parents=True, exist_ok=True)
        (root / "files" / f"{wheel}.metadata").write_bytes(metadata)
        page = root / "simple" / name
        page.mkdir(parents=True)
        digest = hashlib.sha256(metadata).hexdigest()
        (page / "index.html").write_text(
            f'<html><body><a href="../../files/{wheel}#sha256=00" data-core-metadata="sha256={digest}">'
            f"{wheel}</a></body></html>",
            encoding="utf-8",
        )


@pytest.fixture
def index(tmp_path: Path) -> Iterator[str]:
    """A package index served on loopback over HTTP, as pip would be configured to use."""
    root = tmp_path / "index"
    _write_index(root)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def _run(
    run_cli: Callable[..., CliResult], root: Path, lookup: str, requirements: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    root.mkdir(exist_ok=True)
    (root / "requirements.txt").write_text(requirements, encoding="utf-8")
    policy = f"""\
        version: 1
        gates:
          licence:
            deny_categories: [Copyleft]
            lookup: {lookup}
    """
    (root / "gates.yaml").write_text(textwrap.dedent(policy), encoding="utf-8")
    result = run_cli("run", root, "--only", "licence", "--out", root / "out", "--no-cache")
    assert result.code in (0, 1), result.err
    [gate] = json.loads((root / "out" / "verdict.json").read_text(encoding="utf-8"))["gates"]
    return gate, {f["location"]["logical"]: f for f in gate["findings"]}


REQUIREMENTS = "permissive-thing==1.0\ncopyleft-thing==2.0\nnamed-thing==0.3\n"


def test_hostile_purls_name_no_cache_file_and_no_url(tmp_path: Path) -> None:
    from gates.sbom.licence_lookup import look_up
    from gates.util.sealed import open_sealed

    cache = tmp_path / "cache"
    sealed = open_sealed(cache, tmp_path / "repository")
    hostile = [
        ("a", "pkg:pypi/x@1.0%2F..%2F..%2F..%2Fescaped"),
        ("b", "pkg:pypi/..@1.0"),
        ("c", "pkg:npm/left-pad@1.3.0"),
        ("d", "pkg:pypi/x"),
    ]
    found = look_up(hostile, index="http://127.0.0.1:9/simple/", cache=sealed, offline=False, timeout_s=30)
    assert not found.found and set(found.missing) == {"a", "b", "c", "d"}
    assert found.missing["d"] == "not installed here, and unpinned: no version to ask the index about"
    assert not list(cache.rglob("*.json")) and not (tmp_path / "escaped.json").exists()


def test_licences_come_from_pips_index_then_from_the_cache_offline(
    tmp_path: Path, run_cli: Callable[..., CliResult], index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATES_PYPI_INDEX_URL")
    monkeypatch.setenv("PIP_INDEX_URL", index)  # the index pip is configured with
    cache = tmp_path / "cache"
    gate, found = _run(run_cli, tmp_path / "app", f"{{cache: {cache}}}", REQUIREMENTS)
    assert gate["status"] == "fail"
    assert set(found) == {"pkg:pypi/copyleft-thing@2.0"}
    denied = found["pkg:pypi/copyleft-thing@2.0"]
    assert denied["rule"] == "licence-denied"
    assert denied["message"].endswith("(licences from the package index metadata)")
    assert denied["properties"]["licence_source"] == "package index metadata"
    assert gate["stats"]["looked_up"] == {"installed metadata": 0, "package index metadata": 3}
    assert sorted(p.name for p in cache.rglob("*.json")) == ["0.3.json", "1.0.json", "2.0.json"]

    # the same run offline, with the index gone: the cache answers
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    gate, found = _run(run_cli, tmp_path / "app", f"{{cache: {cache}, offline: true}}", REQUIREMENTS)
    assert set(found) == {"pkg:pypi/copyleft-thing@2.0"} and gate["status"] == "fail"

    # An entry edited to a permissive licence (a shared runner's cache, written by a branch job) is
    # no answer: its seal does not verify, so offline the licence is unknown, never allowed.
    (entry,) = cache.rglob("2.0.json")
    entry.write_text(json.dumps({"licences": ["MIT"], "reason": ""}), encoding="utf-8")
    gate, found = _run(run_cli, tmp_path / "app", f"{{cache: {cache}, offline: true}}", REQUIREMENTS)
    assert gate["status"] == "warn" and "licence-denied" not in {f["rule"] for f in found.values()}


def test_licences_that_cannot_be_known_warn_with_the_coverage_figure(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    gate, found = _run(
        run_cli, tmp_path / "app", f"{{cache: {tmp_path / 'empty'}, offline: true}}", REQUIREMENTS
    )
    assert gate["status"] == "warn"  # never a silent pass
    coverage = found[next(k for k in found if found[k]["rule"] == "licence-coverage")]
    assert coverage["message"].startswith("licences known for 0 of 3 components (0%): 3 cannot be known")
    assert "offline, and not in the metadata cache" in coverage["message"]
    assert coverage["properties"]["share"] == 0.0


def test_an_unreachable_index_is_said_and_not_cached(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    lookup = f"{{cache: {tmp_path / 'cache'}, index_url: 'http://127.0.0.1:9/simple/'}}"
    gate, found = _run(run_cli, tmp_path / "app", lookup, REQUIREMENTS)
    assert gate["status"] == "warn"
    [coverage] = [f for f in found.values() if f["rule"] == "licence-coverage"]
    assert "the package index could not be asked (http://127.0.0.1:9/simple/" in coverage["message"]
    assert not list((tmp_path / "cache").rglob("*.json"))  # a failure is asked again next time


def test_an_unpinned_requirement_takes_the_installed_distributions_licences(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    lookup = f"{{cache: {tmp_path / 'cache'}, offline: true}}"
    gate, found = _run(run_cli, tmp_path / "app", lookup, "click>=7\n")
    assert gate["status"] == "pass" and not found
    assert gate["stats"]["looked_up"] == {"installed metadata": 1, "package index metadata": 0}


def test_installed_metadata_of_the_same_version_comes_first(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    click = importlib.metadata.version("click")
    lookup = f"{{cache: {tmp_path / 'cache'}, offline: true}}"
    gate, found = _run(run_cli, tmp_path / "app", lookup, f"click=={click}\n")
    assert gate["status"] == "pass" and not found
    assert gate["stats"]["looked_up"] == {"installed metadata": 1, "package index metadata": 0}
