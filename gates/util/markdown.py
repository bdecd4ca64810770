"""Markdown for text that comes from scanned code or package metadata (report.md,
THIRD_PARTY_NOTICES.md): a file may be named `[click](http:evil.example).py`, so text is written to
read as exactly that text in CommonMark and GitHub's renderer: `<`, `>` and `&` as entities (no
HTML, no `<autolink>`), and every other character that can open inline markup (a link, an image,
emphasis, code, a table cell, strikethrough) or a block at the start of a list item
backslash-escaped."""

from __future__ import annotations

import html
import re

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
