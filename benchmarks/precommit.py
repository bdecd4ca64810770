"""The pre-commit path on one changed file of a large repository, against bandit on that file by hand.

    python benchmarks/precommit.py [REPO] [--runs 5]

Without REPO, builds one: a git repository holding copies of large installed package trees
(pip, setuptools, and whatever else of a list is installed). Stages one changed .py file, then prints
the median wall time of:
- python start-up, `import gates.cli`, `gates --version` (where the fixed cost goes);
- `bandit -q FILE` by hand;
- `gates hook --only sast FILE` (the hook's entry, what pre-commit runs);
- `pre-commit run` with the gates-sast-system hook on the staged file;
- the hook entry with jsonschema's optional rfc3987_syntax import blocked;
and the ratios to bandit by hand. The hook must find what bandit finds (exit codes agree).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Big pure-Python trees most environments have; those missing are left out.
_TREES = ("pip", "setuptools", "pygments", "sympy", "jinja2", "click", "docutils", "bandit")
_CONFIG = """\
repos:
  - repo: local
    hooks:
      - id: gates-sast-system
        name: gates sast
        entry: gates hook --only sast
        language: system
        types: [python]
        require_serial: true
"""
_BLOCKED = (
    "import sys; sys.modules['rfc3987_syntax'] = None; from gates.cli import main; "
    "raise SystemExit(main(sys.argv[1:]))"
)
_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=_ENV, check=True, capture_output=True, text=True
    ).stdout


def build_repo(root: Path) -> Path:
    repo = root / "big"
    repo.mkdir()
    for name in _TREES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "trees")
    return repo


def median_time(argv: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    times, code = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        code = subprocess.run(argv, cwd=cwd, env=_ENV, capture_output=True, check=False).returncode
        times.append(time.perf_counter() - started)
    return statistics.median(times), code


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("repo", type=Path, nargs="?", help="a git repository with Python files")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("pre-commit") is None:
        raise SystemExit("needs pre-commit on PATH (pip install pre-commit)")
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.repo.resolve() if args.repo else build_repo(Path(tmp))
        tracked = git(repo, "ls-files", "*.py").split()
        print(f"{repo}: {len(git(repo, 'ls-files').split())} files, {len(tracked)} .py")
        changed = repo / tracked[len(tracked) // 2]
        original = changed.read_text(encoding="utf-8")
        config = repo / ".pre-commit-config.yaml"
        had_config = config.exists()
        policy = repo / "gates.yaml"
        had_policy = policy.exists()
        try:
            changed.write_text(original + "\nimport subprocess\nsubprocess.call(input(), shell=True)\n")
            if not had_config:
                config.write_text(_CONFIG)
            if not had_policy:
                policy.write_text("version: 1\ngates:\n  sast: {fail_on: high}\n")
            git(repo, "add", str(changed), str(config), str(policy))
            rel = changed.relative_to(repo).as_posix()
            py = sys.executable
            rows = [
                ("python -c pass", [py, "-c", "pass"]),
                ("import gates.cli", [py, "-c", "import gates.cli"]),
                ("gates --version", ["gates", "--version"]),
                ("bandit FILE (by hand)", [py, "-m", "bandit", "-q", rel]),
                ("gates hook --only sast FILE", ["gates", "hook", "--only", "sast", rel]),
                ("pre-commit run (staged)", ["pre-commit", "run", "gates-sast-system"]),
                # jsonschema imports rfc3987_syntax when installed, which builds a grammar at import
                # (about 1 s); gates checks no `iri` format, so this shows the hook without it.
                ("hook, rfc3987_syntax blocked", [py, "-c", _BLOCKED, "hook", "--only", "sast", rel]),
            ]
            results = {name: median_time(argv, repo, args.runs) for name, argv in rows}
        finally:
            changed.write_text(original)
            git(repo, "reset", "-q", "--", str(changed), str(config), str(policy))
            if not had_config:
                config.unlink()
            if not had_policy:
                policy.unlink()
    bandit, bandit_code = results["bandit FILE (by hand)"]
    for name, (seconds, code) in results.items():
        print(f"{name:<30} {seconds:6.3f} s  {seconds / bandit:5.2f}x bandit  (exit {code})")
    hook_code = results["gates hook --only sast FILE"][1]
    return 0 if (bandit_code, hook_code, results["pre-commit run (staged)"][1]) == (1, 1, 1) else 1


if __name__ == "__main__":
    raise SystemExit(main())
