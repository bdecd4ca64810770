"""`gates run --since REF`: the verdict a previous release was made with, as the run's baseline.

REF is a git revision, usually the release tag: its verdict is the note `gates release` stored on
the tag's commit (`refs/notes/gates`). `auto` is the nearest annotated tag before HEAD that carries
a note, what the CI templates pass. None is a first release: no delta, and the verdict says so. A
history that cannot tell (a shallow clone, not a git repository) makes the delta unknown, which the
gates judge as unknown rather than as "nothing changed". A REF ending in `.json` is a verdict file.

The baseline decides what counts as already shipped, so it must be the release's own: a note
copied onto another commit is refused, so is a verdict no release could have been made with
(failing, dirty, of a subfolder), and when the policy requires signed verdicts
(`release.require_signature`) the note must carry a signature that verifies.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from gates.errors import InputError
from gates.model import Status
from gates.policy.model import Policy
from gates.release import envelope as dsse
from gates.release.check import KeyOptions, VerdictFile, parse_verdict_text, read_verdict_file
from gates.release.tag import NOTES_REF, git
from gates.sbom.delta import NoRelease, Since, recorded_inventories
from gates.util.git import git_output
from gates.util.mask import redact_credentials_in
from gates.verdict import MAX_VERDICT_BYTES, baseline_fingerprints

AUTO = "auto"
_MAX_TAGS_WITHOUT_NOTE = 100
_FETCH_HINT = (
    "fetch tags and notes first: git fetch origin 'refs/tags/*:refs/tags/*' refs/notes/gates:refs/notes/gates"
)


def _signed_by(given: VerdictFile, policy: Policy, label: str) -> str | None:
    required = policy.release.require_signature
    if given.envelope is None:
        if required:
            raise InputError(f"{label}: the release verdict is not signed, and the policy requires it")
        return None
    try:
        signed_by = given.envelope.verify(KeyOptions().load(policy))
    except dsse.SignatureError as e:
        if required:
            raise InputError(f"{label}: the release verdict's signature does not verify: {e}") from e
        return None  # no key here to check it with: used as an unsigned verdict
    if not given.bound:
        raise InputError(f"{label}: the signed statement's subject does not match its verdict (tampered)")
    return signed_by


def _released(given: VerdictFile, label: str) -> None:
    """Refuse a noted verdict no release could have been made with: CI signs every verdict it
    makes, failing ones too, and anyone can note one on a tag they push. (A verdict file is the
    caller's choice, as a `--baseline` of known findings is.)"""
    verdict, why = given.verdict, None
    if verdict.status not in (Status.PASS, Status.WARN):
        why = f"its status is {verdict.status}"
    elif verdict.subject.dirty is not False:
        why = "it was made on a work tree with uncommitted changes"
    elif verdict.subject.scanned != ".":
        why = "it did not scan the whole repository"
    if why is not None:
        raise InputError(f"{label}: not a release's verdict ({why}): it cannot be the baseline")


def _since(label: str, commit: str | None, signed_by: str | None, given: VerdictFile) -> Since:
    verdict = given.verdict
    return Since(
        label,
        commit,
        signed_by,
        verdict.started,
        baseline_fingerprints(verdict),
        # Read back as a run's own stats are masked: the note may be older than masking, or forged.
        recorded_inventories((g.name, g.project, redact_credentials_in(g.stats)) for g in verdict.gates),
    )


def _noted(root: Path, commit: str) -> str | None:
    """The note on `commit`, if any: anyone can push one, so its size is checked before it is read
    and bytes that are no UTF-8 are an input error."""
    blob = git_output(root, "notes", f"--ref={NOTES_REF}", "list", commit)
    if not blob:
        return None
    label = f"the note on {commit[:12]} (refs/notes/{NOTES_REF})"
    size = git_output(root, "cat-file", "-s", blob)
    if size is None or not size.isdigit() or int(size) > MAX_VERDICT_BYTES:
        raise InputError(f"{label}: {size} bytes, over the limit of {MAX_VERDICT_BYTES} for a verdict")
    try:
        read = subprocess.run(["git", "cat-file", "blob", blob], cwd=root, capture_output=True, check=True)
        return read.stdout.decode("utf-8")
    except (OSError, subprocess.CalledProcessError) as e:
        raise InputError(f"{label}: cannot read it: {e}") from e
    except UnicodeDecodeError as e:
        raise InputError(f"{label}: byte {e.start} is no UTF-8: not a verdict") from e


def _last_release(root: Path) -> str | NoRelease:
    """The nearest annotated tag reachable from HEAD, not on HEAD itself, whose commit has a note;
    or why there is none."""
    if git_output(root, "rev-parse", "--verify", "-q", "HEAD") is None:
        return NoRelease(f"--since {AUTO}: {root} is not a git repository with a commit", known=False)
    excluded = (git_output(root, "tag", "--points-at", "HEAD") or "").split()
    skipped = []
    for _ in range(_MAX_TAGS_WITHOUT_NOTE):
        tag = git_output(root, "describe", "--abbrev=0", *(f"--exclude={t}" for t in excluded), "HEAD")
        if tag is None:  # no annotated tag left
            break
        commit = git(root, "rev-parse", "--verify", "-q", f"{tag}^{{commit}}", what=f"tag {tag}")
        if _noted(root, commit) is not None:
            return tag
        excluded.append(tag)
        skipped.append(tag)
    else:
        return NoRelease(
            f"--since {AUTO}: none of the {_MAX_TAGS_WITHOUT_NOTE} nearest tags before HEAD carries a "
            f"gates verdict note; {_FETCH_HINT}",
            known=False,
        )
    if git_output(root, "rev-parse", "--is-shallow-repository") == "true":
        return NoRelease(
            f"--since {AUTO}: the clone is shallow, so the releases before HEAD cannot be seen; clone "
            f"the whole history (fetch-depth: 0, GIT_DEPTH: 0) and {_FETCH_HINT}",
            known=False,
        )
    without = ""
    if skipped:
        without = f" ({len(skipped)} tag(s) without one: {', '.join(skipped[:3])}; {_FETCH_HINT})"
    return NoRelease(
        f"no earlier release: no annotated tag before HEAD carries a gates verdict note{without}",
        known=True,
    )


def load_since(root: Path, ref: str, policy: Policy) -> Since | NoRelease:
    """The baseline REF names; for `auto`, why there is none when no release can be found."""
    if ref.endswith(".json"):
        given = read_verdict_file(Path(ref))
        return _since(ref, given.verdict.subject.commit, _signed_by(given, policy, ref), given)
    if ref == AUTO:
        found = _last_release(root)
        if isinstance(found, NoRelease):
            return found
        ref = found
    commit = git(root, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", what=f"--since {ref}")
    text = _noted(root, commit)
    if text is None:
        raise InputError(
            f"--since {ref}: commit {commit[:12]} has no gates verdict note (refs/notes/{NOTES_REF}); "
            f"was it released with `gates release`? In CI, {_FETCH_HINT}"
        )
    label = f"{ref} (refs/notes/{NOTES_REF})"
    given = parse_verdict_text(text, Path(label))
    if given.verdict.subject.commit != commit:
        raise InputError(
            f"{label}: the noted verdict is for commit {str(given.verdict.subject.commit)[:12]}, "
            f"not {commit[:12]}: it is not this release's verdict"
        )
    _released(given, label)
    return _since(ref, commit, _signed_by(given, policy, label), given)
