"""SAST gate: bandit on the repository's Python files.

Policy keys (besides the shared mode, fail_on, warn_on, max_findings, include, exclude, new_only,
timeout_s)::

    gates:
      sast:
        fail_on: medium        # bandit severity LOW/MEDIUM/HIGH maps to low/medium/high
        confidence: medium     # count only findings bandit is at least this confident of
        skip: [B101]           # bandit test ids not to run
        tests: []              # if given, run only these bandit test ids
        allow_nosec: true      # honour `# nosec` comments (false: report them like any finding);
                               # `governance: {inline_suppressions: false}` turns them off for all gates
        exclude: ["tests/**"]

Large trees are split into byte-balanced shards scanned by parallel bandit processes (bandit's cost
follows file size, about 1.75 ms/KB); a scan of one shard (a pre-commit hook's few files, a small
project) runs bandit in this process, as its command line would, and reads the same JSON report:
a second interpreter's start and imports would cost more than the scan. Files bandit cannot parse
are counted under `stats.skipped.parse_error` and reported as a low `parse-error` finding, since
they went unscanned.
"""

from __future__ import annotations

import json
import linecache
import logging
import os
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gates.model import Finding, Location, Severity, fingerprint
from gates.plugins.interface import CollectContext, Collected, GateError
from gates.util.files import FileSelection, RepoFile, digest_selection, select_files
from gates.util.proc import distribution_version, last_line, python_tool, refuse_traceback, run_tools_parallel

_CONFIDENCE = ("low", "medium", "high")
# One process scans ~4 MB/s; below this many bytes a second process costs more than it saves.
_SHARD_MIN_BYTES = 512 * 1024
# Keep each bandit command line well under the kernel's argument limit.
_MAX_ARGV_CHARS = 100_000
# bandit's loggers and plugin manager are process-wide: one scan in this process at a time.
_IN_PROCESS = threading.Lock()


def _python_files(ctx: CollectContext) -> FileSelection:
    include = list(ctx.settings["include"]) or ["*.py"]
    selection = select_files(ctx.root, include, ctx.settings["exclude"], ctx.only_paths)
    selection.files = [f for f in selection.files if f.path.endswith(".py")]
    return selection


