"""`gates hook --only NAME FILES...`: the pre-commit entry point.

Runs the named gates on just the given files (pre-commit passes the staged ones), under the same
policy as CI, and prints one line per counted finding. Nothing is written to the repository: the
run uses a temporary output folder and no collect cache. The policy is checked as `gates run`
checks it, and what the check found valid is remembered, sealed, in the cache folder (see
gates/schemas), so that an unchanged policy is not validated with jsonschema on every commit.
Exit codes are those of `gates run`. A gate the policy does not enable is skipped, so one hook
list serves every policy.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from gates import verdict as verdicts
from gates.commands.options import policy_option
from gates.engine import pipeline
from gates.model import Status
from gates.plugins.registry import load_registry
from gates.policy.loader import load_policy
from gates.policy.model import PolicyContext
from gates.schemas import remembering_valid
from gates.util.git import current_branch
from gates.util.mask import visible
from gates.util.sealed import default_folder, open_sealed
from gates.verdict import Verdict


def _relative(root: Path, files: tuple[Path, ...]) -> tuple[str, ...]:
    """Repository-relative paths (pre-commit runs at the root; a person may run it elsewhere)."""
    rel = []
    for f in files:
        absolute = f.resolve() if f.is_absolute() else (Path.cwd() / f).resolve()
        try:
            rel.append(absolute.relative_to(root).as_posix())
        except ValueError:
            raise click.BadParameter(f"{f} is outside the repository {root}", param_hint="FILES") from None
    return tuple(rel)


def _problem_lines(verdict: Verdict) -> list[str]:
    lines = []
    for gate in verdict.gates:
        if gate.status is Status.ERROR:
            lines.append(f"{gate.name}: error: {gate.reason}")
        for j in gate.findings:
            if j.counted:
                f = j.finding
                lines.append(f"{f.location.where or '-'}: {gate.name} {f.rule} ({f.severity}): {f.message}")
        if gate.status in (Status.FAIL, Status.WARN):
            lines.append(f"{gate.name}: {gate.status.value.upper()}: {gate.reason}")
    return lines


@click.command(name="hook")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--only", multiple=True, required=True, metavar="NAME", help="Gate to run (repeatable).")
@policy_option(".")
@click.option("--branch", help="Branch for policy overrides [default: from CI or git].")
def hook(files: tuple[Path, ...], only: tuple[str, ...], policy_file: Path | None, branch: str | None) -> int:
    """Run gates on the given files only (for pre-commit); print findings, write nothing."""
    root = Path.cwd().resolve()
    registry = load_registry()
    context = PolicyContext(branch=branch or current_branch(root))
    with remembering_valid(open_sealed(default_folder(), root)):
        policy = load_policy(policy_file, registry, context, root=root)
    pipeline.check_installed(registry.bind(policy.instances()), sorted(only))
    enabled = [name for name in only if name in policy.enabled_anywhere()]
    if not files or not enabled:
        return 0
    with tempfile.TemporaryDirectory(prefix="gates-hook-") as out:
        request = pipeline.RunRequest(
            root=root,
            out_dir=Path(out),
            only=tuple(enabled),
            use_cache=False,
            only_paths=_relative(root, files),
        )
        verdict, _ = pipeline.run_projects(request, policy, registry).settled()
    for line in _problem_lines(verdict):
        click.echo(visible(line))
    return verdicts.exit_code(verdict)
