"""Every gate whose tool cannot be used is an error (exit 3), never a pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CLEAN_CODE, Repo

# The module each gate needs; a broken stand-in of it comes first on PYTHONPATH, so both gates that
# import their tool and gates that run it in a child process (`python -m tool`) meet it.
TOOLS = {
    "sast": "bandit",
    "sbom": "cyclonedx_py",
    "licence": "license_expression",
    "vulnerabilities": "pip_audit",
    "pii": "presidio_analyzer",
    "secrets": "detect_secrets",  # pragma: allowlist secret
}


@pytest.mark.parametrize(("gate", "module"), sorted(TOOLS.items()))
def test_a_gate_whose_tool_is_broken_is_an_error(
    gate: str, module: str, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    stub = tmp_path / "stubs" / module
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(f"raise ImportError('{module} is broken in this test')\n")
    (stub / "__main__.py").write_text(f"raise ImportError('{module} is broken in this test')\n")
    repo = make_repo(
        {
            "app.py": CLEAN_CODE,
            "requirements.txt": "jinja2==3.1.4\n",
            "notes.txt": "write to jane.roe@acme-mail.de\n",  # pragma: allowlist pii
            "gates.yaml": f"version: 1\ngates:\n  {gate}: {{}}\n",
        }
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path / "stubs"),
        "CI": "true",
        "GATES_OSV_URL": "http://127.0.0.1:9",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "run", str(repo.root), "--format", "json", "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (entry,) = json.loads((repo.root / ".gates" / "verdict.json").read_text())["gates"]
    assert entry["status"] == "error"
    assert entry["reason"]
