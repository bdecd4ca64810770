"""Issue 14, cases 9 to 18: leaks of what the gates detect, hostile input and silent gaps.

Each test is one case of docs/security.md's table, run with the real tools on real git
repositories; each failed on the code before the case was closed.
"""

from __future__ import annotations

import html
import json
import os
import resource
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gates.report.registry import load_formats
from tests.conftest import VULNERABLE_CODE, CliResult, Repo

ALL_FORMATS = [arg for name in load_formats().names() for arg in ("--format", name)]


def _everything_written(out: Path) -> str:
    """Every file of an output or cache folder, as one text."""
    files = sorted(p for p in out.rglob("*") if p.is_file())
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- 9. bandit's B105/B106/B107 quote the hard-coded password -------------------------------------

PASSWORDS = ("Sup3rS3cretPassw0rd", "tok_Z9q8w7e6r5t4y3u2", "DefaultPassw0rdXyz")
HARD_CODED = f'''\
def connect(login):
    password = "{PASSWORDS[0]}"
    return login(password=password, token="{PASSWORDS[1]}")


def open_db(pwd="{PASSWORDS[2]}"):
    return pwd
'''


def test_case09_quoted_passwords_are_masked_in_every_output(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    repo = make_repo({"app.py": HARD_CODED})
    out, cache = repo.root / "out", tmp_path / "cache"
    monkeypatch.setenv("GATES_CACHE_DIR", str(cache))
    result = run_cli("run", repo.root, "--only", "sast", "--out", out, *ALL_FORMATS)
    written = _everything_written(out) + _everything_written(cache)
    assert all(rule in written for rule in ("B105", "B106", "B107"))
    assert list(cache.rglob("sast-*")) and (out / "findings.json").is_file()
    assert all((out / fmt.filename).is_file() for fmt in load_formats().formats.values())
    monkeypatch.chdir(repo.root)
    hook = run_cli("hook", "--only", "sast", "app.py")
    assert "Possible hardcoded password: 'S********rd'" in hook.out  # pragma: allowlist secret
    for text in (written, result.out, result.err, hook.out, hook.err):
        for password in PASSWORDS:
            assert password not in text


# --- 10. credentials in a URL ----------------------------------------------------------------------


def test_case10_credentials_in_urls_are_redacted(
    make_repo: Callable[..., Repo],
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    repo = make_repo({"requirements.txt": "requests==2.19.0\n"})
    port = _closed_port()
    # pragma: allowlist nextline secret
    monkeypatch.setenv("GATES_OSV_URL", f"http://osvuser:OsvPassw0rd@127.0.0.1:{port}/?token=T0kenValue9")
    policy = tmp_path / "dast.yaml"
    policy.write_text("version: 1\nname: t\ngates:\n  vulnerabilities: {}\n  dast: {mode: enforce}\n")
    out = repo.root / "out"
    # pragma: allowlist nextline secret
    url = f"http://admin:AdminPassw0rd@127.0.0.1:{port}/app?api_key=K3yValue123456"
    target = f"dast.url={url}"
    result = run_cli("run", repo.root, "--policy", policy, "--out", out, *ALL_FORMATS, "--input", target)
    assert result.code == 3, result.out + result.err  # both targets unreachable: errors
    written = _everything_written(out)
    assert f"cannot reach http://***@127.0.0.1:{port}/app?api_key=K********56" in written
    assert "http://***@127.0.0.1" in result.out
    for text in (written, result.out, result.err):
        for secret in ("OsvPassw0rd", "T0kenValue9", "AdminPassw0rd", "K3yValue123456", "osvuser"):
            assert secret not in text


# --- 12. Markdown in file names ---------------------------------------------------------------------

HOSTILE_NAMES = (
    "[click](http:evil.example).py",
    "![pixel](http:evil.example/p.png).py",
    "<http:evil.example>.py",
    "<img src=x onerror=alert(1)>.py",
    "_em_ *strong* ~~gone~~ `tick` | cell.py",
)


def _markup_tokens(markdown: str) -> list[str]:
    """What a CommonMark renderer with GFM tables makes of `markdown` besides text: links, images
    HTML (inline or block), emphasis and strikethrough (the report itself uses only strong)."""
    from markdown_it import MarkdownIt

    found = []
    for token in MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(markdown):
        if token.type == "html_block":
            found.append(token.content)
        for child in token.children or ():
            if child.type in ("link_open", "image", "html_inline", "s_open", "em_open"):
                found.append(f"{child.type}: {child.content or child.attrs}")
    return found


def test_case12_markdown_in_scanned_text_renders_as_text(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    from markdown_it import MarkdownIt

    repo = make_repo({name: VULNERABLE_CODE for name in HOSTILE_NAMES})
    repo.git("checkout", "-q", "-b", "rel`<b>x</b>")
    out = repo.root / "out"
    result = run_cli("run", repo.root, "--only", "sast", "--out", out, "--format", "md")
    assert result.code == 1, result.err
    report = (out / "report.md").read_text(encoding="utf-8")
    assert _markup_tokens(report) == []
    text = MarkdownIt("commonmark").enable("table").render(report)
    for name in HOSTILE_NAMES:  # each name reads exactly as it is
        assert html.escape(f"{name}:5", quote=False) in text
    assert "<code>rel`&lt;b&gt;x&lt;/b&gt;</code>" in text


# --- 11. symlinks out of the repository ------------------------------------------------------------


def test_case11_no_gate_reads_through_a_link_out_of_the_repository(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "requirements.txt").write_text("secret-internal-package==1.0\n")
    (outside / "zap.json").write_text('{"site": []}')
    repo = make_repo({"app.py": "x = 1\n"})
    (repo.root / "requirements.txt").symlink_to(outside / "requirements.txt")
    (repo.root / "zap.json").symlink_to(outside / "zap.json")
    (repo.root / "inside.txt").symlink_to("requirements.txt")  # inside, but leading out in the end
    repo.commit("links out")
    out = repo.root / "out"
    result = run_cli("run", repo.root, "--only", "sbom", "--out", out)
    assert result.code == 2
    assert f"sbom source auto: requirements.txt leads outside the repository (to {outside}" in result.err
    assert not (out / "sbom.cdx.json").exists()
    repo.write("gates.yaml", "version: 1\nname: t\ngates:\n  sbom: {sbom: {file: inside.txt}}\n")
    result = run_cli("run", repo.root, "--only", "sbom", "--out", out)
    assert result.code == 2 and "policy sbom.file: inside.txt leads outside the repository" in result.err
    repo.write("gates.yaml", "version: 1\nname: t\ngates:\n  dast: {mode: enforce}\n")
    result = run_cli("run", repo.root, "--only", "dast", "--out", out, "--input", "dast.zap=zap.json")
    assert result.code == 2 and "dast import zap: zap.json leads outside the repository" in result.err
    assert not list(out.rglob("*.json"))  # nothing written, not even a cache entry
    # cyclonedx-py reads what a requirements file includes: an include must be a repository file.
    (repo.root / "requirements.txt").unlink()
    repo.write("requirements.txt", "requests==2.0\n-r more.txt\n")
    repo.write("more.txt", f"-c {outside / 'requirements.txt'}\n")
    (repo.root / "gates.yaml").unlink()
    result = run_cli("run", repo.root, "--only", "sbom", "--out", out)
    assert result.code == 2 and f"more.txt:1: includes {outside}" in result.err


# --- 13. hostile policy files ----------------------------------------------------------------------

BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def _gates(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`gates ARGS` in a process of its own, with 1 GB of address space and a deadline."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "gates", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, preexec_fn=limit_memory,
    )  # fmt: skip


def test_case13_hostile_policy_files_are_refused_fast(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    policies = {
        tmp_path / "bomb.yaml": (BILLION_LAUGHS, "bomb.yaml:6: aliases expand this value"),
        tmp_path / "loop.yaml": ("version: 1\ngates: &g\n  sast: *g\n", "loop.yaml:2: an alias refers to"),
        tmp_path / "deep.yaml": ("[" * 100_000 + "]" * 100_000, "deep.yaml:1: nested deeper than"),
        tmp_path / "big.yaml": ("version: 1\n" + "# padding\n" * 1_200_000, "big.yaml: too large"),
        fifo: (None, "fifo.yaml: not a regular file"),
        Path("/dev/zero"): (None, "/dev/zero: not a regular file"),
    }
    for path, (text, error) in policies.items():
        if text is not None:
            path.write_text(text)
        for args in (("policy", "validate", path), ("run", tmp_path, "--policy", path)):
            result = _gates(*args)
            assert result.returncode == 2 and error in result.stderr, (path, result.stderr[-2000:])


# --- 14. values and patterns that pass validation and crash the run ----------------------------------

BAD_WAIVER_PATH = (
    "  sast: {}\nwaivers:\n  - {gate: sast, rule: B1, path: 'a/[z-a]', reason: r, owner: o,"
    " expires: 2030-01-01}"
)
BAD_POLICY_VALUES = {
    "  sast: {timeout_s: .inf}": "gates.sast.timeout_s: inf is not a finite number",
    "  sast: {timeout_s: .nan}": "gates.sast.timeout_s: nan is not a finite number",
    "  sast: {exclude: ['[z-a]']}": "gates.sast.exclude[0]: '[z-a]' is not a 'glob' (bad character range",
    "  pii: {allow: {regexes: ['(a']}}": "gates.pii.allow.regexes[0]: '(a' is not a 'regex' (missing )",
    "  pii: {recognizers: [{name: x, entity: X, regex: 'a{2,1}'}]}": "regex: 'a{2,1}' is not a 'regex'",
    BAD_WAIVER_PATH: ":6: waivers[0].path: 'a/[z-a]' is not a 'glob'",
}


def test_case14_patterns_and_numbers_are_checked_when_the_policy_loads(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app.py": "x = 1\n"})
    policy = repo.root / "gates.yaml"
    for gates_block, error in BAD_POLICY_VALUES.items():
        policy.write_text(f"version: 1\nname: t\ngates:\n{gates_block}\n")
        line = ":4: " if "waivers" not in gates_block else ""
        validated = run_cli("policy", "validate", policy)
        assert validated.code == 2 and f"{policy}{line}" in validated.err and error in validated.err, (
            gates_block, validated.err,
        )  # fmt: skip
        ran = run_cli("run", repo.root, "--out", repo.root / "out")
        assert ran.code == 2 and error in ran.err


# --- 15. corrupt verdicts and findings files --------------------------------------------------------


def test_case15_deep_or_impossible_verdicts_and_findings_are_input_errors(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app.py": "x = 1\n"})
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--only", "sast", "--out", out).code == 0
    verdict = json.loads((out / "verdict.json").read_text())
    deep = "[" * 100_000 + "]" * 100_000
    nested = repo.root / "nested.json"
    nested.write_text((out / "verdict.json").read_text().replace('"waivers": []', f'"waivers": {deep}'))
    findings = repo.root / "findings.json"
    collected = (out / "findings.json").read_text()
    findings.write_text(collected.replace('"stats": {', f'"stats": {{"x": {deep},', 1))
    month13 = repo.root / "month13.json"
    month13.write_text(json.dumps({**verdict, "started_at": "2026-13-01T00:00:00Z"}))
    expected = {
        ("report", nested, "--format", "md"): f"{nested}: nested deeper than",
        ("evaluate", findings, "--policy", "default", "--out", repo.root / "o"): f"{findings}: nested deeper",
        ("merge", out / "verdict.json", month13, "-o", repo.root / "m.json"): (
            f"{month13}: not a gates verdict: started_at: 2026-13-01T00:00:00Z: month must be in 1..12"
        ),
        ("report", month13, "--format", "html"): f"{month13}: not a gates verdict: started_at",
    }
    for args, error in expected.items():
        result = run_cli(*args)
        assert result.code == 2 and error in result.err, (args, result.err[-500:])


# --- 16. symlink loops ---------------------------------------------------------------------------------


def test_case16_symlink_loops_are_skipped_and_counted(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"settings.env": 'aws_access_key_id = "AKIAZ3MHSLQXK4T2WQPN"\n'})
    (repo.root / "loop1").symlink_to("loop2")
    (repo.root / "loop2").symlink_to("loop1")
    (repo.root / "self").symlink_to("self")
    repo.commit("loops")
    out = repo.root / "out"
    result = run_cli("run", repo.root, "--only", "pii,secrets", "--out", out)
    verdict = json.loads((out / "verdict.json").read_text())
    collected = {c["gate"]: c for c in json.loads((out / "findings.json").read_text())["collections"]}
    statuses = {g["name"]: g["status"] for g in verdict["gates"]}
    assert statuses == {"pii": "pass", "secrets": "fail"}, result.out  # pragma: allowlist secret
    for gate in ("pii", "secrets"):
        assert collected[gate]["error"] is None and collected[gate]["stats"]["skipped"]["symlink_loop"] == 3


# --- 17. two runs, one output folder -------------------------------------------------------------------


def test_case17_a_run_waits_for_the_run_holding_its_output_folder(make_repo: Callable[..., Repo]) -> None:
    from gates.util.lock import output_folder

    repo = make_repo({"app.py": VULNERABLE_CODE})
    out = repo.root / "out"
    strict = repo.write("strict.yaml", "version: 1\nname: strict\ngates:\n  sast: {fail_on: low}\n")
    lenient = repo.write("lenient.yaml", "version: 1\nname: lenient\ngates:\n  sast: {mode: warn}\n")

    def start(policy: Path) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "gates", "run", repo.root, "--policy", policy, "--out", out]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        return subprocess.Popen(list(map(str, argv)), text=True, **pipes)

    with output_folder(out, lambda: None):
        held = start(strict)
        assert held.stderr is not None
        lines = iter(held.stderr.readline, "")
        assert any(f"waiting for another run writing {out}" in line for line in lines), held.wait()
        assert held.poll() is None and not (out / "verdict.json").exists()
    held.communicate(timeout=120)
    assert held.returncode == 1
    # Two at once: whichever ends last, every output is its own.
    runs = [start(strict), start(lenient)]
    for run in runs:
        run.communicate(timeout=120)
    assert {run.returncode for run in runs} == {0, 1}
    verdict = json.loads((out / "verdict.json").read_text())
    report = (out / "report.md").read_text()
    assert f"Policy: `{verdict['policy']['name']}`" in report
    assert f"gates verdict: **{verdict['status'].upper()}**" in report


# --- 18. files a gate could not read ------------------------------------------------------------------


def test_case18_files_a_gate_could_not_read_warn_or_fail_as_the_policy_says(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    key = 'aws_access_key_id = "AKIAZ3MHSLQXK4T2WQPN"\n'  # pragma: allowlist secret
    repo = make_repo({"big.env": "x = 1\n" * 550_000 + key, "notes.env": "nothing here\n"})
    (repo.root / "wide.env").write_text(key, encoding="utf-16")
    repo.commit("a secret in a 3 MB file and one in UTF-16")
    statuses = {}
    for choice in ("default", "ignore", "warn", "fail"):
        setting = "" if choice == "default" else f"skipped_files: {choice}"
        repo.write("gates.yaml", f"version: 1\nname: t\ngates:\n  secrets: {{{setting}}}\n")
        result = run_cli("run", repo.root, "--out", repo.root / choice)
        (gate,) = json.loads((repo.root / choice / "verdict.json").read_text())["gates"]
        statuses[choice] = (result.code, gate["status"])
        if choice != "ignore":
            assert "2 file(s) not read (1 not utf8, 1 too large)" in gate["reason"]
    expected = {"default": (0, "warn"), "ignore": (0, "pass"), "warn": (0, "warn"), "fail": (1, "fail")}
    assert statuses == expected
