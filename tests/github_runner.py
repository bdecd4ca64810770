"""A small stand-in for a GitHub Actions runner, enough to run action.yml and
pipelines/github/gates.yml as shipped: `${{ }}` expressions (contexts, ||, &&, !, ==, !=, and the
functions the files use), `run` steps in bash as the runner starts them, outputs through
GITHUB_OUTPUT, the job summary through GITHUB_STEP_SUMMARY. It refuses what it does not know, so a
new expression in a shipped file makes the tests say so instead of passing it by."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>\|\||&&|==|!=|!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[\w-]+)*))"
)
_STATUS_FUNCTIONS = ("always()", "cancelled()", "failure()", "success()")


class Expressions:
    """Evaluates expressions against flat contexts: {"inputs.policy": "...", "matrix.gate": ...}."""

    def __init__(self, contexts: Mapping[str, Any], workspace: Path | None = None) -> None:
        self.contexts = contexts
        self.workspace = workspace

    def _functions(self) -> dict[str, Callable[..., Any]]:
        def hash_files(pattern: str) -> str:
            assert self.workspace is not None
            files = sorted(self.workspace.glob(pattern))
            return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest() if files else ""

        return {
            "startsWith": lambda a, b: str(a).lower().startswith(str(b).lower()),
            "fromJSON": json.loads,
            "hashFiles": hash_files,
            "cancelled": lambda: False,
            "always": lambda: True,
        }

    def evaluate(self, expression: str) -> Any:
        """JavaScript-like || and && (the operand's value), translated to Python and evaluated."""
        python, position, functions = [], 0, self._functions()
        values: dict[str, Any] = {}
        while position < len(expression):
            match = _TOKEN.match(expression, position)
            assert match and match.end() > position, f"cannot read expression {expression!r}"
            position = match.end()
            if match["string"]:
                python.append(repr(match["string"][1:-1].replace("''", "'")))
            elif match["op"]:
                python.append({"||": " or ", "&&": " and ", "!": " not "}.get(match["op"], match["op"]))
            elif expression[position:].lstrip().startswith("("):
                assert match["name"] in functions, f"the runner does not know {match['name']}()"
                python.append(f"f_{match['name']}")
            elif match["name"] in ("true", "false", "null"):
                python.append({"true": "True", "false": "False", "null": "None"}[match["name"]])
            else:
                key = f"v{len(values)}"
                values[key] = self.contexts.get(match["name"], "")
                python.append(key)
        scope = {**values, **{f"f_{name}": f for name, f in functions.items()}}
        return eval("".join(python), {"__builtins__": {}}, scope)

    def fill(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            result = self.evaluate(match[1])
            if isinstance(result, bool):
                return str(result).lower()
            return "" if result is None else str(result)

        return EXPRESSION.sub(value, text)

    def condition(self, text: str | None, failed: bool) -> bool:
        """A step's or job's `if`: without a status function it also needs success so far."""
        if text is None:
            return not failed
        inner = EXPRESSION.fullmatch(text.strip())
        expression = inner[1] if inner else text
        if not any(f in expression.replace(" ", "") for f in _STATUS_FUNCTIONS) and failed:
            return False
        return bool(self.evaluate(expression))


def read_outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_step(
    script: str, shell: str | None, cwd: Path, env: Mapping[str, str], files: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """A `run` step as the runner starts it (`env` is the whole environment): `bash -e` by default,
    `shell: bash` adds pipefail and no profile. Returns the process and the outputs it wrote."""
    assert shell in (None, "bash"), shell
    files.mkdir(parents=True, exist_ok=True)
    path, outputs = files / "step.sh", files / "output"
    path.write_text(script)
    outputs.write_text("")
    bash = ["bash", "-e"] if shell is None else ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    done = subprocess.run(
        [*bash, str(path)], cwd=cwd, env={**env, "GITHUB_OUTPUT": str(outputs)},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return done, read_outputs(outputs)
