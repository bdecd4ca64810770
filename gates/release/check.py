"""The rules a verdict must meet before a release: each rule that fails gives one reason.

A verdict is accepted only for the commit it was made for, on a clean work tree, under the policy
it was made under (same digest, same overrides), covering every gate that policy enables, with
status pass (or warn, when `release.allow_warn`), no waiver it relied on expired since, not older
than `release.max_age_hours`, and signed when `release.require_signature` (docs/release.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gates import verdict as verdicts
from gates.model import Status
from gates.policy.model import Policy
from gates.release import envelope as dsse
from gates.release import recompute
from gates.release.tag import git
from gates.util.git import is_dirty
from gates.util.jsonfile import parse_json
from gates.verdict import Verdict

# Ledger states of a waiver that was applied when the verdict was made.
_IN_FORCE = ("active", "expiring")
# A verdict dated later than this ahead of our clock was not made by a run that has happened.
_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class VerdictFile:
    """A verdict as given: a plain verdict.json or a DSSE envelope around one."""

    path: Path
    text: str
    document: Mapping[str, Any]
    """The verdict document as given: what its digest and a signed statement cover."""
    verdict: Verdict
    envelope: dsse.Envelope | None
    bound: bool = True
    """Whether the statement's subject names this verdict's commit, tree and digest."""

    @property
    def digest(self) -> str:
        return dsse.verdict_digest(self.document)


def read_verdict_file(path: Path) -> VerdictFile:
    """Either form; anything corrupt is an InputError (exit 2)."""
    data = verdicts.load_json(path)
    return _verdict_file(path, path.read_text(encoding="utf-8"), data)


def parse_verdict_text(text: str, source: Path) -> VerdictFile:
    """A verdict file's text from elsewhere (a git note); `source` names it in errors."""
    return _verdict_file(source, text, parse_json(text, str(source)))  # nesting bounded


def _verdict_file(path: Path, text: str, data: Any) -> VerdictFile:
    if dsse.is_envelope(data):
        envelope = dsse.parse_envelope(data, str(path))
        statement = envelope.statement(str(path))
        document = statement["predicate"]
        bound = statement.get("subject") == dsse.statement(document)["subject"]
        return VerdictFile(path, text, document, Verdict.from_json(document), envelope, bound)
    verdicts.validate(data, str(path))
    return VerdictFile(path, text, data, Verdict.from_json(data), None)


@dataclass(frozen=True)
class KeyOptions:
    """Where the verifying key comes from: the policy's pinned public key, which a key given by
    option or variable must match; else options first, then the policy's key_env, then
    GATES_SIGNING_KEY."""

    alg: str | None = None
    env: str | None = None
    file: Path | None = None

    @property
    def given(self) -> bool:
        return self.env is not None or self.file is not None

    def load(self, policy: Policy) -> dsse.Key:
        rules = policy.release
        return dsse.load_key(
            self.alg or rules.signing_alg,
            env=self.env or rules.key_env,
            file=self.file,
            pinned=rules.public_key,
        )


@dataclass(frozen=True)
class RepoState:
    root: Path
    commit: str
    """The commit the verdict must be for: HEAD, or the one given with --commit."""
    tree: str
    dirty: bool | None


def repo_state(root: Path, commit: str | None, exclude: tuple[str, ...] = ()) -> RepoState:
    spec = commit or "HEAD"
    resolved = git(root, "rev-parse", "--verify", "-q", f"{spec}^{{commit}}", what=f"commit {spec}")
    tree = git(root, "rev-parse", "--verify", "-q", f"{resolved}^{{tree}}", what="tree")
    return RepoState(root, resolved, tree, is_dirty(root, exclude, cached=False))


def inside(root: Path, path: Path) -> tuple[str, ...]:
    """`path` relative to root, when it lies in the work tree: the verdict file itself is no change."""
    try:
        return (path.resolve().relative_to(root.resolve()).as_posix(),)
    except ValueError:
        return ()


@dataclass(frozen=True)
class Checked:
    text: str
    """The verdict file as given (plain or envelope): what the git note stores."""
    verdict: Verdict
    digest: str
    signed_by: str | None
    reasons: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return not self.reasons


def _signature(given: VerdictFile, policy: Policy, keys: KeyOptions) -> tuple[str | None, list[str]]:
    if given.envelope is None:
        if policy.release.require_signature:
            return None, ["the verdict is not signed, and the policy requires it (release.require_signature)"]
        if keys.given:
            return None, ["a key was given, but the verdict is not signed"]
        return None, []
    try:
        signed_by = given.envelope.verify(keys.load(policy))
    except dsse.SignatureError as e:
        return None, [str(e)]
    if not given.bound:
        return signed_by, ["the signed statement's subject does not match its verdict (tampered)"]
    return signed_by, []


def _status(verdict: Verdict, policy: Policy) -> list[str]:
    status = verdict.status
    parts = [g.status for g in verdict.gates]
    if verdict.governance is not None:  # absent from verdicts written before gates recorded it
        parts.append(verdict.governance.status)
    derived = Status.combine(parts)
    if status is not derived:
        return [f"the verdict says {status}, but its gates make it {derived} (edited?)"]
    if status is Status.PASS or (status is Status.WARN and policy.release.allow_warn):
        return []
    if status is Status.WARN:
        return ["status is warn, and the policy does not allow warn releases (release.allow_warn)"]
    culprits = [f"{g.name} {g.status}" for g in verdict.gates if g.status in (Status.FAIL, Status.ERROR)]
    if verdict.governance is not None and verdict.governance.status is Status.FAIL:
        culprits.append(f"waivers: {'; '.join(verdict.governance.reasons)}")
    gates = ", ".join(culprits)
    return [f"status is {status} ({gates})" if gates else f"status is {status}"]


