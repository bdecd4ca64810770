"""Markdown: the decision and a table per gate, for a CI job summary or a merge-request comment.

Finding text comes from scanned code, so every piece of it goes through `gates.util.markdown`,
which writes it to read as exactly that text in CommonMark and GitHub's renderer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from gates.model import Finding, Severity, Status
from gates.report import delta
from gates.sbom.changes import SbomDiff
from gates.util.markdown import cell, code, item
from gates.verdict import Verdict

_ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "🛑", "skipped": "⏭️"}
_SEVERITIES_DESC = tuple(reversed(Severity))
MAX_LISTED_FINDINGS = 50
MAX_FAILING_LISTED = 200
"""Findings of failing gates listed even past MAX_LISTED_FINDINGS (a merge-request comment holds
at most 65,536 characters)."""


_CHANGES = {"upgrade": "⬆️ upgrade", "downgrade": "⬇️ downgrade", "other": "↔️ other", "licence": "licence"}


def _licence(text: str | None, categories: tuple[str, ...]) -> str:
    return f"{text or 'none'} ({', '.join(categories)})" if categories else (text or "none")


def diff_lines(diff: SbomDiff, heading: str) -> list[str]:
    """Lines of Markdown: a table for each of added, removed and changed that is not empty."""
    if diff.empty:
        return ["No component was added, removed or changed."]
    lines = [delta.counts(diff) + "."]
    for title, listed in (("Added", diff.added), ("Removed", diff.removed)):
        if listed:
            lines += ["", f"{heading} {title} ({len(listed)})", "", "| Component | Version | Licence |"]
            lines.append("|---|---|---|")
            lines += [
                f"| {cell(c.name)} | {cell(c.version or '')} | {cell(_licence(c.licences, c.categories))} |"
                for c in listed
            ]
    if diff.changed:
        lines += ["", f"{heading} Changed ({len(diff.changed)})", ""]
        lines += ["| Component | From | To | Change | Licence |", "|---|---|---|---|---|"]
        for c in diff.changed:
            licence = (
                f"{_licence(c.licences_from, c.categories_from)} → {_licence(c.licences_to, c.categories_to)}"
                if c.licence_changed
                else ""
            )
            lines.append(
                f"| {cell(c.name)} | {cell(c.from_version)} | {cell(c.to_version)} | "
                f"{_CHANGES[c.change]} | {cell(licence)} |"
            )
    return lines


def delta_section(verdict: Verdict) -> list[str]:
    """The Markdown report's opening section; none without a delta."""
    view = delta.DeltaView.of(verdict)
    if view is None:
        return []
    if view.since is None:
        reason = cell(view.reason)
        return ["### What changed since the last release", "", f"- Nothing to compare with: {reason}", ""]
    lines = [
        f"### What changed since {cell(view.since)}",
        "",
        f"- Compared with {cell(view.baseline)}",
        f"- Vulnerabilities: {cell(view.vulnerabilities)}",
    ]
    if view.components is None:
        return [*lines, f"- Components: unknown ({cell(view.reason)})", ""]
    return [
        *lines,
        f"- Components: {delta.counts(view.components)}",
        "",
        *diff_lines(view.components, "####"),
        "",
    ]


def _row(label: str, finding: Finding) -> str:
    cells = (label, finding.rule, finding.location.where, finding.message)
    return f"| {finding.severity} | " + " | ".join(cell(c) for c in cells) + " |"


def _by_severity(findings: Sequence[Finding]) -> str:
    counted = Counter(f.severity for f in findings)
    return ", ".join(f"{counted[s]} {s.value}" for s in _SEVERITIES_DESC if counted[s])


