"""HTML: one self-contained page from which a release manager decides.

    gates report .gates/verdict.json --format html -o report.html --history previous-verdicts/
    gates run . --format html          # writes .gates/report.html (no history)

At the top, the decision, the release subject (repository, commit, branch, tag), the policy and its
digest, when the run started and how long it took. Then a row per gate (status, counted findings
by severity, new and existing, waived, duration) that opens to its findings with location, rule,
message and fix advice; the waiver ledger with expired waivers marked and those expiring soon
highlighted (within the policy's `governance.expiring_within_days` of the run, default 30); a
chart of findings by gate and severity; and, with `--history DIR`, the trend of counted findings
over the previous verdicts in DIR (every `*.json` that is a valid verdict; other files are
skipped and counted).

Finding text comes from scanned code. Jinja2 escapes everything (autoescape), the charts escape
their labels, only http(s) URLs become links (rel="noopener noreferrer"), and a
Content-Security-Policy forbids any request and any script but the page's own line that opens
every section before printing. The page works offline and renders the same bytes for the same
verdict and history.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from gates import verdict as verdicts
from gates.errors import InputError
from gates.model import Finding, Severity
from gates.report import delta, svg
from gates.report.waivers import expiries, expiring_window
from gates.verdict import GateResult, JudgedFinding, Verdict

MAX_FINDINGS_PER_GATE = 500
MAX_TREND_RUNS = 30
_SEVERITIES_DESC = tuple(reversed(Severity))
# Opens every <details> before printing, for browsers without `::details-content` in print CSS.
_PRINT_SCRIPT = (
    "let o=[];addEventListener('beforeprint',()=>{o=[...document.querySelectorAll('details:not([open])')];"
    "o.forEach(d=>d.open=true)});addEventListener('afterprint',()=>o.forEach(d=>d.open=false));"
)


@dataclass(frozen=True)
class History:
    runs: tuple[Verdict, ...]
    """Previous verdicts, oldest first."""
    skipped: int
    """Files in the folder that were not valid verdicts."""


def load_history(directory: Path) -> History:
    """Every `*.json` in `directory` that validates as a verdict, ordered by start time."""
    runs, skipped = [], 0
    for path in sorted(directory.glob("*.json")):
        try:
            runs.append(verdicts.load(path))
        except InputError:
            skipped += 1
    return History(tuple(sorted(runs, key=lambda v: v.started)), skipped)


@dataclass(frozen=True)
class Advice:
    label: str
    text: str
    href: str | None = None


@dataclass(frozen=True)
class FindingView:
    judged: JudgedFinding
    advice: tuple[Advice, ...]


@dataclass(frozen=True)
class GateView:
    gate: GateResult
    findings: tuple[FindingView, ...]
    hidden: int
    """Findings beyond MAX_FINDINGS_PER_GATE, left to verdict.json."""


def safe_link(value: str) -> str | None:
    """`value` if it is a plain http(s) URL, else None (never javascript:, data: and the like)."""
    if any(c.isspace() or ord(c) < 32 for c in value):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def advice(finding: Finding) -> tuple[Advice, ...]:
    """What the finding says about fixing it: its remediation, its details, a page on its rule."""
    out = [Advice("Fix", finding.remediation.text)] if finding.remediation is not None else []
    out += [Advice(label, text) for label, text in finding.details()]
    if finding.help_uri:
        out.append(Advice("More information", finding.help_uri, safe_link(finding.help_uri)))
    return tuple(out)


def _gate_view(gate: GateResult) -> GateView:
    ordered = sorted(gate.findings, key=JudgedFinding.sort_key)
    shown = tuple(FindingView(j, advice(j.finding)) for j in ordered[:MAX_FINDINGS_PER_GATE])
    return GateView(gate, shown, len(ordered) - len(shown))


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _bars(verdict: Verdict) -> Markup:
    series = [svg.Series(s.value, svg.SEVERITY_COLOURS[s.value]) for s in _SEVERITIES_DESC]
    series.append(svg.Series("not counted", svg.NOT_COUNTED_COLOUR))
    rows = []
    for gate in verdict.gates:
        counts = gate.counts
        by_severity = tuple(counts.by_severity[s] for s in _SEVERITIES_DESC)
        rows.append(svg.BarRow(gate.label, (*by_severity, counts.total - counts.counted)))
    return svg.stacked_bars(rows, series, "Findings by gate and severity")


def _trend_point(run: Verdict, current: bool) -> svg.TrendPoint:
    commit = run.subject.commit
    detail = run.started + (f" {commit[:10]}" if commit else "")
    return svg.TrendPoint(run.started[5:10], detail, run.summary.counted, run.status.value, current)


@dataclass(frozen=True)
class Trend:
    points: tuple[svg.TrendPoint, ...]
    """The runs charted: the last MAX_TREND_RUNS, this one last."""
    runs_total: int
    chart: Markup | None
    """None without previous runs."""


def _trend(verdict: Verdict, history: History) -> Trend:
    key = (verdict.started, verdict.subject.commit)
    previous = [r for r in history.runs if (r.started, r.subject.commit) != key]
    points = [_trend_point(r, False) for r in previous] + [_trend_point(verdict, True)]
    shown = tuple(points[-MAX_TREND_RUNS:])
    chart = svg.trend(shown, "Counted findings per run", "counted") if previous else None
    return Trend(shown, len(points), chart)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gates.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["duration"] = duration
    return env


def render(verdict: Verdict, history: History | None = None) -> str:
    history = history or History((), 0)
    trend = _trend(verdict, history)
    changes = delta.DeltaView.of(verdict)
    script_hash = base64.b64encode(hashlib.sha256(_PRINT_SCRIPT.encode()).digest()).decode()
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            verdict=verdict,
            subject=verdict.subject,
            policy=verdict.policy,
            gates=[_gate_view(g) for g in verdict.gates],
            severities=_SEVERITIES_DESC,
            waivers=expiries(verdict),
            expiring_days=expiring_window(verdict),
            governance=verdict.governance,  # None in verdicts written before it was recorded
            bars=_bars(verdict),
            trend=trend.chart,
            points=trend.points,
            runs_total=trend.runs_total,
            history_skipped=history.skipped,
            colours={**svg.STATUS_COLOURS, **{f"sev-{k}": v for k, v in svg.SEVERITY_COLOURS.items()}},
            print_script=Markup(_PRINT_SCRIPT),  # a constant of this module, never data
            script_hash=script_hash,
            max_findings=MAX_FINDINGS_PER_GATE,
            delta=changes,
            delta_counts=delta.counts(changes.components) if changes and changes.components else "",
        )
    )
