"""Markdown: the decision and a table per gate, for a CI job summary or a merge-request comment.

Finding text comes from scanned code (a file may be named `[click](http:evil.example).py`), so it
is written to read as exactly that text in CommonMark and GitHub's renderer: `<`, `>` and `&` as
entities (no HTML, no `<autolink>`), and every other character that can open inline markup (a link,
an image, emphasis, code, a table cell, strikethrough) or a block at the start of a list item
backslash-escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from gates.model import SEVERITIES
from gates.report import delta
from gates.sbom.changes import SbomDiff
from gates.verdict import gate_label

_ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "🛑", "skipped": "⏭️"}
MAX_LISTED_FINDINGS = 50
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]|~!#])")
_LIST_MARKER = re.compile(r"^([-+]|\d+[.)])")


def cell(text: object) -> str:
    """Text as one line of Markdown (a table cell) that reads as exactly that text."""
    return _INLINE_MARKUP.sub(r"\\\1", html.escape(" ".join(str(text).split()), quote=False)) or " "


def item(text: object) -> str:
    """Text as a list item's content: a cell that cannot open a nested list either."""
    return _LIST_MARKER.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], cell(text))


def code(text: object) -> str:
    """Text as a code span: nothing in it renders but a backtick, so the fence is one longer than
    the longest backtick run in the text."""
    flat = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall("`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _where(finding: Mapping[str, Any]) -> str:
    loc = finding["location"]
    where = loc["path"] or loc["logical"] or ""
    return f"{where}:{loc['line']}" if loc["line"] else where


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


def delta_section(verdict: Mapping[str, Any]) -> list[str]:
    """The Markdown report's opening section; none without a delta."""
    view = delta.DeltaView.of(verdict)
    if view is None:
        return []
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


def render(verdict: Mapping[str, Any]) -> str:
    subject, policy = verdict["subject"], verdict["policy"]
    status = verdict["status"]
    out = [
        f"## {_ICONS[status]} gates verdict: **{status.upper()}**",
        "",
        f"- Subject: {code(subject['path'])}"
        + (f" at {code(subject['commit'][:12])}" if subject["commit"] else "")
        + (f" on {code(subject['branch'])}" if subject["branch"] else "")
        + (f", tag {code(subject['tag'])}" if subject.get("tag") else ""),  # when release control adds it
        f"- Policy: {code(policy['name'])} ({cell(policy['digest'][:19])}…)"
        + (
            f", overrides: {cell(', '.join(policy['applied_overrides']))}"
            if policy["applied_overrides"]
            else ""
        ),
        f"- Ran {verdict['started_at']} for {verdict['duration_s']:.1f}s",
        "",
        *delta_section(verdict),
        "| Gate | Status | Counted | "
        + " | ".join(s.capitalize() for s in reversed(SEVERITIES))
        + " | New | Existing | Waived | Time | Reason |",
        "|---|---|---:|" + "---:|" * len(SEVERITIES) + "---:|---:|---:|---:|---|",
    ]
    for gate in verdict["gates"]:
        counts = gate["counts"]
        out.append(
            f"| {cell(gate_label(gate))} | {_ICONS[gate['status']]} {gate['status']} | {counts['counted']} | "
            + " | ".join(str(counts["by_severity"][s]) for s in reversed(SEVERITIES))
            + f" | {counts['new']} | {counts['total'] - counts['new']} | {counts['waived']}"
            + f" | {gate['duration_s']:.1f}s | {cell(gate['reason'])} |"
        )
    counted = [(gate_label(g), f) for g in verdict["gates"] for f in g["findings"] if f["counted"]]
    if counted:
        out += [
            "",
            f"### Findings that count ({len(counted)})",
            "",
            "| Severity | Gate | Rule | Location | Message |",
            "|---|---|---|---|---|",
        ]
        for gate_name, f in counted[:MAX_LISTED_FINDINGS]:
            out.append(
                f"| {f['severity']} | {cell(gate_name)} | {cell(f['rule'])} | {cell(_where(f))} | "
                f"{cell(f['message'])} |"
            )
        if len(counted) > MAX_LISTED_FINDINGS:
            out.append(f"\n… and {len(counted) - MAX_LISTED_FINDINGS} more in verdict.json.")
    vex = [
        (gate_label(g), f)
        for g in verdict["gates"]
        for f in g["findings"]
        if (f["waived"] or {}).get("kind") == "vex"
    ]
    if vex:
        out += [
            "",
            f"### Not affected, by VEX statement ({len(vex)})",
            "",
            "| Gate | Rule | Location | Statement | Reason |",
            "|---|---|---|---|---|",
        ]
        for gate_name, f in vex[:MAX_LISTED_FINDINGS]:
            vouched = f["waived"]
            out.append(
                f"| {cell(gate_name)} | {cell(f['rule'])} | {cell(_where(f))} | {cell(vouched['source'])} | "
                f"{cell(vouched['reason'])} |"
            )
    governance = verdict.get("governance")  # absent in verdicts written before it was recorded
    if governance is not None and governance["reasons"]:
        out += ["", f"### {_ICONS[governance['status']]} Waiver ledger ({governance['status']})", ""]
        out += [f"- {item(reason)}" for reason in governance["reasons"]]
    return "\n".join(out) + "\n"
