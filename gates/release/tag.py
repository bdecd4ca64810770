"""Tagging, noting and publishing a verified release, all or nothing.

Order: annotated tag, then the verdict as a note on the commit (`refs/notes/gates`), then the
publish command. A step that fails undoes the ones before it (the tag is deleted, the note put
back as it was), so a failed publish leaves no tag that claims a release happened. What the
publish command itself did elsewhere (a push, an upload) cannot be undone here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gates.errors import GatesError, InputError
from gates.util.safe_path import given_environment

NOTES_REF = "gates"


class ReleaseError(GatesError):
    """A release step failed after verification; what it had created is undone (exit 1)."""


def _run(root: Path, args: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False
        )
    except OSError as e:
        raise InputError(f"git: cannot run: {e.strerror or e}") from e


def git(root: Path, *args: str, what: str) -> str:
    """Output of a git command that must succeed; an InputError naming `what` otherwise."""
    done = _run(root, args)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or ["not found"]
        raise InputError(f"{root}: {what}: {detail[0]}")
    return done.stdout.strip()


def _step(root: Path, args: Sequence[str], stdin: str | None = None) -> None:
    done = _run(root, args, stdin)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise ReleaseError(f"git {args[0]} {args[1]}: {tail[0]}")


def tag_problem(root: Path, tag: str) -> str | None:
    """Why `tag` cannot be created (it exists), or None. A malformed name is an InputError."""
    if _run(root, ["check-ref-format", f"refs/tags/{tag}"]).returncode != 0:
        raise InputError(f"--tag {tag!r}: not a valid git tag name")
    if _run(root, ["rev-parse", "-q", "--verify", f"refs/tags/{tag}"]).returncode == 0:
        return f"tag {tag} already exists"
    return None


@dataclass(frozen=True)
class Plan:
    root: Path
    tag: str
    commit: str
    message: str
    note: str
    publish: tuple[str, ...]
    environment: Mapping[str, str]
    """Extra variables the publish command gets (GATES_RELEASE_TAG, ...)."""

    def describe(self) -> list[str]:
        lines = [
            f"would create annotated tag {self.tag} on {self.commit}",
            f"would add the verdict as a note on {self.commit[:12]} (refs/notes/{NOTES_REF})",
        ]
        if self.publish:
            lines.append(f"would run: {' '.join(self.publish)}")
        return lines


def _previous_note(plan: Plan) -> str | None:
    done = _run(plan.root, ["notes", f"--ref={NOTES_REF}", "show", plan.commit])
    return done.stdout if done.returncode == 0 else None


def _undo(plan: Plan, previous_note: str | None, noted: bool) -> None:
    """Best effort: a failure here must not hide the error that caused it."""
    _run(plan.root, ["tag", "-d", plan.tag])
    if not noted:
        return
    if previous_note is None:
        _run(plan.root, ["notes", f"--ref={NOTES_REF}", "remove", plan.commit])
    else:
        _run(plan.root, ["notes", f"--ref={NOTES_REF}", "add", "-f", "-F", "-", plan.commit], previous_note)


def execute(plan: Plan) -> None:
    """Tag, note, publish; ReleaseError (with everything undone) when a step fails."""
    previous_note = _previous_note(plan)
    _step(plan.root, ["tag", "-a", plan.tag, "--cleanup=verbatim", "-F", "-", plan.commit], plan.message)
    try:
        _step(plan.root, ["notes", f"--ref={NOTES_REF}", "add", "-f", "-F", "-", plan.commit], plan.note)
    except ReleaseError as e:
        _undo(plan, previous_note, noted=False)
        raise ReleaseError(f"{e}; tag {plan.tag} removed") from e
    if not plan.publish:
        return
    try:
        code = subprocess.run(
            list(plan.publish), cwd=plan.root, env={**given_environment(), **plan.environment}
        ).returncode
    except OSError as e:
        _undo(plan, previous_note, noted=True)
        raise ReleaseError(
            f"publish command {plan.publish[0]!r}: {e.strerror or e}; tag and note removed"
        ) from e
    if code != 0:
        _undo(plan, previous_note, noted=True)
        raise ReleaseError(f"publish command exited {code}; tag {plan.tag} and the note removed")
