"""SARIF gate: any scanner that writes SARIF 2.1.0 (Semgrep, ESLint, CodeQL, Checkov...) as a gate.

The gate either runs the scanner or reads a report it wrote. It is meant to be used through gate
instances, so one policy can run several scanners, each under its own name and settings::

    gates:
      semgrep:
        uses: sarif
        run: [semgrep, --config, rules/, --sarif, --metrics=off, -o, "{sarif}", .]
        fail_on: high
      eslint:
        uses: sarif
        run: [npx, eslint, --format, "@microsoft/eslint-formatter-sarif", --output-file, "{sarif}", src/]
        ok_exit_codes: [0, 1]        # ESLint exits 1 when it finds something
      codeql:
        uses: sarif
        file: /tmp/codeql.sarif      # a report an earlier CI step wrote, never a committed one
                                     # (or --input codeql.file=$RUNNER_TEMP/codeql.sarif)

`{sarif}` in `run` is replaced by a fresh file outside the repository; the command runs in the
repository root. Fail closed: a command that cannot start, exits with a code not in `ok_exit_codes`,
times out, writes no report, an invalid one, or one whose run says it did not complete is an `error`.
Severity, rule ids, locations and fingerprints come from the SARIF file (see gates/util/sarif.py);
the engine masks messages like every gate's, since a scanner's message can quote what it found.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gates.errors import InputError
from gates.model import Finding
from gates.plugins.interface import CollectContext, Collected, GateError
from gates.util.proc import run_tool
from gates.util.sarif import read_sarif
from gates.util.yamlfile import MAX_INPUT_BYTES

PLACEHOLDER = "{sarif}"


def _report_file(ctx: CollectContext) -> Path | None:
    configured = ctx.options.get("file") or ctx.settings.get("file")
    return ctx.root / Path(str(configured)) if configured else None


def _checked_report(report: Path, root: Path) -> Path:
    """The report, if it may judge this commit: a regular file of a bounded size that the
    repository does not supply. Inside the repository it must be untracked, no link, and not reached
    through one, since a committed report says whatever the repository wants; a path outside it
    comes from the policy or the CI job (`--input GATE.file=$RUNNER_TEMP/x.sarif`)."""
    inside = not report.is_absolute() or report.is_relative_to(root)
    try:
        info = report.lstat()
    except OSError as e:
        raise GateError(f"{report}: no such SARIF report ({e.strerror or e})") from e
    if not stat.S_ISREG(info.st_mode):
        raise GateError(f"{report}: not a regular file (a link or a device is never followed)")
    if info.st_size > MAX_INPUT_BYTES:
        raise GateError(f"{report}: too large ({info.st_size} bytes, limit {MAX_INPUT_BYTES})")
    if inside:
        resolved, top = report.resolve(), root.resolve()
        if not resolved.is_relative_to(top):
            raise GateError(f"{report}: reached through a link out of the repository")
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", str(resolved.relative_to(top))],
            cwd=top, capture_output=True, check=False,
        )  # fmt: skip
        if tracked.returncode == 0:
            raise GateError(
                f"{report}: the report is committed, and a scan result the repository supplies cannot "
                "judge it: write it in CI outside the repository (--input GATE.file=PATH), or let the "
                "gate run the scanner (`run:`)"
            )
    return report


def _command(ctx: CollectContext) -> list[str] | None:
    run = ctx.settings.get("run")
    return [str(arg) for arg in run] if run else None


def _findings(report: Path, ctx: CollectContext) -> Collected:
    try:
        imported = read_sarif(report, ctx.root.resolve(), "sarif", ctx.inline_suppressions)
    except InputError as e:
        raise GateError(f"the scanner's report is not valid SARIF: {e}") from e
    if imported.failures:
        raise GateError(f"the scanner did not complete: {imported.failures[0]}")
    findings = list(imported.findings)
    return Collected(
        findings=findings, stats={"results": len(findings), "suppressed_by_tool": imported.suppressed}
    )


class SarifGate:
    name = "sarif"
    version = "1.0.0"
    description = "Any scanner that writes SARIF 2.1.0, run by a command or read from its report"
    settings_schema: Mapping[str, Any] = {
        "run": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
            "contains": {"type": "string", "pattern": "\\{sarif\\}"},
        },
        "file": {"type": "string", "minLength": 1},
        "ok_exit_codes": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "integer", "minimum": 0, "maximum": 255},
        },
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {}  # the scanner is whatever the policy runs; its SARIF names it

    def cache_key(self, ctx: CollectContext) -> str | None:
        report = _report_file(ctx)
        if _command(ctx) is not None or report is None:
            return None  # a command may read anything in the repository or beyond
        try:
            content = _checked_report(report, ctx.root).read_bytes()
        except (GateError, OSError):
            return None  # collect reports the unusable file
        return hashlib.sha256(f"sarif-file\0{ctx.inline_suppressions}\0".encode() + content).hexdigest()

    def collect(self, ctx: CollectContext) -> Collected:
        command, report = _command(ctx), _report_file(ctx)
        if (command is None) == (report is None):
            raise GateError(
                "sarif: give exactly one of `run` (a command writing {sarif}) or `file` "
                "(a SARIF report) in the policy, or --input GATE.file=FILE"
            )
        if report is not None:
            return _findings(_checked_report(report, ctx.root), ctx)
        assert command is not None
        codes = [int(c) for c in ctx.settings.get("ok_exit_codes", [0])]
        with tempfile.TemporaryDirectory(prefix="gates-sarif-") as folder:
            output = Path(folder) / "report.sarif"
            argv = [arg.replace(PLACEHOLDER, str(output)) for arg in command]
            run_tool(argv, timeout=ctx.remaining(), cwd=ctx.root, ok_codes=codes)
            if not output.is_file():
                raise GateError(f"{command[0]} wrote no SARIF report to {PLACEHOLDER}")
            return _findings(output, ctx)

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        return list(findings)
