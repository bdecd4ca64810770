"""`gates sign`, `gates verify` and `gates release` on real git repositories, with verdicts made by a
real `gates run --only sast` (bandit)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from gates.release import envelope as dsse
from tests.conftest import CLEAN_CODE, VULNERABLE_CODE, CliResult, Repo

SECRET = "ci-shared-secret-of-the-tests"  # pragma: allowlist secret
PUBLISH = [sys.executable, "-c", "open('published', 'w').write('ok')"]
POLICY = "version: 1\ngates:\n  sast: {fail_on: high}\n"
SIGNED_POLICY = POLICY + "release:\n  require_signature: true\n"


def _epoch(day: str) -> str:
    return str(int(dt.datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp()))


@pytest.fixture(autouse=True)
def _signing_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no user configuration reaches git
    monkeypatch.setenv("GATES_SIGNING_KEY", SECRET)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def _made(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    code: str = CLEAN_CODE,
    policy: str = POLICY,
) -> tuple[Repo, Path]:
    repo = make_repo({"app.py": code, "gates.yaml": policy})
    result = run_cli("run", repo.root, "--only", "sast", "--format", "json")
    assert result.code in (0, 1), result.err
    return repo, repo.root / ".gates" / "verdict.json"


def _signed(run_cli: Callable[..., CliResult], verdict: Path, *key: str | Path) -> Path:
    out = verdict.with_name("verdict.dsse.json")
    result = run_cli("sign", verdict, "-o", out, *key)
    assert result.code == 0, result.err
    return out


def _nothing_created(repo: Repo) -> None:
    assert repo.git("tag", "--list") == ""
    assert repo.git("notes", "--ref=gates", "list") == ""
    assert not (repo.root / "published").exists()


def _release(run_cli: Callable[..., CliResult], repo: Repo, verdict: Path, *extra: str) -> CliResult:
    return run_cli(
        "release", verdict, "--repo", repo.root, "--tag", "v1.0.0", *extra, "--publish", "--", *PUBLISH
    )


def test_pass_creates_tag_and_note_then_publishes(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, verdict = _made(make_repo, run_cli, policy=SIGNED_POLICY)
    signed = _signed(run_cli, verdict)
    result = _release(run_cli, repo, signed)
    assert result.code == 0, result.err
    head = repo.git("rev-parse", "HEAD")
    assert repo.git("cat-file", "-t", "v1.0.0") == "tag"  # annotated
    assert repo.git("rev-parse", "v1.0.0^{commit}") == head
    message = repo.git("tag", "-l", "--format=%(contents)", "v1.0.0")
    digest = dsse.verdict_digest(json.loads(verdict.read_text()))
    assert "gates verdict: PASS" in message and digest in message
    assert "signed:   hmac-sha256:" in message and "sast 1.0.0: pass" in message
    assert json.loads(repo.git("notes", "--ref=gates", "show", head)) == json.loads(signed.read_text())
    assert (repo.root / "published").read_text() == "ok"
    # The note is itself a verifiable verdict.
    noted = repo.root / ".gates" / "noted.json"
    noted.write_text(repo.git("notes", "--ref=gates", "show", head))
    assert run_cli("verify", noted, "--repo", repo.root).code == 1  # published is now an untracked change
    (repo.root / "published").unlink()
    assert run_cli("verify", noted, "--repo", repo.root).code == 0


def test_fail_refuses_and_never_publishes(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, verdict = _made(make_repo, run_cli, code=VULNERABLE_CODE)
    result = _release(run_cli, repo, verdict)
    assert result.code == 1
    assert result.err.splitlines()[0] == "gates: release refused: status is fail (sast fail)"
    _nothing_created(repo)


def test_verdict_from_another_commit_is_refused(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, verdict = _made(make_repo, run_cli)
    old = repo.git("rev-parse", "HEAD")
    repo.write("app.py", CLEAN_CODE + "\n\nEXTRA = 1\n")
    repo.commit("later change")
    result = _release(run_cli, repo, verdict)
    assert result.code == 1
    assert f"the verdict is for commit {old[:12]}, not" in result.err.splitlines()[0]
    _nothing_created(repo)
    # Checked against the commit it was made for, it is fine.
    assert run_cli("verify", verdict, "--repo", repo.root, "--commit", old[:10]).code == 0


def test_edited_verdicts_are_refused(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, verdict = _made(make_repo, run_cli, code=VULNERABLE_CODE)
    data = json.loads(verdict.read_text())
    # A plain verdict whose overall status was turned into pass contradicts its gates.
    data["status"] = "pass"
    verdict.write_text(json.dumps(data))
    result = _release(run_cli, repo, verdict)
    assert result.code == 1 and "its gates make it fail (edited?)" in result.err
    # A signed verdict edited consistently (gate and status pass, subject recomputed) fails its signature.
    data["gates"][0]["status"] = "pass"
    verdict.write_text(json.dumps(data))
    signed = _signed(run_cli, verdict)
    envelope = json.loads(signed.read_text())
    data["summary"]["counted"] = 0
    envelope["payload"] = base64.b64encode(json.dumps(dsse.statement(data)).encode()).decode()
    signed.write_text(json.dumps(envelope))
    result = _release(run_cli, repo, signed)
    assert result.code == 1
    assert result.err.startswith("gates: release refused: signature does not verify")
    # The predicate edited without touching the subject: the statement no longer names its verdict.
    statement = dsse.statement(data)
    statement["predicate"]["duration_s"] = 99
    envelope = dsse.Envelope(dsse.PAYLOAD_TYPE, json.dumps(statement).encode(), ()).signed(
        dsse.Key("hmac-sha256", SECRET.encode(), "test")
    )
    signed.write_text(json.dumps(envelope.to_json()))
    result = _release(run_cli, repo, signed)
    assert result.code == 1 and "subject does not match its verdict (tampered)" in result.err
    _nothing_created(repo)


def test_wrong_or_missing_key_and_unsigned_verdicts_are_refused(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, verdict = _made(make_repo, run_cli, policy=SIGNED_POLICY)
    result = _release(run_cli, repo, verdict)
    assert result.code == 1
    assert "not signed, and the policy requires it (release.require_signature)" in result.err
    signed = _signed(run_cli, verdict)
    monkeypatch.setenv("GATES_SIGNING_KEY", "someone-elses-secret-value")
    result = _release(run_cli, repo, signed)
    assert result.code == 1 and "signature does not verify with the hmac-sha256 key" in result.err
    monkeypatch.delenv("GATES_SIGNING_KEY")
    result = _release(run_cli, repo, signed)
    assert result.code == 1 and "no signing key" in result.err
    _nothing_created(repo)


def test_ed25519_key_pair_with_public_key_in_the_policy(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "release.pem"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    indented = "".join(f"      {line}\n" for line in public.splitlines())
    policy = SIGNED_POLICY + f"  signing:\n    alg: ed25519\n    public_key: |\n{indented}"
    monkeypatch.delenv("GATES_SIGNING_KEY")
    repo, verdict = _made(make_repo, run_cli, policy=policy)
    signed = _signed(run_cli, verdict, "--key-file", key_file)
    assert run_cli("verify", signed, "--repo", repo.root).code == 0
    other = tmp_path / "other.pem"
    other.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    forged = _signed(run_cli, verdict, "--key-file", other)
    result = _release(run_cli, repo, forged)
    assert result.code == 1 and "policy release.signing.public_key" in result.err
    _nothing_created(repo)


def test_waiver_expired_since_the_verdict_is_refused(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = POLICY + (
        "waivers:\n  - {gate: sast, rule: B602, reason: reviewed, owner: sec, expires: 2026-06-30}\n"
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch("2026-05-01"))  # more than 30 days ahead: not expiring
    repo, verdict = _made(make_repo, run_cli, code=VULNERABLE_CODE, policy=policy)
    assert json.loads(verdict.read_text())["status"] == "pass"
    assert run_cli("verify", verdict, "--repo", repo.root).code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch("2026-07-01"))
    result = _release(run_cli, repo, verdict)
    assert result.code == 1
    assert "waiver for sast B602 (owner sec) expired on 2026-06-30" in result.err.splitlines()[0]
    _nothing_created(repo)


def test_stale_verdict_is_refused(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch("2026-03-01"))
    repo, verdict = _made(make_repo, run_cli, policy=POLICY + "release:\n  max_age_hours: 24\n")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(_epoch("2026-03-01")) + 23 * 3600))
    assert run_cli("verify", verdict, "--repo", repo.root).code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(_epoch("2026-03-01")) + 25 * 3600))
    result = _release(run_cli, repo, verdict)
    assert result.code == 1
    assert "the verdict is 25.0 hours old; the policy allows 24 (release.max_age_hours)" in result.err
    _nothing_created(repo)


def test_dirty_tree_is_refused_but_the_verdict_file_itself_is_no_change(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, verdict = _made(make_repo, run_cli)
    kept = repo.root / "release" / "verdict.json"  # untracked, inside the work tree
    kept.parent.mkdir()
    kept.write_text(verdict.read_text())
    assert run_cli("verify", kept, "--repo", repo.root).code == 0
    repo.write("app.py", CLEAN_CODE + "# edited after the run\n")
    result = _release(run_cli, repo, kept)
    assert result.code == 1
    assert (
        result.err.splitlines()[0]
        == "gates: release refused: the work tree has uncommitted changes (git status)"
    )
    _nothing_created(repo)


def test_policy_and_override_changes_are_refused(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    overrides = (
        POLICY
        + "overrides:\n  - name: lenient\n    when: {branch: ['exp/*']}\n    gates: {sast: {mode: warn}}\n"
    )
    repo, verdict = _made(make_repo, run_cli, policy=overrides)
    stricter = repo.root.parent / "stricter.yaml"
    stricter.write_text(overrides.replace("fail_on: high", "fail_on: low"))
    result = run_cli("verify", verdict, "--repo", repo.root, "--policy", stricter)
    assert result.code == 1 and "the policy changed since the verdict" in result.err
    # A verdict made as if on a lenient branch does not release main.
    assert run_cli("run", repo.root, "--only", "sast", "--branch", "exp/x", "--format", "json").code == 0
    result = run_cli("verify", verdict, "--repo", repo.root)
    assert result.code == 1
    assert (
        "applied overrides ['lenient'] (branch 'exp/x'), this release applies [] (branch 'main')"
        in result.err
    )


def test_warn_needs_allow_warn(make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]) -> None:
    warn = "version: 1\ngates:\n  sast: {fail_on: critical, warn_on: low}\n"
    repo, verdict = _made(make_repo, run_cli, code=VULNERABLE_CODE, policy=warn)
    result = run_cli("verify", verdict, "--repo", repo.root)
    assert result.code == 1 and "status is warn" in result.err
    allowing = repo.root.parent / "allowing.yaml"
    allowing.write_text(warn + "release:\n  allow_warn: true\n")
    assert run_cli("run", repo.root, "--only", "sast", "--policy", allowing).code == 0
    assert run_cli("verify", verdict, "--repo", repo.root, "--policy", allowing).code == 0


def test_failed_publish_or_note_undoes_the_tag(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, verdict = _made(make_repo, run_cli)
    result = run_cli(
        "release",
        verdict,
        "--repo",
        repo.root,
        "--tag",
        "v1.0.0",
        "--publish",
        "--",
        sys.executable,
        "-c",
        "raise SystemExit(3)",
    )
    assert result.code == 1
    assert (
        result.err.strip()
        == "gates: release failed: publish command exited 3; tag v1.0.0 and the note removed"
    )
    _nothing_created(repo)
    lock = repo.root / ".git" / "refs" / "notes" / "gates.lock"  # another git holds the notes ref
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    result = _release(run_cli, repo, verdict)
    assert result.code == 1 and "tag v1.0.0 removed" in result.err
    lock.unlink()
    _nothing_created(repo)


def test_existing_tag_dry_run_and_usage(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, verdict = _made(make_repo, run_cli)
    result = _release(run_cli, repo, verdict, "--dry-run")
    assert result.code == 0, result.err
    assert "would create annotated tag v1.0.0 on" in result.out and "would run: " in result.out
    _nothing_created(repo)
    assert run_cli("release", verdict, "--repo", repo.root, "--tag", "v1.0.0", "--publish").code == 2
    assert run_cli("release", verdict, "--repo", repo.root, "--tag", "bad..name").code == 2
    repo.git("tag", "v1.0.0")
    result = _release(run_cli, repo, verdict)
    assert result.code == 1 and result.err.strip() == "gates: release refused: tag v1.0.0 already exists"
    assert not (repo.root / "published").exists()


def test_corrupt_verdict_or_envelope_is_exit_2(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo, _ = _made(make_repo, run_cli)
    broken = repo.root.parent / "broken.json"
    broken.write_text('{"payloadType": "application/vnd.in-toto+json", "payload": "!!", "signatures": []}')
    result = run_cli("verify", broken, "--repo", repo.root)
    assert result.code == 2 and "corrupt DSSE envelope" in result.err
    broken.write_text("{not json")
    assert run_cli("release", broken, "--repo", repo.root, "--tag", "v1").code == 2
    _nothing_created(repo)


def test_release_as_a_subprocess(make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]) -> None:
    repo, verdict = _made(make_repo, run_cli)
    signed = _signed(run_cli, verdict)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gates",
            "release",
            str(signed),
            "--tag",
            "v2.0.0",
            "--publish",
            "--",
            *PUBLISH,
        ],
        cwd=repo.root,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "released v2.0.0" in done.stdout
    assert (repo.root / "published").read_text() == "ok"
    assert repo.git("notes", "--ref=gates", "list", "v2.0.0^{commit}") != ""
