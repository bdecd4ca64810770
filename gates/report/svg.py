"""Inline SVG charts for the HTML report: no script, no external asset, deterministic output.

Every piece of text goes through `Markup.format`, which escapes its arguments, so a gate name or a
label cannot close an element or add an attribute. Numbers are written with one decimal, so the
same data always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

# Light colours that read on screen and on paper; the same keys name CSS variables in the page.
SEVERITY_COLOURS: Mapping[str, str] = {
    "critical": "#7b1113",
    "high": "#d6336c",
    "medium": "#f08c00",
    "low": "#fab005",
    "info": "#74c0fc",
}
STATUS_COLOURS: Mapping[str, str] = {
    "pass": "#2b8a3e",
    "warn": "#e67700",
    "fail": "#c92a2a",
    "error": "#862e9c",
    "skipped": "#868e96",
}
NOT_COUNTED_COLOUR = "#ced4da"

WIDTH = 640
_LABEL_W = 130
_ROW_H = 22
_BAR_H = 14


@dataclass(frozen=True)
class Series:
    name: str
    colour: str


@dataclass(frozen=True)
class BarRow:
    label: str
    values: tuple[int, ...]
    """One value per series, in the series' order."""


@dataclass(frozen=True)
class TrendPoint:
    label: str
    """Short x-axis label (date); the tooltip adds `detail`."""
    detail: str
    value: int
    status: str
    current: bool = False


def _n(value: float) -> str:
    return f"{value:.1f}"


def _svg(height: int, title: str, body: Sequence[Markup]) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'aria-label="{t}" font-family="sans-serif" font-size="11"><title>{t}</title>{body}</svg>'
    ).format(w=WIDTH, h=height, t=title, body=Markup("").join(body))


def _legend(series: Sequence[Series], y: int) -> list[Markup]:
    items, x = [], _LABEL_W
    for s in series:
        items.append(
            Markup(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>'
            ).format(x, y, s.colour, x + 14, y + 9, s.name)
        )
        x += 24 + 7 * len(s.name)
    return items


def stacked_bars(rows: Sequence[BarRow], series: Sequence[Series], title: str) -> Markup:
    """One horizontal bar per row, one segment per series, scaled to the largest total."""
    top = 24
    height = top + _ROW_H * max(len(rows), 1) + 6
    largest = max((sum(r.values) for r in rows), default=0)
    scale = (WIDTH - _LABEL_W - 50) / largest if largest else 0.0
    body = _legend(series, 4)
    for i, row in enumerate(rows):
        y = top + i * _ROW_H
        body.append(
            Markup('<text x="{}" y="{}" text-anchor="end">{}</text>').format(_LABEL_W - 8, y + 11, row.label)
        )
        x = float(_LABEL_W)
        for s, value in zip(series, row.values, strict=True):
            if value:
                width = value * scale
                body.append(
                    Markup(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} {}</title></rect>'
                    ).format(_n(x), y, _n(width), _BAR_H, s.colour, row.label, value, s.name)
                )
                x += width
        body.append(Markup('<text x="{}" y="{}">{}</text>').format(_n(x + 6), y + 11, sum(row.values)))
    return _svg(height, title, body)


def trend(points: Sequence[TrendPoint], title: str, series_name: str) -> Markup:
    """A line and area of `value` over runs, oldest first; each run's dot has its status colour."""
    left, right, top, bottom = 40, 20, 12, 34
    height = 170
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    largest = max((p.value for p in points), default=0) or 1
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0

    def xy(i: int, value: int) -> tuple[float, float]:
        return left + i * step, top + plot_h - value * plot_h / largest

    coords = [xy(i, p.value) for i, p in enumerate(points)]
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)
    base = top + plot_h
    body = [
        Markup('<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#adb5bd"/>').format(
            l=left, r=WIDTH - right, b=base
        ),
        Markup('<text x="{}" y="{}" text-anchor="end">{}</text>').format(left - 6, top + 4, largest),
        Markup('<text x="{}" y="{}" text-anchor="end">0</text>').format(left - 6, base + 4),
    ]
    if coords:
        area = f"{_n(coords[0][0])},{base} {line} {_n(coords[-1][0])},{base}"
        body.append(Markup('<polygon points="{}" fill="#4dabf7" fill-opacity="0.2"/>').format(area))
        body.append(
            Markup('<polyline points="{}" fill="none" stroke="#1c7ed6" stroke-width="2"/>').format(line)
        )
    every = max(1, len(points) // 8)  # about eight x labels at most, so they never overlap
    for i, (p, (x, y)) in enumerate(zip(points, coords, strict=True)):
        ring = Markup(' stroke="#212529" stroke-width="2"') if p.current else Markup("")
        body.append(
            Markup('<circle cx="{}" cy="{}" r="{}" fill="{}"{}><title>{}: {}, {} {}</title></circle>').format(
                _n(x),
                _n(y),
                6 if p.current else 4,
                STATUS_COLOURS.get(p.status, "#495057"),
                ring,
                p.detail,
                p.status.upper(),
                p.value,
                series_name,
            )
        )
        last = len(points) - 1
        if i == last or (i % every == 0 and last - i >= every):
            body.append(
                Markup('<text x="{}" y="{}" text-anchor="middle">{}</text>').format(_n(x), base + 16, p.label)
            )
    return _svg(height, title, body)
