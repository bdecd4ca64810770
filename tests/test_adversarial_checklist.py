"""The adversarial checklist beyond issue 14's cases: ways around a verdict found by re-running the
review on main, each as an attack a contributor can make, with the real tools on real git
repositories (docs/security.md lists them with the cases)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from gates.osv.mirror import INDEX_DIR_ENV
from gates.report.registry import load_formats
from gates.util.sealed import open_sealed
from tests.conftest import OSV_FIXTURES, VULNERABLE_CODE, CliResult, Repo


def _verdict(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "verdict.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _gate(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g["name"] == name)  # type: ignore[no-any-return]


# --- a, g: the local OSV database and its index ----------------------------------------------

OSV_POLICY = "version: 1\ngates:\n  vulnerabilities: {fail_on: high, osv_database: osv}\n"


def _osv_repo(make_repo: Callable[..., Repo]) -> Repo:
    repo = make_repo({"requirements.txt": "jinja2==2.10\n", "gates.yaml": OSV_POLICY})
    shutil.copytree(OSV_FIXTURES / "jinja2", repo.root / "osv")
    repo.commit("advisories")
    return repo


def _osv_rules(run_cli: Callable[..., CliResult], repo: Repo) -> tuple[int, list[str]]:
    result = run_cli("run", repo.root, "--only", "vulnerabilities", "--no-cache", "--format", "json")
    verdict = _verdict(repo.root / ".gates")
    return result.code, sorted(f["rule"] for f in _gate(verdict, "vulnerabilities")["findings"])


def test_an_edited_osv_index_is_a_miss_and_one_inside_the_repository_is_never_read(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(INDEX_DIR_ENV, str(tmp_path / "index"))
    repo = _osv_repo(make_repo)
    assert _osv_rules(run_cli, repo) == (1, ["PYSEC-2019-217"])
    (index,) = (tmp_path / "index").glob("*.json")
    # The index edited to drop the advisory (its old HMAC, or none at all) is parsed again.
    mac, _, _ = index.read_bytes().partition(b"\n")
    for forged in (mac + b"\n" + orjson.dumps({}), orjson.dumps({})):
        index.write_bytes(forged)
        assert _osv_rules(run_cli, repo) == (1, ["PYSEC-2019-217"])

    # An index folder inside the repository, with its secret and a well-sealed empty index
    # committed beside it, is never read: the repository cannot answer for its own advisories.
    inside = repo.root / "cache"
    monkeypatch.setenv(INDEX_DIR_ENV, str(inside))
    outside = open_sealed(tmp_path / "elsewhere", repo.root)
    assert outside is not None
    inside.mkdir()
    (inside / "secret").write_bytes(outside.secret)
    outside.write_sealed(inside / index.name, orjson.dumps({}))
    repo.commit("a sealed index that knows no advisory")
    assert _osv_rules(run_cli, repo) == (1, ["PYSEC-2019-217"])
    assert sorted(p.name for p in inside.iterdir()) == sorted(["secret", index.name])


def test_osv_database_files_linking_out_of_the_repository_are_never_read(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    secret = tmp_path / "outside" / "PYSEC-0000-0.json"
    secret.parent.mkdir()
    secret.write_text('{"id": "OUTSIDE", "summary": "read from outside"}', encoding="utf-8")
    repo = _osv_repo(make_repo)
    os.symlink(secret, repo.root / "osv" / "linked.json")
    repo.commit("a record that is a link out of the repository")
    result = run_cli("run", repo.root, "--only", "vulnerabilities", "--no-cache")
    assert result.code == 2 and "osv_database: osv/linked.json leads outside the repository" in result.err
    assert not (repo.root / ".gates" / "verdict.json").exists()


# --- b: the tree must hold at the end what it held at the start -------------------------------

REWRITE = """\
import pathlib, subprocess, sys

pathlib.Path("app.py").write_text("VALUE = 1\\n")
if "commit" in sys.argv:
    subprocess.run(["git", "commit", "-qam", "judged no more"], check=True)
