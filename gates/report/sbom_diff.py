"""An SBOM diff as Markdown: `gates sbom diff --format md`, and the "What changed" section of the
Markdown report. Component names come from the SBOM, which anyone can write: every cell is escaped."""

from __future__ import annotations

from gates.report.markdown import cell
from gates.sbom.diff import SbomDiff

_ARROWS = {"upgrade": "⬆️ upgrade", "downgrade": "⬇️ downgrade", "other": "↔️ other", "licence": "licence"}


def _licence(text: str | None, categories: tuple[str, ...]) -> str:
    return f"{text or 'none'} ({', '.join(categories)})" if categories else (text or "none")


def render(diff: SbomDiff, heading: str = "###") -> list[str]:
    """Lines of Markdown: a table for each of added, removed and changed that is not empty."""
    if diff.empty:
        return ["No component was added, removed or changed."]
    lines = [
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed "
        f"({sum(1 for c in diff.changed if c.change == 'upgrade')} upgraded, "
        f"{sum(1 for c in diff.changed if c.change == 'downgrade')} downgraded, "
        f"{sum(1 for c in diff.changed if c.licence_changed)} with another licence)."
    ]
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
                f"{_ARROWS[c.change]} | {cell(licence)} |"
            )
    return lines
