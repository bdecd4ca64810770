"""The adversary against kept file digests (gates/util/digests.py): a kept digest must answer only
for the content of the very file it was taken of, however the file at a path is replaced, and a
store must keep what warm runs need. Runs sharing the collect cache's folder must not fail each other.

The committed-content check (gates/util/committed.py) is what the attacks aim at: a contributor
who flags a rewritten file `--skip-worktree` hides it from `git status`, so only the comparison of
the work tree's bytes with HEAD's blobs keeps the verdict dirty."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gates.engine import cache
from gates.model import Collection
from gates.util import digests
from gates.util.committed import differing_paths
from gates.util.digests import file_digests
from tests.conftest import CliResult, Repo

COMMITTED = b"VALUE = 1\n"
HOSTILE = b"VALUE = 9\n"  # the same size: only inode and times can tell them apart


def _hidden_rewrite(make_repo: Callable[..., Repo]) -> Repo:
    """A repository whose pkg/app.py holds HOSTILE in the work tree, hidden from `git status`."""
    repo = make_repo({"pkg/app.py": COMMITTED.decode(), "lib.py": "OTHER = 2\n"})
    repo.git("update-index", "--skip-worktree", "pkg/app.py")
    time.sleep(0.05)  # past the file system clock's tick: the rewrite gets later times
    (repo.root / "pkg" / "app.py").write_bytes(HOSTILE)
    assert repo.git("status", "--porcelain") == ""
    return repo


def _swap(a: Path, b: Path) -> None:
    """Exchange two folders by renaming them: the files in them keep their inodes and times."""
    spare = a.with_name(a.name + ".spare")
    a.rename(spare)
    b.rename(a)
    spare.rename(b)


def _after_lstat_of(monkeypatch: pytest.MonkeyPatch, target: Path, action: Callable[[], None]) -> list[bool]:
    """Run `action` once, right after the first `lstat` of `target` returned: the moment between
    a check's look at a path and its opening of it."""
    wanted, done = os.fsencode(target), [False]
    real = os.lstat

    def lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        status = real(path, *args, **kwargs)  # type: ignore[call-overload]
        if not done[0] and isinstance(path, bytes | str) and os.fsencode(path) == wanted:
            done[0] = True
            action()
        return status

    monkeypatch.setattr(os, "lstat", lstat)
    return done


