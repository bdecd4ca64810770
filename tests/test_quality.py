"""The project's own checks, so the one test command covers them: lint, types, packaging."""

from __future__ import annotations

import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from tests.conftest import REPO_ROOT


def test_every_subpackage_is_packaged() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(REPO_ROOT).parts)
        for p in (REPO_ROOT / "gates").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert on_disk | {"gates.policies"} == set(config["packages"])
    assert config["package-dir"] == {"gates.policies": "policies"}


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_base_install_needs_no_extra_to_start() -> None:
    """`pip install governance-gates` without extras must give a working `gates` command: a module
    an extra brings is imported only when its gate or command runs."""
    extras = ["packageurl", "cyclonedx", "pip_audit", "presidio_analyzer", "spacy", "scipy",
              "cryptography", "license_expression", "detect_secrets", "tldextract", "univers",
              "defusedxml", "lxml"]  # fmt: skip
    code = (
        "import sys\n"
        f"for name in {extras!r}: sys.modules[name] = None\n"
        "from gates.__main__ import main\n"
        "raise SystemExit(main(['list', '--json']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert '"sast"' in proc.stdout
