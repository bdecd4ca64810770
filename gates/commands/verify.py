"""`gates verify VERDICT`: may this verdict release this commit? Exit 0 yes, 1 no (one line why)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from gates.commands.options import policy_option
from gates.engine.pipeline import now
from gates.plugins.registry import load_registry
from gates.policy.loader import load_policy
from gates.policy.model import PolicyContext
from gates.release import envelope as dsse
from gates.release.check import Checked, KeyOptions, check, inside, read_verdict_file, repo_state, summary
from gates.util.git import current_branch

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class VerifyOptions:
    verdict_file: Path
    repo: Path
    policy_file: Path | None
    branch: str | None
    environment: str | None
    keys: KeyOptions
    commit: str | None = None


def verification_options(command: F) -> F:
    """The options `gates verify` and `gates release` share."""
    options = [
        click.argument("verdict_file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option(
            "--repo",
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            default=Path("."),
            show_default=True,
            help="The git repository the verdict must be for.",
        ),
        policy_option("REPO"),
        click.option("--branch", help="Branch for policy overrides [default: from CI or git]."),
        click.option(
            "--env", "environment", help="Environment for policy overrides [default: the verdict's]."
        ),
        click.option(
            "--key-env",
            metavar="VAR",
            help=f"Variable holding the key [default: policy, else {dsse.DEFAULT_KEY_ENV}].",
        ),
        click.option(
            "--key-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="File holding the key (PEM or secret).",
        ),
        click.option(
            "--alg",
            type=click.Choice(dsse.ALGORITHMS),
            help="Signature algorithm [default: policy, else from the key].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def verify_verdict(options: VerifyOptions) -> Checked:
    """Every release rule applied to the verdict file; InputError when a file is corrupt."""
    root = options.repo.resolve()
    given = read_verdict_file(options.verdict_file)
    context = PolicyContext(
        branch=options.branch or current_branch(root),
        # The release says which environment it is for: a verdict's own word would let whoever
        # writes it choose an environment whose overrides are lenient.
        environment=options.environment,
    )
    policy = load_policy(options.policy_file, load_registry(), context, root=root)
    # The verdict file itself, kept untracked inside the repository, is not a change to the release.
    state = repo_state(root, options.commit, exclude=inside(root, options.verdict_file))
    return check(given, policy, state, options.keys, now())


def report_refusal(checked: Checked, what: str) -> None:
    click.echo(f"gates: {what}: {checked.reasons[0]}", err=True)
    for reason in checked.reasons[1:]:
        click.echo(f"  also: {reason}", err=True)


@click.command()
@verification_options
@click.option("--commit", metavar="SHA", help="The commit the verdict must be for [default: HEAD].")
def verify(
    verdict_file: Path,
    repo: Path,
    policy_file: Path | None,
    branch: str | None,
    environment: str | None,
    key_env: str | None,
    key_file: Path | None,
    alg: str | None,
    commit: str | None,
) -> int:
    """Check that VERDICT (verdict.json or a signed DSSE envelope) may release the commit.

    \b
    Exit codes:
      0  accepted
      1  refused: one line says why (failed, stale, tampered, unsigned, other commit...)
      2  invalid input: corrupt verdict or envelope, bad key, unknown commit"""
    options = VerifyOptions(
        verdict_file, repo, policy_file, branch, environment, KeyOptions(alg, key_env, key_file), commit
    )
    checked = verify_verdict(options)
    if not checked.accepted:
        report_refusal(checked, "verdict refused")
        return 1
    click.echo(summary(checked), nl=False)
    click.echo("accepted: this verdict may release this commit")
    return 0