def test_a_file_swapped_in_between_look_and_read_keeps_no_digest_for_the_file_looked_at(
    make_repo: Callable[..., Repo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settled_at_once: None
) -> None:
    # A process of the contributor's (left running by a tool that ran the repository's code)
    # swaps the hostile file's folder for one holding the committed bytes while a check reads.
    repo = _hidden_rewrite(make_repo)
    honest = tmp_path / "honest"
    honest.mkdir()
    (honest / "app.py").write_bytes(COMMITTED)
    pkg = repo.root.resolve() / "pkg"
    done = _after_lstat_of(monkeypatch, pkg / "app.py", lambda: _swap(pkg, honest))
    differing_paths(repo.root)  # reads the committed bytes: the truth at that moment
    assert done[0]
    _swap(pkg, honest)  # the hostile file is back, its inode and times as they were looked at
    assert (pkg / "app.py").read_bytes() == HOSTILE
    digests._stores.clear()  # a later run, from the sealed store
    assert differing_paths(repo.root, cached=False) == ["pkg/app.py"]
    assert differing_paths(repo.root) == ["pkg/app.py"]


def test_a_fifo_swapped_in_between_look_and_read_does_not_hang_the_check(
    make_repo: Callable[..., Repo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settled_at_once: None
) -> None:
    repo = _hidden_rewrite(make_repo)
    pipes = tmp_path / "pipes"
    pipes.mkdir()
    os.mkfifo(pipes / "app.py")
    pkg = repo.root.resolve() / "pkg"
    _after_lstat_of(monkeypatch, pkg / "app.py", lambda: _swap(pkg, pipes))
    result: list[list[str] | None] = []
    check = threading.Thread(target=lambda: result.append(differing_paths(repo.root)), daemon=True)
    check.start()
    check.join(10)
    hung = check.is_alive()
    if hung:  # let the blocked open return: a writer comes and goes
        os.close(os.open(pkg / "app.py", os.O_WRONLY | os.O_NONBLOCK))
        check.join(10)
    assert not hung, "the check waited for a writer of a FIFO put in place of a committed file"
    assert result == [["pkg/app.py"]]


def test_a_name_that_is_not_utf8_does_not_cost_the_other_files_their_kept_digests(
    tmp_path: Path, settled_at_once: None
) -> None:
    (tmp_path / "plain.txt").write_bytes(b"one")
    odd = os.fsdecode(b"caf\xe9.txt")
    (tmp_path / odd).write_bytes(b"two")
    file_digests(tmp_path, ["plain.txt", odd], "sha256")
    digests._stores.clear()  # what the next run reads: the sealed file
    assert "plain.txt" in digests._store(tmp_path.resolve(), "sha256").entries


def test_a_full_store_keeps_the_digests_of_the_files_a_run_asked_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settled_at_once: None
) -> None:
    # A tree as large as the store's bound: one edited file must not make the next warm run read
    # every other file again.
    monkeypatch.setattr(digests, "MAX_ENTRIES", 3)
    names = ["a.txt", "b.txt", "c.txt"]
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    file_digests(tmp_path, names, "sha256")
    time.sleep(0.05)
    (tmp_path / "c.txt").write_bytes(b"edited")
    file_digests(tmp_path, names, "sha256")
    digests._stores.clear()
    assert sorted(digests._store(tmp_path.resolve(), "sha256").entries) == names


def _cp_preserving_all(path: Path, source: Path) -> None:
    subprocess.run(["cp", "--preserve=all", str(source), str(path)], check=True)


def _mv_of_a_hard_link(path: Path, source: Path) -> None:
    link = source.with_name("link")
    os.link(source, link)
    shutil.copystat(path, link)
    subprocess.run(["mv", str(link), str(path)], check=True)


def _touch_r_after_rewrite(path: Path, source: Path) -> None:
    reference = source.with_name("reference")
    shutil.copy2(path, reference)
    path.write_bytes(source.read_bytes())
    subprocess.run(["touch", "-r", str(reference), str(path)], check=True)


@pytest.mark.parametrize("replace", [_cp_preserving_all, _mv_of_a_hard_link, _touch_r_after_rewrite])
def test_replacing_a_committed_file_keeping_its_size_and_mtime_is_dirty(
    make_repo: Callable[..., Repo],
    tmp_path: Path,
    settled_at_once: None,
    replace: Callable[[Path, Path], None],
) -> None:
    repo = make_repo({"pkg/app.py": COMMITTED.decode()})
    assert differing_paths(repo.root) == []  # its digest is kept
    repo.git("update-index", "--skip-worktree", "pkg/app.py")
    source = tmp_path / "elsewhere" / "hostile.py"
    source.parent.mkdir()
    source.write_bytes(HOSTILE)
    time.sleep(0.05)
    replace(repo.root / "pkg" / "app.py", source)
    assert (repo.root / "pkg" / "app.py").read_bytes() == HOSTILE
    assert repo.git("status", "--porcelain") == ""
    assert differing_paths(repo.root) == ["pkg/app.py"]


def test_a_file_deleted_and_written_again_with_the_old_mtime_is_dirty(
    make_repo: Callable[..., Repo], settled_at_once: None
) -> None:
    # The file written in its place gets the freed inode (ext4 hands it out again at once), the
    # old size and mtime: as a repository checked out again at the same path in CI. Not its ctime.
    repo = make_repo({"pkg/app.py": COMMITTED.decode()})
    assert differing_paths(repo.root) == []
    repo.git("update-index", "--skip-worktree", "pkg/app.py")
    path = repo.root / "pkg" / "app.py"
    before = path.stat()
    time.sleep(0.05)
    path.unlink()
    path.write_bytes(HOSTILE)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert differing_paths(repo.root) == ["pkg/app.py"]


def test_a_cache_folder_linked_into_the_repository_keeps_nothing(
    make_repo: Callable[..., Repo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settled_at_once: None
) -> None:
    repo = make_repo({"pkg/app.py": COMMITTED.decode()})
    (tmp_path / "cache-link").symlink_to(repo.root / "cache")
    monkeypatch.setenv("GATES_CACHE_DIR", str(tmp_path / "cache-link"))
    assert differing_paths(repo.root) == []
    file_digests(repo.root, ["pkg/app.py"], "sha256")
    assert not (repo.root / "cache").exists()


def _entry(folder: Path, number: int) -> Path:
    return folder / f"sast-{number:040d}.json"


def test_two_runs_pruning_one_gates_cache_entries_at_once_both_store(tmp_path: Path) -> None:
    # Parallel jobs share a cache folder (the Jenkins template runs one `gates run` per project and
    # gate in one workspace): each prunes the gate's older entries while the other writes.
    store = cache.Cache(tmp_path, b"k" * 32)
    collection = Collection(gate="sast", gate_version="1", tool_versions={}, duration_s=0.0)
    failures: list[BaseException] = []

    def write(start: int) -> None:
        for number in range(start, start + 200):
            try:
                store.store(_entry(tmp_path, number), collection)
            except OSError as error:
                failures.append(error)

    writers = [threading.Thread(target=write, args=(start,)) for start in (0, 1000)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failures == []
    assert len(list(tmp_path.glob("sast-*.json"))) <= 2 * cache.KEEP_PER_GATE


def test_a_cache_entry_gone_while_the_gates_entries_are_pruned_is_no_error(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # Deterministically what the race above makes: a listed entry that no longer exists.
    folder = Path(os.environ["GATES_CACHE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(cache.KEEP_PER_GATE):
        _entry(folder, number).write_bytes(b"older entry")
    _entry(folder, 99).symlink_to(folder / "pruned by another run")
    repo = make_repo({"app.py": "VALUE = 1\n", "gates.yaml": "version: 1\ngates:\n  sast: {fail_on: high}\n"})
    result = run_cli("run", repo.root, "--format", "json")
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    assert [(gate["name"], gate["status"]) for gate in verdict["gates"]] == [("sast", "pass")], result.err