def _shards(files: Sequence[RepoFile], workers: int) -> list[list[RepoFile]]:
    """Byte-balanced groups: largest files first, each to the lightest group."""
    argv_chars = sum(len(f.path) + 1 for f in files)
    count = max(1, min(len(files), max(workers, -(-argv_chars // _MAX_ARGV_CHARS))))
    groups: list[list[RepoFile]] = [[] for _ in range(count)]
    loads = [0] * count
    for f in sorted(files, key=lambda f: (-f.size, f.path)):
        i = loads.index(min(loads))
        groups[i].append(f)
        loads[i] += f.size + 1
    return [g for g in groups if g]


def _source_line(code: str, line: int) -> str:
    for entry in code.splitlines():
        number, _, text = entry.partition(" ")
        if number == str(line):
            return text.strip()
    return ""


def _finding(result: Mapping[str, Any], seen: dict[tuple[str, str, str], int]) -> Finding:
    path = result["filename"].removeprefix("./")
    line = int(result["line_number"])
    rule = result["test_id"]
    text = _source_line(result.get("code", ""), line)
    # The same rule on identical lines of one file: tell them apart by order, not line number,
    # so fingerprints survive code moving up or down.
    occurrence = seen.setdefault((rule, path, text), 0)
    seen[(rule, path, text)] += 1
    cwe = result.get("issue_cwe") or {}
    return Finding(
        gate="sast",
        rule=rule,
        severity=Severity(result["issue_severity"].lower()),
        message=result["issue_text"],
        location=Location(path=path, line=line),
        fingerprint=fingerprint("sast", rule, path, text, occurrence),
        aliases=(f"CWE-{cwe['id']}",) if cwe.get("id") else (),
        properties={
            "confidence": result["issue_confidence"].lower(),
            "test_name": result.get("test_name", ""),
            "column": result.get("col_offset"),
        },
        help_uri=result.get("more_info", ""),
    )


def _complete_report(stdout: str, stderr: str, shard: Sequence[RepoFile]) -> dict[str, Any]:
    """bandit's JSON report, only when it is whole: `results`, `errors` and `metrics` present and
    every file given accounted for in `metrics`; bandit exits 1 both for findings and for a crash,
    so a traceback or a short report is a GateError, never an empty pass."""
    refuse_traceback("bandit", stderr)
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError as e:
        raise GateError(f"bandit wrote no JSON report: {last_line(stderr)}") from e
    if not (
        isinstance(report, dict)
        and isinstance(report.get("results"), list)
        and isinstance(report.get("errors"), list)
        and isinstance(report.get("metrics"), dict)
    ):
        raise GateError("bandit's report is incomplete: no results, errors and metrics")
    scanned = {name.removeprefix("./") for name in report["metrics"]}
    missing = [f.path for f in shard if f.path not in scanned]
    if missing:
        raise GateError(f"bandit's report is incomplete: {len(missing)} file(s) unscanned, e.g. {missing[0]}")
    return report


@contextmanager
def _quiet_bandit() -> Iterator[None]:
    """bandit's log at `-q` level, and the warnings of its imports and of the code it parses
    (`SyntaxWarning: invalid escape sequence`), kept from this process's output as a child's
    stderr is: bandit reports what it could not scan in the report itself."""
    log = logging.getLogger("bandit")
    saved = (log.level, log.propagate, log.handlers)
    log.setLevel(logging.WARNING)
    log.propagate, log.handlers = False, [logging.NullHandler()]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.level, log.propagate, log.handlers = saved


def _forget(names: Sequence[str]) -> None:
    for name in names:
        linecache.cache.pop(name, None)


def _bandit_here(
    root: Path, files: Sequence[RepoFile], skip: Sequence[str], tests: Sequence[str], ignore_nosec: bool
) -> str:
    """bandit's JSON report of `files`, made in this process by the steps of `bandit -f json -q
    --exclude '' [--skip] [--tests] [--ignore-nosec] FILES` (no configuration file, and no .bandit:
    the targets are files), with the paths as the command line in `root` would name them."""
    prefix = f"{root.resolve()}{os.sep}"
    with _IN_PROCESS, _quiet_bandit():
        from bandit.core import (  # type: ignore[import-untyped]
            config,
            constants,
            docs_utils,
            extension_loader,
            manager,
        )

        profile = {"include": set(tests), "exclude": set(skip)}
        extension_loader.MANAGER.validate_profile(profile)
        scan = manager.BanditManager(
            config.BanditConfig(), "file", False, profile=profile, quiet=True, ignore_nosec=ignore_nosec
        )
        # Absolute paths: this process's working folder need not be the repository's.
        names = [prefix + f.path for f in files]
        # bandit quotes the code of a finding through linecache, which keeps what it read in this
        # process: an earlier scan's lines would stand for a file changed since.
        _forget(names)
        scan.discover_files(names, False, "")
        if not scan.b_ts.tests:
            raise GateError("bandit: no tests would be run, please check the profile")
        scan.run_tests()
        lowest = constants.RANKING[0]
        # The document bandit's json formatter writes (its report() also compares its file's name
        # with sys.stdout's, which a captured stdout may not have).
        results = [issue.as_dict(max_lines=3) for issue in scan.get_issue_list(lowest, lowest)]
        for result in results:
            result["more_info"] = docs_utils.get_url(result["test_id"])
        document = {
            "errors": [{"filename": name, "reason": reason} for name, reason in scan.get_skipped()],
            "results": sorted(results, key=lambda r: r["filename"]),
            "metrics": scan.metrics.data,
        }
        _forget(names)
    for entry in (*document["results"], *document["errors"]):
        entry["filename"] = entry["filename"].removeprefix(prefix)
    document["metrics"] = {name.removeprefix(prefix): m for name, m in document["metrics"].items()}
    return json.dumps(document)


class SastGate:
    name = "sast"
    version = "1.0.0"
    description = "Static analysis of Python code with bandit"
    settings_schema: Mapping[str, Any] = {
        "confidence": {"enum": list(_CONFIDENCE)},
        "skip": {"type": "array", "items": {"type": "string", "pattern": "^B[0-9]{3}$"}},
        "tests": {"type": "array", "items": {"type": "string", "pattern": "^B[0-9]{3}$"}},
        "allow_nosec": {"type": "boolean"},
        "workers": {"type": "integer", "minimum": 1},
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {"bandit": distribution_version("bandit")}

    def _bandit_options(self, ctx: CollectContext) -> list[str]:
        # No exclusions: bandit's default ones (.tox, __pycache__, *.egg...) silently drop tracked
        # files given by name; the policy's exclude globs already chose the files.
        settings = ctx.settings
        options = ["-f", "json", "-q", "--exclude", ""]
        if settings.get("skip"):
            options += ["--skip", ",".join(settings["skip"])]
        if settings.get("tests"):
            options += ["--tests", ",".join(settings["tests"])]
        if self._ignore_nosec(ctx):
            options.append("--ignore-nosec")
        return options

    def _ignore_nosec(self, ctx: CollectContext) -> bool:
        return not (ctx.settings.get("allow_nosec", True) and ctx.inline_suppressions)

    def _reports(
        self, ctx: CollectContext, tool: Sequence[str], shards: Sequence[Sequence[RepoFile]], workers: int
    ) -> list[dict[str, Any]]:
        """bandit's whole report of each shard: one shard in this process, several in parallel
        bandit processes."""
        if len(shards) == 1:
            skip, tests = ctx.settings.get("skip") or [], ctx.settings.get("tests") or []
            report = _bandit_here(ctx.root, shards[0], skip, tests, self._ignore_nosec(ctx))
            return [_complete_report(report, "", shards[0])]
        base = [*tool, *self._bandit_options(ctx)]
        # bandit exits 1 when it finds issues; 0 when none; anything else is a failure.
        runs = run_tools_parallel(
            [[*base, "--", *(f.path for f in shard)] for shard in shards],
            timeout=ctx.remaining(),
            workers=workers,
            cwd=ctx.root,
            ok_codes=(0, 1),
        )
        return [
            _complete_report(run.stdout, run.stderr, shard) for run, shard in zip(runs, shards, strict=True)
        ]

    def cache_key(self, ctx: CollectContext) -> str | None:
        return digest_selection(_python_files(ctx), self._bandit_options(ctx))

    def collect(self, ctx: CollectContext) -> Collected:
        selection = _python_files(ctx)
        files = selection.files
        total = sum(f.size for f in files)
        stats: dict[str, Any] = {**selection.stats(), "shards": 0}
        if not files:
            return Collected(findings=[], stats=stats)
        workers = ctx.settings.get("workers") or os.cpu_count() or 1
        workers = max(1, min(workers, total // _SHARD_MIN_BYTES or 1))
        tool = python_tool("bandit", "bandit")  # ToolMissing, in this process or another
        shards = _shards(files, workers)
        stats["shards"] = len(shards)
        findings: list[Finding] = []
        seen: dict[tuple[str, str, str], int] = {}
        parse_errors = 0
        for report in self._reports(ctx, tool, shards, workers):
            for result in sorted(report["results"], key=lambda r: (r["filename"], r["line_number"])):
                findings.append(_finding(result, seen))
            for error in report.get("errors", []):
                parse_errors += 1
                path = error["filename"].removeprefix("./")
                findings.append(
                    Finding(
                        gate="sast",
                        rule="parse-error",
                        severity=Severity.LOW,
                        message=f"bandit could not scan this file: {error['reason']}",
                        location=Location(path=path),
                        fingerprint=fingerprint("sast", "parse-error", path),
                        properties={"confidence": "high"},
                    )
                )
        if parse_errors:
            selection.skipped["parse_error"] += parse_errors
            stats["skipped"] = dict(sorted(selection.skipped.items()))
        return Collected(findings=findings, stats=stats)

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        minimum = _CONFIDENCE.index(settings.get("confidence", "low"))
        return [
            f for f in findings if _CONFIDENCE.index(str(f.properties.get("confidence", "high"))) >= minimum
        ]
