"""`gates hook` on one file reports exactly what `gates run` reports for that file under the same
policy, and what bandit and detect-secrets find in it when run by hand."""

from __future__ import annotations

import json
import secrets
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gates.util.mask import mask_message
from tests.conftest import CliResult, Repo

# bandit: B404, B602, B324 (MD5), B105 (the password); detect-secrets: the keyword detector (the
# password) and the AWS key; lib/other.py has a finding the hook on app.py must not report.
APP = """\
import hashlib
import subprocess


def run(command):
    subprocess.call(command, shell=True)


def digest(data):
    return hashlib.md5(data).hexdigest()


PASSWORD = "{password}"
AWS_ACCESS_KEY_ID = "{key}"
"""
OTHER = "import subprocess\n\n\ndef go(c):\n    subprocess.Popen(c, shell=True)\n"


def _made_up(prefix: str, alphabet: str, length: int) -> str:
    """A credential made at run time: this repository holds no key literal."""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _hook_lines(verdict: dict[str, Any], path: str) -> list[str]:
    """The lines `gates hook` prints for the counted findings of `path`, from a verdict."""
    lines = []
    for gate in verdict["gates"]:
        for f in gate["findings"]:
            if f["counted"] and f["location"].get("path") == path:
                where = f"{path}:{f['location']['line']}" if f["location"].get("line") else path
                lines.append(f"{where}: {gate['name']} {f['rule']} ({f['severity']}): {f['message']}")
    return lines


def test_hook_reports_what_gates_run_and_the_tools_by_hand_report(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    key = _made_up("AKIA", string.ascii_uppercase + string.digits, 16)
    password = _made_up("", string.ascii_letters + string.digits, 24)
    repo = make_repo({"app.py": APP.format(key=key, password=password), "lib/other.py": OTHER})

    out = tmp_path / "out"
    ran = run_cli("run", repo.root, "--only", "sast,secrets", "--no-cache", "--out", out, "--format", "json")
    assert ran.code == 1, ran.err
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    expected = _hook_lines(verdict, "app.py")
    assert {line.split(": ")[1].split(" (")[0] for line in expected} >= {
        "sast B602",
        "secrets aws-access-key",
    }

    # The hook as pre-commit runs it: a process of its own, in the repository.
    hook = subprocess.run(
        [sys.executable, "-m", "gates", "hook", "--only", "sast", "--only", "secrets", "app.py"],
        cwd=repo.root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert hook.returncode == 1, hook.stderr
    printed = [line for line in hook.stdout.splitlines() if line.startswith("app.py")]
    assert sorted(printed) == sorted(expected)
    assert key not in hook.stdout and password not in hook.stdout
    assert "lib/other.py" not in hook.stdout

    # Every finding of the file, counted or not, is one the tools by hand report on it.
    findings = {
        g["name"]: [f for f in g["findings"] if f["location"].get("path") == "app.py"]
        for g in verdict["gates"]
    }
    bandit = subprocess.run(
        [sys.executable, "-m", "bandit", "-f", "json", "-q", "app.py"],
        cwd=repo.root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    # gates scans a file this small with bandit in its own process: the same report in every field
    # (the quoted password masked, as every message of a gate is).
    by_hand = {
        (r["test_id"], r["line_number"], r["col_offset"], r["issue_severity"].lower(),
         r["issue_confidence"].lower(), mask_message(r["issue_text"]), f"CWE-{r['issue_cwe']['id']}",
         r["more_info"])
        for r in json.loads(bandit.stdout)["results"]
    }  # fmt: skip
    gated = {
        (f["rule"], f["location"]["line"], f["properties"]["column"], f["severity"],
         f["properties"]["confidence"], f["message"], *f["aliases"], f["properties"]["more_info"])
        for f in findings["sast"]
    }  # fmt: skip
    assert len(by_hand) == 4 and gated == by_hand
    scan = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files", "app.py"],
        cwd=repo.root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = {(s["type"], s["line_number"]) for s in json.loads(scan.stdout)["results"]["app.py"]}
    assert {(f["properties"]["type"], f["location"]["line"]) for f in findings["secrets"]} == found
