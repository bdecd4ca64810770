"""`--since` baselines a contributor can push: an annotated tag and a `refs/notes/gates` note are
anyone's to write, and CI signs every verdict it makes. Real git, the real cyclonedx-py and
pip-audit, real PyPA advisories (../shared) read from a local database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gates.release import since
from gates.sbom.changes import Delta
from tests.conftest import OSV_SHARED_SAMPLE, CliResult, Repo

pytestmark = pytest.mark.skipif(
    not OSV_SHARED_SAMPLE.is_dir(), reason="../shared/data/osv-pypi-sample is absent (real PyPA advisories)"
)

# pyyaml 5.3.1 and requests 2.30.0 carry high advisories in the sample database.
REQUIREMENTS = "jinja2==2.11.2\nrequests==2.30.0\npyyaml==5.3.1\n"
POLICY = """\
version: 1
defaults: {fail_on: high, warn_on: medium}
gates:
  sbom: {}
  vulnerabilities: {disclosed: warn}
release: {allow_warn: true}
"""


@pytest.fixture(autouse=True)
def _home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GATES_SIGNING_KEY", "the-ci-signing-secret-0123456789")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def _protected(tmp_path: Path, text: str = POLICY) -> Path:
    policy = tmp_path / "protected.yaml"  # outside the repository: the contributor cannot edit it
    policy.write_text(text, encoding="utf-8")
    return policy


def _ci_run(run_cli: Callable[..., CliResult], repo: Repo, policy: Path, osv: Path) -> CliResult:
    return run_cli(
        "run", repo.root, "--no-cache", "--policy", policy,
        "--input", f"vulnerabilities.osv_database={osv}", "--since", "auto",
    )  # fmt: skip


def test_a_signed_verdict_compared_with_an_unsigned_pushed_note_cannot_release_disclosed_advisories(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    osv = tmp_path / "osv"
    shutil.copytree(OSV_SHARED_SAMPLE, osv)
    policy = _protected(tmp_path)
    repo = make_repo({"requirements.txt": REQUIREMENTS})
    # The contributor runs only the sbom gate on their own commit, tags it and notes the verdict:
    # its inventory lists the vulnerable pins, so CI would take their advisories as disclosed.
    assert run_cli("run", repo.root, "--no-cache", "--policy", policy, "--only", "sbom").code == 0
    repo.git("tag", "-a", "-m", "pushed by a contributor", "v0.9.0")
    repo.git("notes", "--ref=gates", "add", "-F", str(repo.root / ".gates" / "verdict.json"), "HEAD")
    repo.write("README", "next\n")
    repo.commit("next")

    run = _ci_run(run_cli, repo, policy, osv)  # CI, with the signing key
    assert run.code == 0, run.err  # the run may take the baseline's word (docs/security.md) ...
    signed = tmp_path / "verdict.dsse.json"
    assert run_cli("sign", repo.root / ".gates" / "verdict.json", "-o", signed).code == 0
    released = run_cli("release", signed, "--policy", policy, "--repo", repo.root, "--tag", "v1.0.0")

    assert released.code == 1, released.err  # ... but CI's signature does not prove the note
    assert "relaxes advisories as the release delta marks them" in released.err
    assert "unsigned baseline" in released.err
    assert "v1.0.0" not in repo.git("tag", "--list")


def test_a_signed_failing_verdict_noted_on_a_pushed_tag_is_no_baseline(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    osv = tmp_path / "osv"
    shutil.copytree(OSV_SHARED_SAMPLE, osv)
    signed_only = POLICY.replace("{allow_warn: true}", "{allow_warn: true, require_signature: true}")
    policy = _protected(tmp_path, signed_only)
    repo = make_repo({"requirements.txt": REQUIREMENTS})
    # CI judged the contributor's commit, failed it and signed the failing verdict (as the
    # templates do); the contributor tags that commit and notes the signed envelope.
    failed = _ci_run(run_cli, repo, policy, osv)
    assert failed.code == 1, failed.err
    envelope = tmp_path / "failed.dsse.json"
    assert run_cli("sign", repo.root / ".gates" / "verdict.json", "-o", envelope).code == 0
    repo.git("tag", "-a", "-m", "pushed by a contributor", "v0.9.0")
    repo.git("notes", "--ref=gates", "add", "-F", str(envelope), "HEAD")
    repo.write("README", "next\n")
    repo.commit("next")

    run = _ci_run(run_cli, repo, policy, osv)

    assert run.code == 2, run.out + run.err  # a verdict that could never release is no release's
    assert "v0.9.0 (refs/notes/gates): not a release's verdict (its status is fail)" in run.err


def test_merged_parts_compared_with_different_releases_prove_no_baseline() -> None:
    # A tag and note pushed between two CI jobs: one part compared with the signed release, the
    # other with the contributor's unsigned note. The merge must not vouch for either.
    signed = Delta("v1.0.0", "a" * 40, "hmac-sha256:5921d0756e1eedec", None, "no inventory", 0, 0)
    pushed = Delta("v1.0.1", "b" * 40, None, None, "no inventory", 0, 3)
    for parts in ([signed, pushed], [pushed, signed]):
        merged = Delta.merge([(None, d) for d in parts])
        assert merged is not None and merged.signed_by is None
    same = Delta.merge([(None, signed), (None, signed)])
    assert same is not None and same.signed_by == signed.signed_by


@pytest.mark.parametrize(
    ("note", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "v0.9.0 (refs/notes/gates): nested deeper than 200 levels"),
        (b'\xff\xfe{"a": 1}', "byte 0 is no UTF-8: not a verdict"),
    ],
    ids=["deep", "not-utf8"],  # the id is in PYTEST_CURRENT_TEST, which git inherits
)
def test_a_hostile_pushed_note_is_an_input_error(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], note: bytes, says: str
) -> None:
    repo = make_repo({"a.py": "x = 1\n", "gates.yaml": "version: 1\ngates:\n  sast: {}\n"})
    repo.git("tag", "-a", "-m", "pushed by a contributor", "v0.9.0")
    (tmp_path / "note").write_bytes(note)
    repo.git("notes", "--ref=gates", "add", "-F", str(tmp_path / "note"), "HEAD")
    repo.write("README", "next\n")
    repo.commit("next")

    result = run_cli("run", repo.root, "--since", "auto")

    assert result.code == 2, result.err  # was a RecursionError or UnicodeDecodeError: exit 3
    assert says in result.err and "Traceback" not in result.err


def test_pushed_tags_without_a_note_do_not_make_auto_forget_the_release(
    tmp_path: Path,
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(since, "_MAX_TAGS_WITHOUT_NOTE", 3)  # 100 in use: the same walk, shorter
    policy = _protected(tmp_path, "version: 1\ngates:\n  sbom: {new_components: fail}\n")
    repo = make_repo({"requirements.txt": "requests==2.31.0\n"})
    assert run_cli("run", repo.root, "--no-cache", "--policy", policy).code == 0
    assert run_cli("release", repo.root / ".gates" / "verdict.json", "--policy", policy,
                   "--repo", repo.root, "--tag", "v1.0.0").code == 0  # fmt: skip
    repo.write("requirements.txt", "requests==2.31.0\npyyaml==6.0.1\n")
    repo.commit("a new component")
    repo.write("README", "next\n")
    repo.commit("next")
    for n in range(3):  # a contributor's tags between the release and HEAD, none with a note
        repo.git("tag", "-a", "-m", "pushed", f"x{n}", "HEAD~1")

    result = run_cli("run", repo.root, "--no-cache", "--policy", policy, "--since", "auto")

    # An unknown delta, never "no earlier release" (which would judge no component as new).
    assert result.code == 1, result.out + result.err
    assert "none of the 3 nearest tags before HEAD carries a gates verdict note" in result.err


def test_a_baselines_inventory_is_shown_masked(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # The baseline (a note anyone can push, or a release made before masking) names a component with
    # a URL's credentials: the removed component is shown, the password is not.
    policy = _protected(tmp_path, "version: 1\ngates:\n  sbom: {new_components: warn}\n")
    repo = make_repo({"requirements.txt": "requests==2.31.0\n"})
    assert run_cli("run", repo.root, "--no-cache", "--policy", policy).code == 0
    document = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    inventory = next(g for g in document["gates"] if g["name"] == "sbom")["stats"]["inventory"]
    evil = "evil https://admin:S3cretPw@h.example.com/x"  # pragma: allowlist secret
    inventory.append({"name": evil, "version": "1.0", "licences": []})
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(document), encoding="utf-8")

    formats = [a for f in ("md", "html", "sarif", "junit", "json") for a in ("--format", f)]
    result = run_cli("run", repo.root, "--no-cache", "--policy", policy, "--since", baseline, *formats)

    assert result.code == 0, result.err
    outputs = {p.name: p.read_text(encoding="utf-8") for p in (repo.root / ".gates").iterdir() if p.is_file()}
    assert "h.example.com/x" in outputs["report.md"]  # the removed component is listed ...
    assert [name for name, text in outputs.items() if "S3cretPw" in text] == []  # ... masked


def test_a_pushed_unsigned_note_listing_every_component_cannot_release_new_components(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = _protected(tmp_path, "version: 1\ngates:\n  sbom: {new_components: fail}\n")
    repo = make_repo({"requirements.txt": "jinja2==2.11.2\n"})
    # The contributor adds a component, runs the sbom gate on that commit, tags it and notes the
    # verdict: its inventory already lists the new component, so CI's run sees nothing added.
    repo.write("requirements.txt", "jinja2==2.11.2\npyyaml==5.3.1\n")
    repo.commit("add pyyaml")
    assert run_cli("run", repo.root, "--no-cache", "--policy", policy, "--only", "sbom").code == 0
    repo.git("tag", "-a", "-m", "pushed by a contributor", "v1.0.1")
    repo.git("notes", "--ref=gates", "add", "-F", str(repo.root / ".gates" / "verdict.json"), "HEAD")
    repo.write("README", "next\n")
    repo.commit("next")

    run = run_cli("run", repo.root, "--no-cache", "--policy", policy, "--only", "sbom", "--since", "auto")
    assert run.code == 0, run.err  # the run may take the baseline's word (docs/security.md) ...
    signed = tmp_path / "verdict.dsse.json"
    assert run_cli("sign", repo.root / ".gates" / "verdict.json", "-o", signed).code == 0
    released = run_cli("release", signed, "--policy", policy, "--repo", repo.root, "--tag", "v1.1.0")

    assert released.code == 1, released.err  # ... but nothing proves what v1.0.1 shipped
    assert "judges the components changed since the release it was compared with" in released.err
    assert "new_components: fail" in released.err
    assert "v1.1.0" not in repo.git("tag", "--list")