def _subject(verdict: Verdict, state: RepoState) -> list[str]:
    subject = verdict.subject
    if subject.commit is None:
        return ["the verdict was not made in a git repository (no commit recorded)"]
    if subject.commit != state.commit:
        return [f"the verdict is for commit {subject.commit[:12]}, not {state.commit[:12]}"]
    if subject.tree != state.tree:
        return [f"the verdict records tree {str(subject.tree)[:12]}, the commit has {state.tree[:12]}"]
    reasons = []
    if subject.scanned != ".":
        what = f"only {subject.scanned}/" if subject.scanned else "an unrecorded part"
        reasons.append(f"the verdict scanned {what} of the repository, not all of it")
    if subject.dirty is not False:
        reasons.append("the verdict was made on a work tree with uncommitted changes")
    if state.dirty is None:
        reasons.append(f"cannot read the state of the work tree at {state.root}")
    elif state.dirty:
        reasons.append("the work tree has uncommitted changes (git status)")
    return reasons


def _policy(verdict: Verdict, policy: Policy) -> list[str]:
    recorded = verdict.policy
    current = f"sha256:{policy.digest}"
    if recorded.digest != current:
        return [
            f"the policy changed since the verdict: it was made under {recorded.digest[:19]}, the policy "
            f"{policy.name!r} is now {current[:19]}"
        ]
    reasons = []
    if recorded.environment != policy.context.environment:
        reasons.append(
            f"the verdict was made for environment {recorded.environment!r}, this release is for "
            f"{policy.context.environment!r}: give the release's environment with --env"
        )
    if list(recorded.applied_overrides) != list(policy.applied_overrides):
        reasons.append(
            f"the verdict applied overrides {list(recorded.applied_overrides)} (branch {recorded.branch!r}), "
            f"this release applies {list(policy.applied_overrides)} (branch {policy.context.branch!r})"
        )
    # Every (project, gate) the policy enables: a verdict of one project, one gate or one chunk of a
    # CI matrix cannot release the whole repository.
    top = policy.top_level()
    expected: set[tuple[str | None, str]] = {(None, g) for g in top.enabled()}
    expected |= {(p.name, g) for p in top.projects for g in top.scoped(p.name).enabled()}
    covered = {(g.project, g.name) for g in verdict.gates}
    missing = sorted(f"{p}/{g}" if p else g for p, g in expected - covered)
    if missing:
        reasons.append(
            f"the verdict does not cover the gates {', '.join(missing)} (merge the parts with gates merge)"
        )
    return reasons


def _time(verdict: Verdict, policy: Policy, now: dt.datetime) -> list[str]:
    reasons = []
    for entry in verdict.waivers:
        waiver = entry.waiver
        if entry.status in _IN_FORCE and entry.matched and now.date() > waiver.expires:
            reasons.append(
                f"waiver for {waiver.gate} {waiver.rule} (owner {waiver.owner}) expired on "
                f"{waiver.expires.isoformat()}, after the verdict relied on it"
            )
    started = verdict.started_at
    age_hours = (now - started).total_seconds() / 3600
    if started - now > _CLOCK_SKEW:
        reasons.append(f"the verdict is dated {verdict.started}, in the future")
    limit = policy.release.max_age_hours
    if limit is not None and age_hours > limit:
        reasons.append(
            f"the verdict is {age_hours:.1f} hours old; the policy allows {limit:g} (release.max_age_hours)"
        )
    return reasons


def check(
    given: VerdictFile, policy: Policy, state: RepoState, keys: KeyOptions, now: dt.datetime
) -> Checked:
    """Every rule, in the order a user fixes them: authenticity first, then what the verdict says."""
    signed_by, reasons = _signature(given, policy, keys)
    verdict = given.verdict
    reasons += _status(verdict, policy)
    reasons += _subject(verdict, state)
    policy_reasons = _policy(verdict, policy)
    reasons += policy_reasons
    if not policy_reasons:  # under another policy the findings would judge otherwise anyway
        # A signature proves who made the verdict, not the baseline it was compared with: a note
        # anyone could push (unsigned, or with a signature no key here verified) proves no delta.
        proven = signed_by is not None and (verdict.delta is None or verdict.delta.signed_by is not None)
        reasons += recompute.differences(verdict, given.document, policy, signed=proven)
    reasons += _time(verdict, policy, now)
    return Checked(given.text, verdict, given.digest, signed_by, tuple(reasons))


def summary(checked: Checked) -> str:
    """The verdict in a few lines: the tag message and what `gates verify` prints."""
    verdict = checked.verdict
    subject, policy, counts = verdict.subject, verdict.policy, verdict.summary
    lines = [
        f"gates verdict: {verdict.status.value.upper()}",
        "",
        f"commit:   {subject.commit}",
        f"tree:     {subject.tree}",
        f"policy:   {policy.name} {policy.digest}",
        f"verdict:  {checked.digest}",
        f"signed:   {checked.signed_by or 'no'}",
        f"made:     {verdict.started} by {verdicts.TOOL_NAME} {verdict.tool_version}",
        f"findings: {counts.findings} total, {counts.counted} counted, {counts.waived} waived",
        "gates:",
    ]
    for gate in verdict.gates:
        c = gate.counts
        tools = ", ".join(f"{k} {v}" for k, v in sorted(gate.tool_versions.items()))
        lines.append(
            f"  {gate.name} {gate.version or '-'}: {gate.status}, {c.counted} counted, "
            f"{c.waived} waived" + (f" [{tools}]" if tools else "")
        )
    return "\n".join(lines) + "\n"
