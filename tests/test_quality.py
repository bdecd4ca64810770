"""The project's own checks, so the one test command covers them: lint, types, packaging."""

from __future__ import annotations

import ast
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


def _package_of(module: str) -> str:
    """`gates.engine` for `gates.engine.pipeline`, `gates.verdict` for `gates.verdict.Verdict`."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _imports_between_packages() -> dict[str, set[str]]:
    """gates' subpackages and top-level modules, each with those it imports (at any depth)."""
    edges: dict[str, set[str]] = {}
    for path in (REPO_ROOT / "gates").rglob("*.py"):
        source = _package_of(".".join(path.relative_to(REPO_ROOT).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gates."):
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.module == "gates":
                names = [f"gates.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if alias.name.startswith("gates.")]
            for name in names:
                target = _package_of(name)
                if target != source and target != "gates.__init__":
                    edges.setdefault(source, set()).add(target)
    return edges


def test_no_import_cycle_between_packages() -> None:
    edges = _imports_between_packages()
    assert edges["gates.verdict"] and edges["gates.engine"]  # the walk sees imports at all

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(package for package in edges if reaches(package, package, {package}))
    assert not cycles, f"packages in an import cycle: {cycles}"
