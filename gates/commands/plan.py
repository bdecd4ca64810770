"""`gates plan`: the gates a policy enables, as a CI job matrix.

A pipeline scales past one machine by giving each gate its own job on the CI system's runners:
`gates plan` lists the enabled gates, each job runs `gates run --only NAME --out parts/NAME`, and a
final job runs `gates merge parts/*/verdict.json` and decides.

Formats:
  json    {"include": [{"gate": "sast"}, ...]} on one line, for a GitHub Actions matrix:
          `strategy: {matrix: "${{ fromJSON(needs.plan.outputs.matrix) }}"}`
  azure   {"sast": {"GATE": "sast"}, ...} for an Azure Pipelines runtime matrix:
          `strategy: {matrix: "$[ dependencies.plan.outputs['plan.matrix'] ]"}`
  list    one gate name per line, for shell loops
  gitlab  a complete child pipeline (stages gate, verdict, release) for a GitLab trigger job:
          `trigger: {include: [{artifact: gates-child.yml, job: gates:plan}], strategy: depend}`
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click

from gates.commands import gitlab_child
from gates.commands.options import policy_option
from gates.engine.pipeline import ROOT_SCOPE
from gates.plugins.registry import load_registry
from gates.policy.loader import load_policy
from gates.policy.model import Policy, PolicyContext
from gates.util.git import current_branch

# Matrix limits: GitHub Actions runs at most 256 jobs per matrix, GitLab at most 200 per
# `parallel: matrix`; Azure Pipelines gets GitHub's figure.
MAX_JOBS = {"json": 256, "azure": 256, "gitlab": 200}
T = TypeVar("T")


@dataclass(frozen=True)
class Job:
    """One CI job: `gates run --project P,... --only G,...`; an empty tuple means every one."""

    projects: tuple[str, ...]
    gates: tuple[str, ...]

    def entry(self, index: int) -> dict[str, str]:
        values = {"id": f"{index:03d}", "project": ",".join(self.projects), "gate": ",".join(self.gates)}
        return {k: v for k, v in values.items() if v}


def _groups(items: Sequence[T], count: int) -> list[list[T]]:
    """`items` in `count` contiguous groups whose sizes differ by at most one."""
    count = min(count, len(items))
    if count == 0:
        return []
    size, extra = divmod(len(items), count)
    bounds = [i * size + min(i, extra) for i in range(count + 1)]
    return [list(items[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def plan_jobs(policy: Policy, split: str, max_jobs: int | None) -> list[Job]:
    """The jobs that together run every (project, gate) the policy enables exactly once, at most
    `max_jobs` of them: beyond the limit a job runs several gates, or several whole projects."""
    top = policy.top_level()
    scopes = {ROOT_SCOPE: top.enabled(), **{p.name: top.scoped(p.name).enabled() for p in top.projects}}
    scopes = {name: gates for name, gates in scopes.items() if gates}
    limit = max_jobs or sys.maxsize
    if split == "gate":
        return [Job((), tuple(g)) for g in _groups(policy.enabled_anywhere(), limit)]
    if split == "project" or len(scopes) > limit:
        return [Job(tuple(p), ()) for p in _groups(list(scopes), limit)]
    if sum(len(gates) for gates in scopes.values()) <= limit:
        return [Job((name,), (gate,)) for name, gates in scopes.items() for gate in gates]
    per_scope = limit // len(scopes)
    return [Job((name,), tuple(g)) for name, gates in scopes.items() for g in _groups(gates, per_scope)]


def _one_gate_each(jobs: Sequence[Job]) -> list[str] | None:
    """The gate names, when the plan is the classic one job per gate of a policy without projects."""
    if any(job.projects or len(job.gates) != 1 for job in jobs):
        return None
    return [job.gates[0] for job in jobs]


def github_matrix(jobs: Sequence[Job]) -> str:
    gates = _one_gate_each(jobs)
    include = (
        [{"gate": g} for g in gates] if gates is not None else [j.entry(i) for i, j in enumerate(jobs, 1)]
    )
    return json.dumps({"include": include}, separators=(",", ":"))


def azure_matrix(jobs: Sequence[Job]) -> str:
    gates = _one_gate_each(jobs)
    if gates is not None:
        return json.dumps({name: {"GATE": name} for name in gates}, separators=(",", ":"))
    entries = [j.entry(i) for i, j in enumerate(jobs, 1)]
    return json.dumps(
        {e["id"]: {k.upper(): e.get(k, "") for k in ("id", "project", "gate")} for e in entries},
        separators=(",", ":"),
    )


def text_list(jobs: Sequence[Job]) -> str:
    """One gate per line, or `ID<TAB>PROJECTS<TAB>GATES` (empty: every one) per job."""
    gates = _one_gate_each(jobs)
    if gates is not None:
        return "".join(f"{g}\n" for g in gates)
    return "".join(f"{i:03d}\t{','.join(j.projects)}\t{','.join(j.gates)}\n" for i, j in enumerate(jobs, 1))


def gitlab_child_pipeline(plan: Sequence[Job], policy_arg: str, path: str) -> str:
    gates = _one_gate_each(plan)
    entries = [] if gates is not None else [job.entry(i) for i, job in enumerate(plan, 1)]
    return gitlab_child.child_pipeline(gates, entries, policy_arg, path)


@click.command(name="plan")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@policy_option("PATH")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "azure", "list", "gitlab"]),
    default="json",
    show_default=True,
)
@click.option(
    "--split",
    type=click.Choice(["auto", "gate", "project", "both"]),
    default="auto",
    show_default=True,
    help="One job per gate, per monorepo project, or per (project, gate); auto: both when the "
    "policy has paths: sections, else gate.",
)
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    help="Group work into at most this many jobs [default: 256 for json and azure, 200 for gitlab].",
)
@click.option("--branch", help="Branch for policy overrides [default: from CI or git].")
@click.option("--env", "environment", help="Environment for policy overrides.")
def plan(
    path: Path,
    policy_file: Path | None,
    fmt: str,
    split: str,
    max_jobs: int | None,
    branch: str | None,
    environment: str | None,
) -> int:
    """Print the work the policy asks for as a CI job matrix (one job per gate, project or both)."""
    root = path.resolve()
    context = PolicyContext(branch=branch or current_branch(root), environment=environment)
    policy = load_policy(policy_file, load_registry(), context, root=root)
    if split == "auto":
        split = "both" if policy.projects else "gate"
    jobs = plan_jobs(policy, split, max_jobs or MAX_JOBS.get(fmt))
    if fmt == "json":
        click.echo(github_matrix(jobs))
    elif fmt == "azure":
        click.echo(azure_matrix(jobs))
    elif fmt == "list":
        click.echo(text_list(jobs), nl=False)
    else:
        click.echo(gitlab_child_pipeline(jobs, str(policy_file or ""), str(path)), nl=False)
    return 0
