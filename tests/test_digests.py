"""Digests kept under a file's stat (gates/util/digests.py) answer only for the content they were
taken of: a rewrite that keeps size and mtime still changes ctime, a digest of a file that had just
changed is not kept, and a cache file the repository or anyone else edited is no entry."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gates.engine import cache
from gates.engine.pipeline import SUBJECT_THREAD
from gates.util import digests
from gates.util.committed import differing_paths
from gates.util.digests import file_digests
from tests.conftest import CliResult, Repo

SAST_ONLY = "version: 1\ngates:\n  sast: {fail_on: high}\n"
PASSWORD = "hunter2-secret-value"  # pragma: allowlist secret


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rewrite_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    before = path.stat()
    time.sleep(0.05)  # past the file system clock's tick: the rewrite gets a later ctime
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_kept_digest_answers_only_while_the_files_times_are_unchanged(
    tmp_path: Path, settled_at_once: None
) -> None:
    (tmp_path / "a.txt").write_bytes(b"one")
    assert file_digests(tmp_path, ["a.txt", "missing"], "sha256") == [_sha256(b"one"), None]
    digests._stores.clear()  # what a later run reads: the sealed file
    assert file_digests(tmp_path, ["a.txt"], "sha256") == [_sha256(b"one")]
    _rewrite_keeping_size_and_mtime(tmp_path / "a.txt", b"two")
    assert file_digests(tmp_path, ["a.txt"], "sha256") == [_sha256(b"two")]
    assert file_digests(tmp_path, ["a.txt"], "git-sha1")[0] == digests.git_blob_id("sha1", b"two")


def test_the_digest_of_a_file_that_just_changed_is_not_kept(tmp_path: Path) -> None:
    digests._stores.clear()
    (tmp_path / "new.txt").write_bytes(b"fresh")
    assert file_digests(tmp_path, ["new.txt"], "sha256") == [_sha256(b"fresh")]
    assert digests._store(tmp_path.resolve(), "sha256").entries == {}


def test_trusting_no_earlier_run_reads_again_only_what_changed_since_this_process_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settled_at_once: None
) -> None:
    # `--no-cache`, release, verify: the check after the gates ran reads no settled file it read
    # before them, unchanged since; nothing of it is kept for another process.
    digests._stores.clear()
    (tmp_path / "a.txt").write_bytes(b"one")
    (tmp_path / "b.txt").write_bytes(b"bee")
    read: list[bytes | str] = []
    real = digests.read_status

    def counted(path: bytes | str) -> tuple[os.stat_result, bytes]:
        read.append(path)
        return real(path)

    monkeypatch.setattr(digests, "read_status", counted)
    both = ["a.txt", "b.txt"]
    assert file_digests(tmp_path, both, "sha256", cached=False) == [_sha256(b"one"), _sha256(b"bee")]
    _rewrite_keeping_size_and_mtime(tmp_path / "a.txt", b"two")
    assert file_digests(tmp_path, both, "sha256", cached=False) == [_sha256(b"two"), _sha256(b"bee")]
    assert [os.path.basename(p) for p in read] == [b"a.txt", b"b.txt", b"a.txt"]
    assert not (Path(os.environ["GATES_CACHE_DIR"]) / "digests").exists()
    digests._stores.clear()  # another process
    assert file_digests(tmp_path, ["b.txt"], "sha256", cached=False) == [_sha256(b"bee")]
    assert len(read) == 4


def test_an_edited_cache_file_is_no_entry(tmp_path: Path, settled_at_once: None) -> None:
    (tmp_path / "a.txt").write_bytes(b"real")
    file_digests(tmp_path, ["a.txt"], "sha256")
    (stored,) = (Path(os.environ["GATES_CACHE_DIR"]) / "digests").glob("sha256-*.json")
    mac, _, payload = stored.read_bytes().partition(b"\n")
    document = json.loads(payload)
    document["entries"]["a.txt"][-1] = _sha256(b"forged")
    stored.write_bytes(mac + b"\n" + json.dumps(document).encode())
    digests._stores.clear()
    assert file_digests(tmp_path, ["a.txt"], "sha256") == [_sha256(b"real")]


def test_no_cache_is_kept_inside_the_repository_it_digests(
    make_repo: Callable[..., Repo], monkeypatch: pytest.MonkeyPatch, settled_at_once: None
) -> None:
    repo = make_repo({"src/a.txt": "x"})
    monkeypatch.setenv("GATES_CACHE_DIR", str(repo.root / "cache"))
    file_digests(repo.root / "src", ["a.txt"], "sha256")
    assert not (repo.root / "cache").exists()


def test_the_committed_content_check_sees_a_hidden_rewrite_under_kept_digests(
    make_repo: Callable[..., Repo], settled_at_once: None
) -> None:
    repo = make_repo({"app.py": "VALUE = 1\n", "lib.py": "OTHER = 2\n"})
    assert differing_paths(repo.root) == []
    assert differing_paths(repo.root) == []  # now from kept digests
    repo.git("update-index", "--skip-worktree", "app.py")
    _rewrite_keeping_size_and_mtime(repo.root / "app.py", b"VALUE = 9\n")
    assert repo.git("status", "--porcelain") == ""
    assert differing_paths(repo.root) == ["app.py"]
    assert differing_paths(repo.root, cached=False) == ["app.py"]


def test_a_cache_hit_is_shown_as_stored_and_other_masking_rules_miss(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # bandit's B105 quotes the hard-coded password: stored masked, shown masked from the cache.
    repo = make_repo({"app.py": f'password = "{PASSWORD}"\n', "gates.yaml": SAST_ONLY})
    for cached in (False, True):
        run_cli("run", repo.root, "--format", "json")
        verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
        (sast,) = verdict["gates"]
        assert sast["cached"] is cached and sast["findings"]
        assert PASSWORD not in json.dumps(verdict)
    monkeypatch.setattr(cache, "rules_digest", lambda: "other rules")
    run_cli("run", repo.root, "--format", "json")
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["gates"][0]["cached"] is False


def test_a_run_that_stops_early_leaves_no_git_process_behind(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # The subject is taken while the policy loads; a policy error ends the command at once, and
    # a `git status` still running then would hold the index's lock against the user's next git.
    repo = make_repo({"app.py": "x = 1\n", "gates.yaml": "version: 1\ngates: {nope: {}}\n"})
    assert run_cli("run", repo.root).code == 2
    assert not [t for t in threading.enumerate() if t.name == SUBJECT_THREAD]


def test_what_a_run_keeps_for_itself_is_readable_by_the_user_alone(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], settled_at_once: None
) -> None:
    # A kept digest is an unsalted SHA-256 of a file: another user could guess a small secret's.
    repo = make_repo({"app.py": "x = 1\n", "gates.yaml": SAST_ONLY})
    assert run_cli("run", repo.root).code == 0
    kept = [p for p in Path(os.environ["GATES_CACHE_DIR"]).rglob("*") if p.is_file()]
    assert any(p.parent.name == "digests" for p in kept) and any(p.name.startswith("sast-") for p in kept)
    assert all(p.stat().st_mode & 0o077 == 0 for p in kept), [oct(p.stat().st_mode) for p in kept]