def _findings_lines(verdict: Verdict) -> list[str]:
    """What decides the release first: the counted findings by severity, then every finding that
    counts in a failing gate (most severe first, at most MAX_FAILING_LISTED), then the other
    counted findings up to MAX_LISTED_FINDINGS rows in all; verdict.json has every one."""
    placed = sorted(
        ((g, j.finding) for g in verdict.gates for j in g.findings if j.counted),
        key=lambda p: (p[0].status is not Status.FAIL, p[1].sort_key(), p[0].label),
    )
    if not placed:
        return []
    failing = [(g.label, f) for g, f in placed if g.status is Status.FAIL]
    others = [(g.label, f) for g, f in placed if g.status is not Status.FAIL]
    counted = [f for _, f in placed]
    out = ["", f"### Findings that count ({len(counted)}: {_by_severity(counted)})"]
    table = ["", "| Severity | Gate | Rule | Location | Message |", "|---|---|---|---|---|"]
    shown_failing = failing[:MAX_FAILING_LISTED]
    if failing:
        out += ["", f"#### Failing the release ({len(failing)}: {_by_severity([f for _, f in failing])})"]
        out += table + [_row(label, f) for label, f in shown_failing]
    shown_others = others[: max(0, MAX_LISTED_FINDINGS - len(shown_failing))]
    if shown_others:
        out += ["", f"#### Other findings that count ({len(others)})"] if failing else []
        out += table + [_row(label, f) for label, f in shown_others]
    hidden = len(counted) - len(shown_failing) - len(shown_others)
    if hidden:
        out.append(f"\n… and {hidden} more in verdict.json.")
    return out


def render(verdict: Verdict) -> str:
    subject, policy = verdict.subject, verdict.policy
    status = verdict.status.value
    out = [
        f"## {_ICONS[status]} gates verdict: **{status.upper()}**",
        "",
        f"- Subject: {code(subject.path)}"
        + (f" at {code(subject.commit[:12])}" if subject.commit else "")
        + (f" on {code(subject.branch)}" if subject.branch else "")
        + (f", tag {code(subject.tag)}" if subject.tag else ""),
        f"- Policy: {code(policy.name)} ({cell(policy.digest[:19])}…)"
        + (f", overrides: {cell(', '.join(policy.applied_overrides))}" if policy.applied_overrides else ""),
        f"- Ran {verdict.started} for {verdict.duration_s:.1f}s",
        "",
        *delta_section(verdict),
        "| Gate | Status | Counted | "
        + " | ".join(s.value.capitalize() for s in _SEVERITIES_DESC)
        + " | New | Existing | Waived | Time | Reason |",
        "|---|---|---:|" + "---:|" * len(_SEVERITIES_DESC) + "---:|---:|---:|---:|---|",
    ]
    for gate in verdict.gates:
        counts = gate.counts
        out.append(
            f"| {cell(gate.label)} | {_ICONS[gate.status.value]} {gate.status.value} | {counts.counted} | "
            + " | ".join(str(counts.by_severity[s]) for s in _SEVERITIES_DESC)
            + f" | {counts.new} | {counts.existing} | {counts.waived}"
            + f" | {gate.duration_s:.1f}s | {cell(gate.reason)} |"
        )
    out += _findings_lines(verdict)
    vex = [
        (g.label, j.finding, vouched)
        for g in verdict.gates
        for j in g.findings
        if (vouched := j.suppression) is not None
    ]
    if vex:
        out += [
            "",
            f"### Not affected, by VEX statement ({len(vex)})",
            "",
            "| Gate | Rule | Location | Statement | Reason |",
            "|---|---|---|---|---|",
        ]
        for label, finding, vouched in vex[:MAX_LISTED_FINDINGS]:
            out.append(
                f"| {cell(label)} | {cell(finding.rule)} | {cell(finding.location.where)} | "
                f"{cell(vouched.source)} | {cell(vouched.reason)} |"
            )
    governance = verdict.governance
    if governance is not None and governance.reasons:
        icon = _ICONS[governance.status.value]
        out += ["", f"### {icon} Waiver ledger ({governance.status.value})", ""]
        out += [f"- {item(reason)}" for reason in governance.reasons]
    return "\n".join(out) + "\n"
