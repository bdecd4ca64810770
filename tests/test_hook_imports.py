"""A pre-commit hook imports only what its gates need: no report renderer, no other gate's tool."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.conftest import VULNERABLE_CODE, Repo

# Modules the hook must run without: a report's template engine, and the tools of gates not run.
UNNEEDED = [
    "jinja2",
    "presidio_analyzer",
    "spacy",
    "detect_secrets",
    "pip_audit",
    "cyclonedx",
    "univers",
    "phonenumbers",
]


def test_the_sast_hook_runs_without_report_renderers_or_other_gates_tools(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": "version: 1\ngates:\n  sast: {}\n  pii: {}\n"})
    code = (
        "import sys\n"
        f"for name in {UNNEEDED!r}: sys.modules[name] = None\n"
        "from gates.__main__ import main\n"
        "raise SystemExit(main(['hook', '--only', 'sast', 'app.py']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "app.py:" in proc.stdout and "B602" in proc.stdout


# What the default policy's other gates, and the other commands, need: a hook judging one file
# imports none of it (every gate is loaded to check the policy, so their modules must import
# these only when they run).
NOT_ON_THE_HOOK_PATH = [
    "gates.commands.plan",
    "gates.commands.release",
    "gates.commands.verify",
    "gates.dast.crawl",
    "gates.osv.client",
    "gates.osv.mirror",
    "gates.osv.vex",
    "gates.perf.command",
    "gates.report.html",
    "gates.sbom.delta",
    "gates.sbom.licence_lookup",
    "gates.sbom.read",
    "gates.util.pool",
    "defusedxml",
    "http.server",
    "packageurl",
    "univers",
]


@pytest.mark.parametrize("gate", ["sast", "secrets"])
def test_the_hook_under_the_default_policy_imports_no_other_gates_or_commands_modules(
    gate: str, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo({"app.py": VULNERABLE_CODE})
    code = (
        "import sys\n"
        "from gates.__main__ import main\n"
        f"code = main(['hook', '--only', {gate!r}, 'app.py'])\n"
        f"print('imported:', *sorted(m for m in {NOT_ON_THE_HOOK_PATH!r} if m in sys.modules))\n"
        "raise SystemExit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stdout.splitlines()[-1] == "imported:"


def _hook_imports(repo: Repo, module: str) -> tuple[int, bool, str]:
    """Exit code of `gates hook --only sast app.py`, whether it imported `module`, its output."""
    code = (
        "import sys\n"
        "from gates.__main__ import main\n"
        "code = main(['hook', '--only', 'sast', 'app.py'])\n"
        f"print('imported' if {module!r} in sys.modules else 'not imported')\n"
        "raise SystemExit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
    return proc.returncode, proc.stdout.splitlines()[-1] == "imported", proc.stdout + proc.stderr


def test_the_hook_validates_an_unchanged_policy_once_and_a_changed_one_again(
    make_repo: Callable[..., Repo],
) -> None:
    valid = "version: 1\ngates:\n  sast: {fail_on: high}\n  secrets: {}\n"
    repo = make_repo({"app.py": VULNERABLE_CODE, "gates.yaml": valid})
    assert _hook_imports(repo, "jsonschema")[:2] == (1, True)
    # The same policy again: remembered as valid, jsonschema is not even imported.
    assert _hook_imports(repo, "jsonschema")[:2] == (1, False)
    # Any change is validated again, and an invalid policy is refused every time.
    repo.write("gates.yaml", valid.replace("high", "severe"))
    for _ in range(2):
        code, imported, output = _hook_imports(repo, "jsonschema")
        assert (code, imported) == (2, True)
        assert "gates.yaml:3: gates.sast.fail_on: 'severe' is not one of" in output
    repo.write("gates.yaml", valid)
    assert _hook_imports(repo, "jsonschema")[:2] == (1, False)
