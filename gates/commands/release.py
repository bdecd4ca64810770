"""`gates release VERDICT --tag vX.Y.Z [--publish -- CMD...]`: verify, tag, note, publish.

Nothing is created unless the verdict is accepted and the tag is free; a failed step undoes the
earlier ones (gates/release/tag.py). Exit 0 released, 1 refused or failed (one line why), 2 bad input.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from gates.commands.verify import VerifyOptions, report_refusal, verification_options, verify_verdict
from gates.errors import InputError
from gates.release.check import KeyOptions, summary
from gates.release.tag import NOTES_REF, Plan, ReleaseError, execute, tag_problem


@click.command(context_settings={"ignore_unknown_options": True})
@verification_options
@click.option(
    "--tag", "tag_name", required=True, metavar="vX.Y.Z", help="The annotated tag to create on HEAD."
)
@click.option("--publish", is_flag=True, help="Run the command after `--` once the tag and note exist.")
@click.option("--dry-run", is_flag=True, help="Verify and say what would be done; create nothing.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def release(
    verdict_file: Path,
    repo: Path,
    policy_file: Path | None,
    branch: str | None,
    environment: str | None,
    key_env: str | None,
    key_file: Path | None,
    alg: str | None,
    tag_name: str,
    publish: bool,
    dry_run: bool,
    command: tuple[str, ...],
) -> int:
    """Release HEAD if VERDICT allows it: annotated tag, verdict note, then the publish command.

    \b
    The publish command gets GATES_RELEASE_TAG, GATES_RELEASE_COMMIT and GATES_VERDICT_DIGEST.
    If it fails, the tag and note are removed again and the exit code is 1."""
    if publish != bool(command):
        raise InputError("--publish needs a command after `--`, and a command needs --publish")
    options = VerifyOptions(
        verdict_file, repo, policy_file, branch, environment, KeyOptions(alg, key_env, key_file)
    )
    checked = verify_verdict(options)
    root = repo.resolve()
    taken = tag_problem(root, tag_name)
    if taken is not None:
        checked = dataclasses.replace(checked, reasons=(*checked.reasons, taken))
    if not checked.accepted:
        report_refusal(checked, "release refused")
        return 1
    commit = checked.verdict.subject.commit
    assert commit is not None  # an accepted verdict names its commit
    plan = Plan(
        root=root,
        tag=tag_name,
        commit=commit,
        message=f"Release {tag_name}\n\n{summary(checked)}",
        note=checked.text,
        publish=command,
        environment={
            "GATES_RELEASE_TAG": tag_name,
            "GATES_RELEASE_COMMIT": commit,
            "GATES_VERDICT_DIGEST": checked.digest,
        },
    )
    if dry_run:
        click.echo(f"verdict accepted ({checked.digest}); dry run, nothing created:")
        for line in plan.describe():
            click.echo(f"  {line}")
        return 0
    try:
        execute(plan)
    except ReleaseError as e:
        click.echo(f"gates: release failed: {e}", err=True)
        return 1
    click.echo(
        f"released {tag_name} on {commit[:12]}: tag, note refs/notes/{NOTES_REF}"
        + (", publish command succeeded" if command else "")
    )
    return 0
