"""The GitLab child pipeline `gates plan --format gitlab` prints: one job per planned gate (a
`parallel: matrix` job for monorepo projects or grouped work), a verdict job that merges, publishes
every report GitLab reads and signs, and a release job that tags, notes and pushes.

The parent (.gitlab-ci-template.yml) runs `gates plan` and triggers this pipeline, so the jobs
always match what the policy enables, third-party gates included. Settings arrive as CI/CD
variables: the parent's are forwarded, the defaults below apply when the pipeline is used alone.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import yaml

PARTS_DIR = ".gates/parts"
VERDICT_DIR = ".gates/verdict"

# The variables the jobs read, with their defaults (the parent's template declares the same).
VARIABLES = {
    "GATES_IMAGE": "python:3.12",
    "GATES_INSTALL": "pip install 'governance-gates[all]'",
    "GATES_SINCE": "auto",
    "GATES_RELEASE_TAG": "",
    "GATES_PUBLISH_COMMAND": "",
    "GATES_PUSH_URL": "",
}
# Every job runs in a fresh clone: it installs gates the way the parent says.
_INSTALL = 'if [ -n "$GATES_INSTALL" ]; then sh -c "$GATES_INSTALL"; fi'
# `--since`: the last release is a tag whose verdict is a git note. GIT_DEPTH 0 clones the whole
# history, but a runner fetches neither every tag nor the notes: the gate jobs fetch them (without
# them the verdict says the delta is unknown, never that nothing changed).
_FETCH_RELEASES = """\
if [ -n "$GATES_SINCE" ]; then
  if [ "$(git rev-parse --is-shallow-repository)" = true ]; then git fetch -q --unshallow origin || true; fi
  git fetch -q --tags origin || true
  git fetch -q origin refs/notes/gates:refs/notes/gates || true
fi
"""
_SINCE = '${GATES_SINCE:+--since "$GATES_SINCE"}'
# GitLab reads these from the verdict job (gates merge --format NAME writes them).
_REPORTS = {
    "junit": "junit.xml",
    "sast": "gl-sast-report.json",
    "codequality": "gl-code-quality-report.json",
}
_MERGE_FORMATS = ("sarif", "junit", "md", "gitlab-sast", "codequality")

# Merge the parts; the Markdown report goes to the job log (GitLab has no job summary). With
# GATES_SIGNING_KEY set the verdict is signed, and the release job releases the signed one.
_VERDICT_SCRIPT = """\
rm -rf {verdict}
code=0
gates merge {parts}/*/verdict.json -o {verdict}/verdict.json {formats} || code=$?
if [ -f {verdict}/report.md ]; then cat {verdict}/report.md; fi
if [ -n "${{GATES_SIGNING_KEY:-}}" ] && [ -f {verdict}/verdict.json ]; then
  gates sign {verdict}/verdict.json -o {verdict}/verdict.dsse.json
fi
exit "$code"
"""

# A fresh runner has no git identity; the tag and note are pushed when a push URL or token is
# configured (the remote's notes are fetched first, so the note adds to them).
_RELEASE_SCRIPT = """\
if ! git var GIT_COMMITTER_IDENT >/dev/null 2>&1; then
  git config user.name "gates release"
  git config user.email "gates-release@${{CI_SERVER_HOST:-localhost}}"
fi
push="$GATES_PUSH_URL"
if [ -z "$push" ] && [ -n "${{GATES_PUSH_TOKEN:-}}" ]; then
  push="${{CI_SERVER_PROTOCOL}}://gates:${{GATES_PUSH_TOKEN}}@${{CI_SERVER_HOST}}:${{CI_SERVER_PORT}}/${{CI_PROJECT_PATH}}.git"
fi
if [ -n "$push" ]; then git fetch -q "$push" "+refs/notes/gates:refs/notes/gates" 2>/dev/null || true; fi
verdict={verdict}/verdict.json
if [ -f {verdict}/verdict.dsse.json ]; then verdict={verdict}/verdict.dsse.json; fi
set -- "$verdict"{policy} --tag "$GATES_RELEASE_TAG"
if [ -n "$GATES_PUBLISH_COMMAND" ]; then set -- "$@" --publish -- sh -c "$GATES_PUBLISH_COMMAND"; fi
gates release "$@"
if [ -n "$push" ]; then
  git push -q "$push" "refs/tags/$GATES_RELEASE_TAG" refs/notes/gates
else
  echo "gates: neither GATES_PUSH_URL nor GATES_PUSH_TOKEN is set: tag and note are not pushed"
fi
"""


def _gate_job(script: str, out: str, **extra: Any) -> dict[str, Any]:
    # A failing gate (exit 1) shows as a warning and lets the verdict job decide; an error
    # (exit 2 or 3) stops the pipeline.
    return {
        "stage": "gate",
        **extra,
        "script": [f'rm -rf "{out}"', _FETCH_RELEASES, script],
        "allow_failure": {"exit_codes": [1]},
        "artifacts": {"when": "always", "paths": [f"{out}/"]},
    }


def child_pipeline(
    gates: Sequence[str] | None, entries: Sequence[dict[str, str]], policy_arg: str, path: str
) -> str:
    """The pipeline for one job per gate in `gates`, or (when None) one matrix job over `entries`
    (each {"id", "project", "gate"}: a monorepo's (project, gate) or grouped work)."""
    policy = f" --policy {shlex.quote(policy_arg)}" if policy_arg else ""
    target = shlex.quote(path)
    jobs: dict[str, Any] = {
        "stages": ["gate", "verdict", "release"],
        "variables": {**VARIABLES, "GIT_DEPTH": "0"},
        "default": {"image": "$GATES_IMAGE", "before_script": [_INSTALL]},
    }
    for name in gates or ():
        out = f"{PARTS_DIR}/{name}"
        run = f"gates run {target}{policy} --only {name} --out {out} --format json {_SINCE}"
        jobs[f"gates:{name}"] = _gate_job(run, out)
    if gates is None:
        out = f"{PARTS_DIR}/$GATES_ID"
        run = (
            f'gates run {target}{policy} --project "$GATES_PROJECT" --only "$GATES_GATE" '
            f'--out "{out}" --format json {_SINCE}'
        )
        matrix = [{f"GATES_{k.upper()}": v for k, v in entry.items()} for entry in entries]
        jobs["gates:run"] = _gate_job(run, out, parallel={"matrix": matrix})
    formats = " ".join(f"--format {f}" for f in _MERGE_FORMATS)
    reports: dict[str, str | list[str]] = {k: f"{VERDICT_DIR}/{v}" for k, v in _REPORTS.items()}
    reports["cyclonedx"] = [f"{PARTS_DIR}/*/sbom.cdx.json"]
    jobs["gates:verdict"] = {
        "stage": "verdict",
        "script": [_VERDICT_SCRIPT.format(verdict=VERDICT_DIR, parts=PARTS_DIR, formats=formats)],
        "artifacts": {"when": "always", "paths": [f"{VERDICT_DIR}/"], "reports": reports},
    }
    jobs["gates:release"] = {
        "stage": "release",
        "rules": [{"if": "$GATES_RELEASE_TAG"}],
        "script": [_RELEASE_SCRIPT.format(verdict=VERDICT_DIR, policy=policy)],
    }
    header = "# Generated by `gates plan --format gitlab`: the jobs that run what the policy enables.\n"
    return header + yaml.dump(jobs, Dumper=_LiteralDumper, sort_keys=False, width=200)


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line scripts as `|` blocks, as a person would write them; no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str)
