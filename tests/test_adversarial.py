"""The adversarial review of issue 14: one test per case, each an attack a contributor or a careless
user can make, run with the real tools on real git repositories (docs/security.md lists them)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from gates.engine.cache import Cache
from gates.model import Collection
from gates.plugins.interface import GateError
from gates.plugins.sast import _complete_report
from gates.util.files import RepoFile
from gates.util.proc import python_tool
from tests.conftest import VULNERABLE_CODE, CliResult, Repo

SAST_POLICY = "version: 1\ngates:\n  sast: {fail_on: high}\n"


def _verdict(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "verdict.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _gate(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g["name"] == name)  # type: ignore[no-any-return]


# --- 1, 2: the verdict judges the committed content -------------------------------------------

AWS_KEY = "AKIA" + "J3QXWZ7VB2NPLKQA"
BOTH_POLICY = "version: 1\ngates:\n  sast: {fail_on: high}\n  secrets: {fail_on: high}\n"
HIDDEN = VULNERABLE_CODE + f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'


def test_case1_index_flags_cannot_hide_committed_content_behind_a_clean_copy(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app.py": HIDDEN, "tool.py": HIDDEN, "gates.yaml": BOTH_POLICY})
    repo.git("update-index", "--skip-worktree", "app.py")
    repo.git("update-index", "--assume-unchanged", "tool.py")
    repo.write("app.py", "VALUE = 1\n")
    repo.write("tool.py", "VALUE = 2\n")
    assert repo.git("status", "--porcelain") == ""  # git itself sees nothing
    run_cli("run", repo.root, "--format", "json")
    verdict = _verdict(repo.root / ".gates")
    assert verdict["subject"]["dirty"] is True
    refused = run_cli("release", repo.root / ".gates" / "verdict.json", "--repo", repo.root, "--tag", "v1")
    assert refused.code == 1 and "uncommitted changes" in refused.err
    assert repo.git("tag", "--list") == ""

    # What git converts on checkout without hiding anything (eol=crlf) is no change.
    crlf = make_repo({".gitattributes": "*.bat text eol=crlf\n", "run.bat": "echo one\necho two\n"})
    (crlf.root / "run.bat").unlink()
    crlf.git("checkout", "--", "run.bat")
    assert (crlf.root / "run.bat").read_bytes() == b"echo one\r\necho two\r\n"
    run_cli("run", crlf.root, "--only", "sast", "--format", "json")
    assert _verdict(crlf.root / ".gates")["subject"]["dirty"] is False


def test_case2_files_committed_under_the_output_folder_are_scanned(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app.py": "VALUE = 1\n", "gates.yaml": BOTH_POLICY})
    repo.write(".gates/payload.py", HIDDEN)
    repo.git("add", "-f", ".gates/payload.py")
    repo.git("commit", "-q", "-m", "hide under the output folder")
    assert run_cli("run", repo.root, "--format", "json").code == 1
    verdict = _verdict(repo.root / ".gates")
    assert ("B602", ".gates/payload.py") in {
        (f["rule"], f["location"]["path"]) for f in _gate(verdict, "sast")["findings"]
    }
    assert [f["location"]["path"] for f in _gate(verdict, "secrets")["findings"]] == [".gates/payload.py"]
    # What the run itself wrote there is no content: a second run sees the same and is clean.
    assert verdict["subject"]["dirty"] is False
    assert run_cli("run", repo.root, "--format", "json").code == 1
    assert _gate(_verdict(repo.root / ".gates"), "sast")["counts"] == _gate(verdict, "sast")["counts"]


# --- 3, 4: a verdict covers the whole repository, and a merge all of its parts ---------------------


def test_case3_a_subfolder_verdict_cannot_release_the_commit(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"sub/ok.py": "VALUE = 1\n", "app.py": VULNERABLE_CODE, "gates.yaml": SAST_POLICY})
    out = repo.root.parent / "sub-out"
    assert run_cli("run", repo.root / "sub", "--policy", repo.root / "gates.yaml", "--out", out).code == 0
    verdict = _verdict(out)
    assert verdict["subject"]["scanned"] == "sub" and verdict["subject"]["dirty"] is False
    refused = run_cli("release", out / "verdict.json", "--repo", repo.root, "--tag", "v1")
    assert refused.code == 1 and "scanned only sub/ of the repository, not all of it" in refused.err
    assert repo.git("tag", "--list") == ""
    whole = repo.root.parent / "whole-out"
    run_cli("run", repo.root, "--out", whole, "--format", "json")
    assert _verdict(whole)["subject"]["scanned"] == "."


def test_case4_merge_parts_must_agree_on_what_they_judged_and_a_dirty_part_makes_it_dirty(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = "version: 1\ngates:\n  sast: {fail_on: high}\n  secrets: {fail_on: high}\n"
    repo = make_repo({"app.py": "VALUE = 1\n", "gates.yaml": policy})
    clean, dirty = repo.root.parent / "clean", repo.root.parent / "dirty"
    assert run_cli("run", repo.root, "--only", "sast", "--out", clean, "--format", "json").code == 0
    repo.write("app.py", "VALUE = 2\n")  # uncommitted
    assert run_cli("run", repo.root, "--only", "secrets", "--out", dirty, "--format", "json").code == 0
    assert _verdict(dirty)["subject"]["dirty"] is True
    merged = repo.root.parent / "merged.json"
    assert run_cli("merge", clean / "verdict.json", dirty / "verdict.json", "-o", merged).code == 0
    assert json.loads(merged.read_text())["subject"]["dirty"] is True
    repo.git("checkout", "--", "app.py")
    refused = run_cli("verify", merged, "--repo", repo.root)
    assert refused.code == 1 and "made on a work tree with uncommitted changes" in refused.err

    # A part of a subfolder, or of another tree under the same commit id, is no part of this one.
    sub = repo.root.parent / "sub"
    repo.write("sub/x.py", "VALUE = 3\n")
    repo.commit("sub")
    assert run_cli("run", repo.root, "--only", "sast", "--out", clean, "--format", "json").code == 0
    run_cli("run", repo.root / "sub", "--only", "secrets", "--policy", repo.root / "gates.yaml", "--out", sub)
    result = run_cli("merge", clean / "verdict.json", sub / "verdict.json", "-o", merged)
    assert result.code == 2 and "made for scanned sub" in result.err
    edited = json.loads((sub / "verdict.json").read_text())
    edited["subject"] = {**_verdict(clean)["subject"], "tree": "0" * 40}
    (sub / "verdict.json").write_text(json.dumps(edited))
    result = run_cli("merge", clean / "verdict.json", sub / "verdict.json", "-o", merged)
    assert result.code == 2 and "made for tree 0000" in result.err


# --- 5: the collect cache -------------------------------------------------------------------------


def _emptied(entry: Path) -> None:
    """The attacker's edit: the entry's findings dropped, whatever else the file holds."""
    text = entry.read_text(encoding="utf-8")
    start = text.index("{")
    data = json.loads(text[start:])
    data["findings"] = []
    entry.write_text(text[:start] + json.dumps(data), encoding="utf-8")


def test_case5_an_edited_or_repository_supplied_cache_entry_is_a_miss(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": SAST_POLICY})
    assert run_cli("run", repo.root, "--format", "json").code == 1
    entries = [
        *Path(os.environ["GATES_CACHE_DIR"]).glob("sast-*.json"),
        *(repo.root / ".gates" / "cache").glob("sast-*.json"),
    ]
    assert len(entries) == 1
    _emptied(entries[0])
    assert run_cli("run", repo.root, "--format", "json").code == 1
    assert not _gate(_verdict(repo.root / ".gates"), "sast")["cached"]

    # A cache committed into the repository, entry and secret both, made valid with that secret:
    # the cache folder points into the repository, so it is never read.
    inside = repo.root / ".cache" / "gates"
    forged = Cache(inside, b"a secret the attacker chose")
    collection = json.loads(entries[0].read_text(encoding="utf-8").partition("\n")[2])
    forged.store(inside / entries[0].name, Collection.from_json({**collection, "findings": []}))
    (inside / "secret").write_bytes(forged.secret)
    repo.commit("cache")
    monkeypatch.setenv("GATES_CACHE_DIR", str(inside))
    assert run_cli("run", repo.root, "--format", "json").code == 1
    assert not _gate(_verdict(repo.root / ".gates"), "sast")["cached"]


# --- 7: the pinned public key ---------------------------------------------------------------------


def _ed25519_pair(folder: Path, name: str) -> tuple[Path, str]:
    """A new Ed25519 key: the private key's PEM file and the public key's PEM text."""
    private = ed25519.Ed25519PrivateKey.generate()
    path = folder / f"{name}.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public.decode()


def test_case7_a_key_from_the_environment_or_a_file_cannot_replace_the_pinned_public_key(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GATES_SIGNING_KEY", raising=False)
    release_key, release_public = _ed25519_pair(tmp_path, "release")
    attacker_key, attacker_public = _ed25519_pair(tmp_path, "attacker")
    pinned = "".join(f"      {line}\n" for line in release_public.splitlines())
    policy = SAST_POLICY + f"release:\n  require_signature: true\n  signing:\n    public_key: |\n{pinned}"
    repo = make_repo({"app.py": "VALUE = 1\n", "gates.yaml": policy})
    assert run_cli("run", repo.root, "--format", "json").code == 0
    verdict = repo.root / ".gates" / "verdict.json"
    signed = tmp_path / "signed.dsse.json"
    assert run_cli("sign", verdict, "-o", signed, "--key-file", release_key).code == 0
    assert run_cli("verify", signed, "--repo", repo.root).code == 0

    forged = tmp_path / "forged.dsse.json"
    assert run_cli("sign", verdict, "-o", forged, "--key-file", attacker_key).code == 0
    attacker_pub = tmp_path / "attacker.pub.pem"
    attacker_pub.write_text(attacker_public)
    refused = run_cli("verify", forged, "--repo", repo.root, "--key-file", attacker_pub)
    assert refused.code == 1 and "not the policy's release.signing.public_key" in refused.err
    monkeypatch.setenv("GATES_SIGNING_KEY", attacker_key.read_text())
    refused = run_cli("verify", forged, "--repo", repo.root)
    assert refused.code == 1 and "not the policy's release.signing.public_key" in refused.err
    assert run_cli("release", forged, "--repo", repo.root, "--tag", "v1.0.0").code == 1
    assert repo.git("tag", "--list") == ""
    # The release key itself, from the variable, is the pinned key: accepted.
    monkeypatch.setenv("GATES_SIGNING_KEY", release_key.read_text())
    assert run_cli("verify", signed, "--repo", repo.root).code == 0


# --- 8: incomplete tool reports -------------------------------------------------------------------

SHADOW_BANDIT = """\
import json
print(json.dumps({"results": [], "errors": []}))
raise RuntimeError("bandit crashed half way")
"""


def test_case8_a_crashed_tool_or_an_incomplete_report_is_an_error_never_a_pass(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # A committed package named like the tool: `python -m bandit` in the repository would run it.
    repo = make_repo(
        {
            "app.py": VULNERABLE_CODE,
            "bandit/__init__.py": "",
            "bandit/__main__.py": SHADOW_BANDIT,
            "gates.yaml": SAST_POLICY,
        }
    )
    assert run_cli("run", repo.root, "--format", "json").code == 1
    sast = _gate(_verdict(repo.root / ".gates"), "sast")
    assert ("B602", "app.py") in {(f["rule"], f["location"]["path"]) for f in sast["findings"]}

    # The real bandit's report, whole and then cut short: only the whole one is believed.
    files = [RepoFile(name, repo.root / name, (repo.root / name).stat().st_size) for name in ("app.py",)]
    proc = subprocess.run(
        [*python_tool("bandit", "bandit"), "-f", "json", "-q", "--", "app.py"],
        cwd=repo.root,
        capture_output=True,
        text=True,
    )
    whole = json.loads(proc.stdout)
    assert _complete_report(proc.stdout, proc.stderr, files)["results"]
    for cut in ("metrics", "results", "errors"):
        with pytest.raises(GateError, match="incomplete"):
            _complete_report(json.dumps({k: v for k, v in whole.items() if k != cut}), "", files)
    with pytest.raises(GateError, match=r"1 file\(s\) unscanned, e.g. app.py"):
        _complete_report(json.dumps({**whole, "metrics": {"_totals": {}}}), "", files)
    traceback = "Traceback (most recent call last):\n  ...\nRuntimeError: bandit crashed half way\n"
    with pytest.raises(GateError, match="bandit crashed: RuntimeError"):
        _complete_report(json.dumps(whole), traceback, files)


# --- 6: an unsigned verdict is judged again from its findings -------------------------------------

WAIVED_POLICY = SAST_POLICY + (
    "waivers:\n  - {gate: sast, rule: B404, reason: reviewed, owner: sec, expires: 2099-12-31}\n"
)


def test_case6_verify_judges_an_unsigned_verdict_again_from_its_findings(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": WAIVED_POLICY})
    assert run_cli("run", repo.root, "--format", "json").code == 1
    made = _verdict(repo.root / ".gates")
    assert [w["matched"] for w in made["waivers"]] == [1]

    def verified(edit: Callable[[dict[str, Any]], None]) -> CliResult:
        verdict = json.loads(json.dumps(made))
        edit(verdict)
        path = tmp_path / "edited.json"
        path.write_text(json.dumps(verdict))
        return run_cli("verify", path, "--repo", repo.root)

    def all_pass(verdict: dict[str, Any]) -> None:
        verdict["status"] = "pass"
        for gate in verdict["gates"]:
            gate["status"] = "pass"

    def nothing_counted(verdict: dict[str, Any]) -> None:
        all_pass(verdict)
        sast = _gate(verdict, "sast")
        for finding in sast["findings"]:
            finding["counted"] = False
        sast["counts"]["counted"] = 0
        sast["counts"]["by_severity"] = dict.fromkeys(sast["counts"]["by_severity"], 0)
        sast["reason"] = "0 finding(s) counted, none over the thresholds"

    def vex_forged(verdict: dict[str, Any]) -> None:
        # A VEX suppression is for advisories: on any other gate's findings it waives nothing.
        nothing_counted(verdict)
        sast = _gate(verdict, "sast")
        for finding in sast["findings"]:
            finding["waived"] = {
                "kind": "vex",
                "reason": "not reachable",
                "source": "vex/x.json:1",
                "format": "openvex",
                "vulnerability": finding["rule"],
                "products": [],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            }
        sast["counts"]["waived"] = len(sast["findings"])

    refused = verified(all_pass)
    assert refused.code == 1 and "make it fail (1 finding(s) at or above high)" in refused.err
    refused = verified(vex_forged)
    assert refused.code == 1 and "the verdict says sast is pass" in refused.err
    refused = verified(nothing_counted)
    assert refused.code == 1 and "the verdict says sast is pass" in refused.err

    # A passing verdict whose waiver ledger is dropped or edited.
    repo.write("gates.yaml", WAIVED_POLICY.replace("rule: B404", "rule: B602"))
    repo.commit("waive the finding")
    assert run_cli("run", repo.root, "--format", "json").code == 0
    made = _verdict(repo.root / ".gates")
    assert run_cli("verify", repo.root / ".gates" / "verdict.json", "--repo", repo.root).code == 0

    def no_ledger(verdict: dict[str, Any]) -> None:
        verdict["waivers"] = []

    def edited_waiver(verdict: dict[str, Any]) -> None:
        verdict["waivers"][0]["owner"] = "nobody"

    for edit in (no_ledger, edited_waiver):
        refused = verified(edit)
        assert refused.code == 1 and "waiver ledger is not what its findings" in refused.err


def test_case8_an_imported_sarif_report_of_a_failed_or_unfinished_run_is_no_pass(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    failed = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "scanner"}},
                "invocations": [{"executionSuccessful": False}],
                "results": [],
            }
        ],
    }
    unfinished = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scanner"}}}]}
    policy = "version: 1\ngates:\n  dast: {import: {sarif: scan.sarif}}\n"
    for report, expected in (
        (failed, "scanner: the run did not complete"),
        (unfinished, "scanner: the run has no results"),
    ):
        repo = make_repo({"scan.sarif": json.dumps(report, indent=2), "gates.yaml": policy})
        assert run_cli("run", repo.root, "--format", "json").code == 3
        dast = _gate(_verdict(repo.root / ".gates"), "dast")
        assert dast["status"] == "error" and expected in dast["reason"], dast["reason"]
