"""`gates waivers list|check`: the waiver ledger, so that waivers are reviewed instead of rotting.

From a policy alone the status is what the calendar says (active, expiring, expired, too_long);
from a verdict (`--verdict .gates/verdict.json`) it is the ledger of that run, with how many
findings each waiver matched and `unused` for those that matched none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from gates import verdict as verdicts
from gates.commands.options import policy_option
from gates.engine.pipeline import now
from gates.governance import LedgerEntry, waiver_date_status
from gates.plugins.registry import load_registry
from gates.policy.loader import load_policy
from gates.policy.model import Governance, PolicyContext
from gates.util.git import current_branch

_COLUMNS = ("status", "gate", "rule", "path", "expires", "owner", "matched", "source")


def _ledger(
    policy_file: Path | None, verdict_file: Path | None, branch: str | None, environment: str | None
) -> tuple[list[LedgerEntry], Governance]:
    if verdict_file is not None:
        verdict = verdicts.load(verdict_file)
        return list(verdict.waivers), verdict.policy.governance or Governance()
    root = Path.cwd()
    context = PolicyContext(branch=branch or current_branch(root), environment=environment)
    policy = load_policy(policy_file, load_registry(), context, root=root)
    today = now().date()
    ledger = [LedgerEntry(w, waiver_date_status(w, policy.governance, today), None) for w in policy.waivers]
    return ledger, policy.governance


def problems(ledger: Sequence[LedgerEntry], governance: Governance) -> list[LedgerEntry]:
    """The entries `check` fails on: expired, too long, and unused unless the policy ignores them."""
    bad = {"expired", "too_long", *(("unused",) if governance.unused_waivers != "ignore" else ())}
    return [entry for entry in ledger if entry.status in bad]


def _table(ledger: Sequence[LedgerEntry]) -> list[str]:
    documents = [entry.to_json() for entry in ledger]  # the columns as the ledger records them
    rows = [[str(d.get(c) if d.get(c) is not None else "-") for c in _COLUMNS] for d in documents]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [[c.upper() for c in _COLUMNS], *rows]
    ]


_OPTIONS = [
    policy_option("."),
    click.option(
        "--verdict",
        "verdict_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the ledger of this verdict (with matched counts) instead.",
    ),
    click.option("--branch", help="Branch for policy overrides [default: from CI or git]."),
    click.option("--env", "environment", help="Environment for policy overrides."),
]


def _with_options(f: Any) -> Any:
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


@click.group()
def waivers() -> None:
    """The waiver ledger: every waiver with its owner, expiry and status."""


@waivers.command(name="list")
@_with_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_waivers(
    policy_file: Path | None,
    verdict_file: Path | None,
    branch: str | None,
    environment: str | None,
    as_json: bool,
) -> int:
    """Print the ledger."""
    ledger, _ = _ledger(policy_file, verdict_file, branch, environment)
    if as_json:
        click.echo(json.dumps([entry.to_json() for entry in ledger], indent=2, sort_keys=True))
    elif ledger:
        for line in _table(ledger):
            click.echo(line)
    else:
        click.echo("no waivers")
    return 0


@waivers.command()
@_with_options
def check(
    policy_file: Path | None, verdict_file: Path | None, branch: str | None, environment: str | None
) -> int:
    """Exit 1 when a waiver is expired, reaches too far ahead, or (from a verdict) matched nothing."""
    ledger, governance = _ledger(policy_file, verdict_file, branch, environment)
    bad = problems(ledger, governance)
    for entry in bad:
        w = entry.waiver
        click.echo(
            f"{entry.status}: {w.gate} {w.rule} (owner {w.owner}, "
            f"expires {w.expires.isoformat()}, {w.source or 'no source'})"
        )
    expiring = sum(1 for e in ledger if e.status == "expiring")
    click.echo(
        f"{len(ledger)} waiver(s): {len(bad)} to fix, {expiring} expiring within "
        f"{governance.expiring_within_days} days"
    )
    return 1 if bad else 0
