"""Faster output paths write exactly what the plain ones did."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gates import verdict as verdicts
from gates.errors import InputError
from gates.util.atomic import dump_json
from tests.conftest import VULNERABLE_CODE, CliResult, Repo

SAMPLE: dict[str, Any] = {
    "b": [1, 2.5, 1e-3, 0.1, -0.0, None, True, False, 'é ✓ \u2028 "quoted" \\ \t'],
    "a": {"z": {}, "y": [], "x": [{"k": "v"}], "émoji": "🙂"},
    "n": 9007199254740993,
}


def _plain(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_dump_json_writes_what_the_standard_library_writes() -> None:
    assert dump_json(SAMPLE) == _plain(SAMPLE)
    # What orjson refuses is written by the standard library, not lost.
    for odd in ({"big": 2**70}, {"keys": {1: "one"}}):
        assert dump_json(odd) == _plain(odd)


def test_a_run_writes_its_verdict_as_the_standard_library_would_and_reads_it_back_whole(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": VULNERABLE_CODE, "gates.yaml": "version: 1\ngates:\n  sast: {}\n"})
    assert run_cli("run", repo.root, "--format", "json").code == 1
    for name in ("verdict.json", "findings.json"):
        text = (repo.root / ".gates" / name).read_text(encoding="utf-8")
        assert text == _plain(json.loads(text))
    assert verdicts.load(repo.root / ".gates" / "verdict.json").gates[0].findings
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    # The verdict a run builds is checked without its findings; one read back is checked whole.
    verdict["gates"][0]["findings"][0]["location"]["line"] = 0
    edited = repo.root / "edited.json"
    edited.write_text(json.dumps(verdict), encoding="utf-8")
    with pytest.raises(InputError, match=r"findings\[0\]\.location\.line"):
        verdicts.load(edited)
