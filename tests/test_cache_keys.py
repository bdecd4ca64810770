"""Cache keys name the content a gate scans: a change git is told to ignore (skip-worktree,
assume-unchanged) still changes the key, so the cache never answers for content it did not see."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from gates.util.files import digest_files, select_files
from tests.conftest import VULNERABLE_CODE, CliResult, Repo
from tests.test_run import verdict_of

SAST_ONLY = "version: 1\ngates:\n  sast: {fail_on: high}\n"


def _rewrite(path: Path, text: str) -> None:
    """New content with a later modification time than the index's record of the file."""
    path.write_text(text, encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))


def test_a_change_git_is_told_to_ignore_still_changes_the_cache_key(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo({"a.py": "x = 1\n", "b.py": "y = 2\n"})
    before = digest_files(select_files(repo.root).files)
    assert before == digest_files(select_files(repo.root).files)
    for flag, name in (("--skip-worktree", "a.py"), ("--assume-unchanged", "b.py")):
        repo.git("update-index", flag, name)
        _rewrite(repo.root / name, "import pickle\n")
        after = digest_files(select_files(repo.root).files)
        assert after != before
        before = after


def test_a_hidden_change_is_scanned_not_answered_from_the_cache(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"run.py": "print('hello')\n", "gates.yaml": SAST_ONLY})
    assert run_cli("run", repo.root).code == 0
    repo.git("update-index", "--assume-unchanged", "run.py")
    _rewrite(repo.root / "run.py", VULNERABLE_CODE)
    assert run_cli("run", repo.root).code == 1
    (sast,) = verdict_of(repo.root / ".gates")["gates"]
    assert not sast["cached"] and any(f["location"]["path"] == "run.py" for f in sast["findings"])
    # The same content under the same key is a hit, whichever way its key was taken.
    assert run_cli("run", repo.root).code == 1
    assert verdict_of(repo.root / ".gates")["gates"][0]["cached"]
