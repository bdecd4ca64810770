"""verdict.json is checked against its schema before it is written; a warm run's check, the same
verdict but for its clock readings, is remembered (as the policy's is), the readings checked apart."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gates import verdict as verdicts
from gates.errors import InputError
from gates.verdict import Verdict
from tests.conftest import VULNERABLE_CODE, Repo

GOLDEN = Path(__file__).parent / "golden" / "mixed" / "verdict.json"


def _golden() -> Verdict:
    return Verdict.from_json(json.loads(GOLDEN.read_text(encoding="utf-8")))


def test_a_negative_duration_is_refused_at_the_top_and_in_a_gate() -> None:
    verdict = _golden()
    assert json.loads(verdicts.dump(verdict)) == verdict.to_json()
    with pytest.raises(InputError, match=r"verdict: not a gates verdict: duration_s: -1\.0 is no duration"):
        verdicts.dump(dataclasses.replace(verdict, duration_s=-1.0))
    late = dataclasses.replace(verdict.gates[1], duration_s=float("nan"))
    with pytest.raises(InputError, match=r"gates\[1\]\.duration_s: nan is no duration"):
        verdicts.dump(dataclasses.replace(verdict, gates=(verdict.gates[0], late, *verdict.gates[2:])))


def test_a_warm_run_checks_its_verdict_without_importing_jsonschema(make_repo: Callable[..., Repo]) -> None:
    policy = "version: 1\ngates:\n  sast: {fail_on: none}\n"
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": policy})
    code = (
        "import sys\n"
        "from gates.__main__ import main\n"
        "code = main(['run', '.', '--format', 'json'])\n"
        "print('jsonschema' in sys.modules)\n"
        "raise SystemExit(code)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
        for _ in range(3)
    ]
    assert [r.returncode for r in runs] == [0, 0, 0], runs[-1].stderr
    # The first run validates the policy and the verdict, the second its verdict (its gate's result
    # now comes from the cache); the third remembers both.
    assert [r.stdout.split()[-1] for r in runs] == ["True", "True", "False"]
    verdicts.load(repo.root / ".gates" / "verdict.json")  # the remembered one is valid, read back whole
    cold = subprocess.run(
        [sys.executable, "-c", code.replace("'json']", "'json', '--no-cache']")],
        cwd=repo.root,
        capture_output=True,
        text=True,
    )
    assert (cold.returncode, cold.stdout.split()[-1]) == (0, "True")  # --no-cache remembers nothing