"""


@pytest.mark.parametrize("how", ["edit", "commit"])
def test_a_tool_that_changes_the_repository_during_the_run_makes_the_verdict_unreleasable(
    how: str, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # The benchmark the performance gate times is the repository's code: it rewrites a file other
    # gates may read after it (and commits the change), so what they judged is not HEAD's content.
    policy = (
        "version: 1\ngates:\n  sast: {fail_on: high}\n  performance:\n    baseline_required: false\n"
        f"    command: {{argv: [{json.dumps(sys.executable)}, bench.py, {how}], runs: 1, warmup: 0}}\n"
    )
    repo = make_repo({"app.py": VULNERABLE_CODE, "bench.py": REWRITE, "gates.yaml": policy})
    result = run_cli("run", repo.root, "--format", "json")
    assert "changed while the gates ran" in result.err
    verdict = _verdict(repo.root / ".gates")
    assert verdict["subject"]["dirty"] is True
    # Back to the commit the verdict names, clean: only the verdict's own record can refuse now.
    repo.git("reset", "-q", "--hard", verdict["subject"]["commit"])
    assert repo.git("status", "--porcelain") == ""
    refused = run_cli("release", repo.root / ".gates" / "verdict.json", "--repo", repo.root, "--tag", "v1")
    assert refused.code == 1 and "made on a work tree with uncommitted changes" in refused.err
    assert repo.git("tag", "--list") == ""


# --- c: nothing the repository holds is imported in place of a tool ---------------------------

SHADOW = '''\
"""Committed under a tool's name: loads the real tool and makes it find nothing."""
import importlib, os, sys

sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
del sys.modules[__name__]
real = importlib.import_module(__name__)
{patch}
sys.modules[__name__] = real
'''
SHADOWS = {
    # imported by the secrets gate in the gates process
    "detect_secrets/__init__.py": "import detect_secrets.core.scan as s\n"
    "s.scan_file = lambda *a, **k: iter(())",
    # run as `python -m bandit` with the repository as the working folder
    "bandit/__init__.py": "",
    "bandit/__main__.py": 'print(\'{"results": [], "errors": [], "metrics": {"_totals": {}}}\')',
    # a distribution of the working folder would register a gate of the same name
    "shadow-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shadow\nVersion: 1.0\n",
    "shadow-1.0.dist-info/entry_points.txt": "[gates.plugins]\nsast = shadow_gate:Gate\n",
}


def test_python_m_gates_in_the_repository_imports_nothing_it_holds(make_repo: Callable[..., Repo]) -> None:
    files = {
        "app.py": VULNERABLE_CODE + 'AWS_ACCESS_KEY_ID = "AKIA' + 'J3QXWZ7VB2NPLKQA"\n',
        "gates.yaml": "version: 1\ngates:\n  sast: {fail_on: high}\n  secrets: {fail_on: high}\n",
        "sitecustomize.py": "raise SystemExit('sitecustomize of the repository ran')\n",
        "shadow_gate.py": "raise SystemExit('the repository registered a gate')\n",
    }
    for path, patch in SHADOWS.items():
        files[path] = SHADOW.format(patch=patch) if path == "detect_secrets/__init__.py" else patch
    repo = make_repo(files)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    done = subprocess.run(
        [sys.executable, "-m", "gates", "run", ".", "--no-cache", "--format", "json"],
        cwd=repo.root, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    verdict = _verdict(repo.root / ".gates")
    assert _gate(verdict, "secrets")["status"] == "fail"
    assert "B602" in {f["rule"] for f in _gate(verdict, "sast")["findings"]}


# --- f: the policy the repository holds is read from the repository -------------------------


def test_a_repository_policy_linking_out_of_the_repository_is_an_input_error(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "lenient.yaml").write_text("version: 1\ngates:\n  sast: {mode: warn}\n", encoding="utf-8")
    repo = make_repo({"app.py": VULNERABLE_CODE})
    (repo.root / "gates.yaml").symlink_to(outside / "lenient.yaml")
    repo.commit("a policy that is a link out of the repository")
    for command in (("run", repo.root), ("run", repo.root, "--policy", repo.root / "gates.yaml")):
        result = run_cli(*command)
        assert result.code == 2, (command, result.out, result.err)
        assert "gates.yaml leads outside the repository" in result.err
    (repo.root / "gates.yaml").unlink()
    repo.write("gates.yaml", "version: 1\nextends: ../outside/lenient.yaml\ngates:\n  sast: {}\n")
    repo.write("policies/base.yaml", "version: 1\ngates:\n  sast: {fail_on: high}\n")
    repo.commit("a policy that extends a file outside the repository")
    result = run_cli("run", repo.root)
    assert result.code == 2 and "extends '../outside/lenient.yaml'" in result.err
    assert "leads outside the repository" in result.err
    # Inside the repository, extends works as before.
    repo.write("gates.yaml", "version: 1\nextends: policies/base.yaml\n")
    repo.commit("extends inside")
    assert run_cli("run", repo.root, "--format", "json").code == 1


# --- h: requirements files refer to nothing outside the repository ---------------------------


@pytest.mark.parametrize(
    "line",
    [
        "-r /etc/passwd",
        "-r ../../x.txt",
        "-e ../other",
        "--editable=../other",
        "../other",
        "/opt/wheels/internal-1.0-py3-none-any.whl",
        "file:///etc/passwd",
        "internal @ file:///opt/src/internal",
        "internal @ file:../other",
        "-e file:../other#egg=other",
        "--find-links ../wheels",
        "-f file:///opt/wheels",
    ],
)
def test_requirements_refer_to_nothing_outside_the_repository(
    line: str, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"requirements.txt": f"requests==2.31.0\n{line}\n", "sub/x.txt": ""})
    result = run_cli("run", repo.root, "--only", "sbom", "--out", repo.root / "out")
    assert result.code == 2, result.err
    assert "requirements.txt:2: " in result.err
    assert "outside the repository" in result.err or "not a file of the repository" in result.err
    assert not (repo.root / "out" / "sbom.cdx.json").exists()


def test_requirements_may_refer_to_folders_of_the_repository(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo(
        {
            "requirements.txt": "-e ./libs/one\n./libs/one\nlocal @ file:libs/one\n-r more.txt\n",
            "more.txt": "requests==2.31.0\n",
            "libs/one/pyproject.toml": "[project]\nname = 'one'\nversion = '1.0'\n",
        }
    )
    result = run_cli("run", repo.root, "--only", "sbom", "--out", repo.root / "out")
    assert result.code in (0, 1), result.err


def test_pyproject_dependencies_refer_to_nothing_outside_the_repository(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    pyproject = "[project]\nname = 'app'\nversion = '1'\ndependencies = ['internal @ file:///opt/internal']\n"
    repo = make_repo({"pyproject.toml": pyproject})
    result = run_cli("run", repo.root, "--only", "sbom", "--out", repo.root / "out")
    assert result.code == 2
    where = "pyproject.toml: project.dependencies[0]"
    assert f"{where}: refers to /opt/internal, outside the repository" in result.err


# --- i: findings read back are masked as collected ones are ----------------------------------

AWS_KEY = "AKIA" + "J3QXWZ7VB2NPLKQA"
CLEAR = ("Sup3rS3cretPassw0rd", "AdminPassw0rd")  # pragma: allowlist secret


def _unmasked(value: Any) -> Any:
    """A findings document as a gates older than masking (or a hand) would have written it."""
    if isinstance(value, dict):
        return {
            k: (
                f"Possible hardcoded password: '{CLEAR[0]}' at http://admin:{CLEAR[1]}@example.com/"
                if k in ("message", "error") and isinstance(v, str)
                else _unmasked(v)
            )
            for k, v in value.items()
        }
    return [_unmasked(v) for v in value] if isinstance(value, list) else value


def test_evaluate_masks_the_findings_it_reads(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    policy = "version: 1\ngates:\n  sast: {}\n"
    repo = make_repo({"app.py": f'password = "{CLEAR[0]}"\n', "gates.yaml": policy})
    assert run_cli("run", repo.root, "--out", tmp_path / "run").code in (0, 1)
    findings = tmp_path / "findings.json"
    document = json.loads((tmp_path / "run" / "findings.json").read_text(encoding="utf-8"))
    findings.write_text(json.dumps(_unmasked(document)), encoding="utf-8")
    assert CLEAR[0] in findings.read_text(encoding="utf-8")
    out = tmp_path / "evaluated"
    formats = [arg for name in load_formats().names() for arg in ("--format", name)]
    result = run_cli("evaluate", findings, "--policy", repo.root / "gates.yaml", "--out", out, *formats)
    assert result.code in (0, 1), result.err
    written = "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file())
    assert "Possible hardcoded password: 'S********rd'" in written  # pragma: allowlist secret
    for text in (written, result.out, result.err):
        assert not any(clear in text for clear in CLEAR)


# --- e, j: content no gate reads is counted, never passed over in silence ---------------------


def test_submodules_and_nested_repositories_are_counted_as_unread(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    library = make_repo({"keys.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'})
    repo = make_repo({"app.py": "VALUE = 1\n"})
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library.root), "vendor/lib")
    repo.commit("a submodule holding a key")
    nested = make_repo({"more.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'})
    shutil.move(nested.root, repo.root / "nested")  # a clone inside the work tree, not registered
    statuses = {}
    for choice in ("default", "ignore", "fail"):
        setting = "" if choice == "default" else f"skipped_files: {choice}"
        policy = repo.root.parent / f"{choice}.yaml"
        policy.write_text(f"version: 1\nname: t\ngates:\n  secrets: {{{setting}}}\n", encoding="utf-8")
        result = run_cli("run", repo.root, "--policy", policy, "--out", repo.root.parent / choice)
        (gate,) = _verdict(repo.root.parent / choice)["gates"]
        statuses[choice] = (result.code, gate["status"])
        assert gate["stats"]["skipped"]["submodule"] == 2
    assert statuses == {"default": (0, "warn"), "ignore": (0, "pass"), "fail": (1, "fail")}


def test_a_folder_whose_files_git_all_ignores_is_not_judged_empty(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    repo = make_repo({".gitignore": "vendor/\n", "app.py": "VALUE = 1\n"})
    repo.write("vendor/lib/tool.py", VULNERABLE_CODE)
    policy = tmp_path / "sast.yaml"
    policy.write_text("version: 1\nname: t\ngates:\n  sast: {fail_on: high}\n", encoding="utf-8")
    result = run_cli("run", repo.root / "vendor" / "lib", "--policy", policy, "--out", tmp_path / "out")
    (gate,) = _verdict(tmp_path / "out")["gates"]
    assert (result.code, gate["status"]) == (0, "warn")
    assert "1 file(s) not read (1 ignored)" in gate["reason"]
    # A repository with nothing ignored and nothing to scan is simply empty.
    empty = make_repo({"README": "nothing\n"})
    run_cli("run", empty.root, "--policy", policy, "--out", tmp_path / "empty")
    (gate,) = _verdict(tmp_path / "empty")["gates"]
    assert gate["status"] == "pass", gate


def test_a_cache_entry_of_a_run_that_skipped_less_is_no_hit(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    # The files a gate reads are its cache key; the ones it skipped are in its stats, which
    # `skipped_files` judges: a file grown over the limit must not bring back the last pass.
    policy = "version: 1\nname: t\ngates:\n  secrets: {max_file_bytes: 200}\n"
    repo = make_repo({"app.py": "VALUE = 1\n", "gates.yaml": policy})
    assert run_cli("run", repo.root, "--out", tmp_path / "first").code == 0
    repo.write("big.env", "x = 1\n" * 40 + f'aws_access_key_id = "{AWS_KEY}"\n')
    repo.commit("a key in a file over the size limit")
    result = run_cli("run", repo.root, "--out", tmp_path / "second")
    (gate,) = _verdict(tmp_path / "second")["gates"]
    assert (result.code, gate["status"], gate["cached"]) == (0, "warn", False)
    assert "1 file(s) not read (1 too large)" in gate["reason"]


# --- d: an unsigned verdict's baseline claims do not decide a release ------------------------


def test_an_unsigned_verdict_cannot_pass_on_claims_of_its_baseline(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    # `new: false` on every finding (new_only) and `disclosed` on every advisory are what anyone
    # who can write verdict.json can claim; here they are what a real baseline run recorded.
    policy = "version: 1\ngates:\n  sast: {fail_on: high, new_only: true}\n"
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": policy})
    assert run_cli("run", repo.root, "--out", tmp_path / "base").code == 1
    assert run_cli("run", repo.root, "--baseline", tmp_path / "base" / "verdict.json").code == 0
    verdict = _verdict(repo.root / ".gates")
    assert verdict["status"] == "pass" and not any(f["new"] for f in _gate(verdict, "sast")["findings"])
    refused = run_cli("verify", repo.root / ".gates" / "verdict.json", "--repo", repo.root)
    assert refused.code == 1
    assert "sast is pass only because the verdict marks findings known to its baseline" in refused.err
    assert "with every finding new it is fail" in refused.err

    osv = _osv_repo(make_repo)
    disclosed = OSV_POLICY.replace("osv_database: osv", "osv_database: osv, disclosed: ignore")
    osv.write("gates.yaml", disclosed + "  sbom: {}\n")  # the sbom gate records the inventory
    osv.commit("disclosed advisories are the previous release's")
    assert run_cli("run", osv.root, "--out", tmp_path / "release").code == 1
    assert run_cli("run", osv.root, "--since", tmp_path / "release" / "verdict.json").code == 0
    refused = run_cli("verify", osv.root / ".gates" / "verdict.json", "--repo", osv.root)
    assert refused.code == 1
    assert "vulnerabilities relaxes advisories as the release delta marks them (1 disclosed)" in refused.err


# --- the adversary on main: what else a commit can do ---------------------------------------


def test_a_committed_output_folder_link_is_not_written_through(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "another-job"
    (elsewhere / ".gates").mkdir(parents=True)
    (elsewhere / ".gates" / "verdict.json").write_text("{}", encoding="utf-8")
    repo = make_repo({"app.py": "VALUE = 1\n"})
    (repo.root / ".gates").symlink_to(elsewhere / ".gates")
    repo.commit("the output folder is a link to another job's")
    result = run_cli("run", repo.root, "--only", "sast")
    assert result.code == 2 and ".gates: a link in the repository" in result.err
    assert sorted(p.name for p in (elsewhere / ".gates").iterdir()) == ["verdict.json"]
    assert (elsewhere / ".gates" / "verdict.json").read_text(encoding="utf-8") == "{}"


def test_report_and_merge_mask_the_verdicts_they_read(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    policy = "version: 1\ngates:\n  sast: {}\n"
    repo = make_repo({"app.py": f'password = "{CLEAR[0]}"\n', "gates.yaml": policy})
    run_cli("run", repo.root, "--out", tmp_path / "run", "--format", "json")
    old = tmp_path / "old.json"
    verdict = _unmasked(_verdict(tmp_path / "run"))
    verdict["gates"][0]["reason"] = f"cannot reach http://admin:{CLEAR[1]}@example.com/"
    old.write_text(json.dumps(verdict), encoding="utf-8")
    texts = []
    for name in load_formats().names():
        shown = run_cli("report", old, "--format", name)
        assert shown.code == 0, shown.err
        texts.append(shown.out)
    merged = run_cli("merge", old, "-o", tmp_path / "merged" / "verdict.json", "--format", "md")
    assert merged.code in (0, 1, 3), merged.err
    texts += [p.read_text(encoding="utf-8") for p in (tmp_path / "merged").iterdir()]
    assert "Possible hardcoded password: 'S********rd'" in texts[0]  # pragma: allowlist secret
    for text in texts:
        assert not any(clear in text for clear in CLEAR)


def test_hostile_records_in_a_repository_osv_database_are_input_errors(
    make_repo: Callable[..., Repo],
) -> None:
    from tests.test_adversarial_input import BILLION_LAUGHS, _gates

    repo = _osv_repo(make_repo)
    for name, text, error in (
        ("BOMB-1.yaml", "id: BOMB-1\n" + BILLION_LAUGHS, "osv/BOMB-1.yaml:7: aliases expand this value"),
        ("DEEP-1.json", "[" * 100_000 + "]" * 100_000, "osv/DEEP-1.json: nested deeper than 200 levels"),
        # 200 KB of compact block sequences: the C loader overflowed its stack (a segfault)
        ("DEEP-2.yaml", "id: DEEP-2\na:\n" + "- " * 100_000 + "x\n", "osv/DEEP-2.yaml: invalid YAML: nested"),
    ):
        repo.write(f"osv/{name}", text)
        repo.commit(f"a hostile record {name}")
        done = _gates("run", repo.root, "--only", "vulnerabilities", "--no-cache")
        assert done.returncode == 2 and error in done.stderr, done.stderr[-500:]
        (repo.root / "osv" / name).unlink()


def test_control_and_bidirectional_characters_in_names_are_shown_escaped(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A terminal escape in a file name would drive the terminal of whoever reads report.md or the
    # hook's output, and make junit.xml no XML at all; a right-to-left override makes
    # `a\u202eyp.txt.py` read as another name.
    names = ("bad\x1b[31m\x07name.py", "a\u202eyp.txt.py")
    repo = make_repo({name: VULNERABLE_CODE for name in names})
    policy = tmp_path / "sast.yaml"
    policy.write_text("version: 1\nname: t\ngates:\n  sast: {fail_on: high}\n", encoding="utf-8")
    formats = [arg for name in load_formats().names() for arg in ("--format", name)]
    result = run_cli("run", repo.root, "--policy", policy, "--out", tmp_path / "out", *formats)
    assert result.code == 1, result.err
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir() if p.is_file()}
    ET.fromstring(written["junit.xml"])  # well-formed
    for text in (*written.values(), result.out):
        assert not any(c in text for c in ("\x1b", "\x07", "\u202e"))
    assert "bad\\u001b[31m\\u0007name.py" in written["report.md"].replace("\\[", "[")
    paths = {f["location"]["path"] for f in _gate(json.loads(written["verdict.json"]), "sast")["findings"]}
    assert paths == set(names)  # JSON's own escapes: the verdict still names the files exactly
    monkeypatch.chdir(repo.root)
    hook = run_cli("hook", "--policy", policy, "--only", "sast", *names)
    assert hook.code == 1 and "\\u202e" in hook.out
    assert not any(c in hook.out for c in ("\x1b", "\x07", "\u202e"))


def test_the_release_not_the_verdict_says_which_environment_it_is_for(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # An override for a sandbox environment is lenient; an unsigned verdict could claim that
    # environment, and verify used to take the verdict's word for it.
    policy = (
        "version: 1\ngates:\n  sast: {fail_on: high}\noverrides:\n  - name: sandbox\n"
        "    when: {environment: [sandbox]}\n    gates:\n      sast: {fail_on: none}\n"
    )
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": policy})
    assert run_cli("run", repo.root, "--env", "sandbox", "--format", "json").code == 0
    verdict = repo.root / ".gates" / "verdict.json"
    refused = run_cli("verify", verdict, "--repo", repo.root)
    assert refused.code == 1 and "the verdict was made for environment 'sandbox'" in refused.err
    assert run_cli("verify", verdict, "--repo", repo.root, "--env", "sandbox").code == 0


def test_a_signed_envelope_around_deep_json_is_an_input_error(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    repo = make_repo({"app.py": "VALUE = 1\n"})
    payload = base64.b64encode(("[" * 100_000 + "]" * 100_000).encode()).decode()
    signature = {"keyid": "k", "sig": base64.b64encode(b"x").decode()}
    envelope = {"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": [signature]}
    path = tmp_path / "verdict.dsse.json"
    path.write_text(json.dumps(envelope), encoding="utf-8")
    result = run_cli("verify", path, "--repo", repo.root)
    assert result.code == 2 and f"{path}: envelope payload: nested deeper than 200 levels" in result.err
