"""A pre-commit hook imports only what its gates need: no report renderer, no other gate's tool."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

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
