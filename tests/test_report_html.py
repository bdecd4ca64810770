"""The HTML report: real verdicts from `gates run`, hand-made ones (validated) for the cases a tiny
repository cannot produce (errors, waivers near expiry, masked PII, supply-chain advice), XSS."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from gates import verdict as verdicts
from gates.model import SEVERITIES, Status
from gates.report import html, markdown, svg
from gates.report.registry import load_formats
from gates.verdict import Verdict
from tests.conftest import CLEAN_CODE, VULNERABLE_CODE, CliResult, Repo

XSS = "<img src=x onerror=alert(1)><script>document.title='pwned'</script>"
DIGEST = "sha256:" + "ab" * 32


# --- hand-made verdicts, validated against the verdict schema ----------------------------------


def finding(
    rule: str,
    severity: str = "high",
    message: str = "something is wrong",
    *,
    path: str | None = "app.py",
    line: int | None = 3,
    logical: str | None = None,
    properties: dict[str, Any] | None = None,
    counted: bool = True,
    new: bool = True,
    waived: dict[str, Any] | None = None,
    aliases: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "rule": rule,
        "severity": severity,
        "message": message,
        "location": {"path": path, "line": line, "logical": logical},
        "fingerprint": hashlib.sha256(f"{rule}{message}{path}{logical}".encode()).hexdigest()[:32],
        "aliases": list(aliases),
        "properties": properties or {},
        "new": new,
        "counted": counted,
        "waived": waived,
    }


def gate(
    name: str, status: str, findings: Sequence[dict[str, Any]] = (), reason: str = "", mode: str = "enforce"
) -> dict[str, Any]:
    counted = Counter(f["severity"] for f in findings if f["counted"])
    return {
        "name": name,
        "status": status,
        "mode": mode,
        "reason": reason or f"{len(findings)} finding(s)",
        "version": "1.0.0",
        "tool_versions": {"tool": "1.2.3"},
        "duration_s": 1.25,
        "cached": False,
        "stats": {},
        "counts": {
            "total": len(findings),
            "counted": sum(counted.values()),
            "new": sum(1 for f in findings if f["new"]),
            "waived": sum(1 for f in findings if f["waived"]),
            "by_severity": {s: counted.get(s, 0) for s in SEVERITIES},
        },
        "findings": list(findings),
    }


def waiver(rule: str, expires: str, status: str = "active", matched: int = 1, **extra: Any) -> dict[str, Any]:
    entry = {
        "gate": "sast",
        "rule": rule,
        "path": None,
        "fingerprint": None,
        "reason": "accepted risk",
        "owner": "security-team",
        "expires": expires,
        "source": "gates.yaml:9",
        "status": status,
        "matched": matched,
    }
    return {**entry, **extra}


def make_verdict(
    gates: Sequence[dict[str, Any]],
    waivers: Sequence[dict[str, Any]] = (),
    started_at: str = "2026-06-01T12:00:00Z",
    commit: str = "0123456789abcdef0123456789abcdef01234567",  # pragma: allowlist secret
) -> dict[str, Any]:
    verdict = {
        "verdict_version": 1,
        "status": Status.combine([Status(g["status"]) for g in gates]).value,
        "subject": {
            "path": "/src/shop",
            "commit": commit,
            "tree": None,
            "branch": "release/1.4",
            "dirty": False,
        },
        "policy": {
            "name": "strict",
            "source": "policies/strict.yaml",
            "digest": DIGEST,
            "branch": "release/1.4",
            "environment": None,
            "applied_overrides": [],
            "enabled_gates": [g["name"] for g in gates],
        },
        "tool": {"name": "governance-gates", "version": "0.1.0"},
        "started_at": started_at,
        "duration_s": 83.4,
        "scope": None,
        "baseline": None,
        "gates": list(gates),
        "waivers": list(waivers),
        "summary": {
            "gates": {s.value: sum(1 for g in gates if g["status"] == s.value) for s in Status},
            "findings": sum(g["counts"]["total"] for g in gates),
            "counted": sum(g["counts"]["counted"] for g in gates),
            "waived": sum(g["counts"]["waived"] for g in gates),
            "new": sum(g["counts"]["new"] for g in gates),
        },
    }
    verdicts.validate(verdict, "test verdict")
    return verdict


def release_verdict(
    message: str = "Use of shell=True", started_at: str = "2026-06-01T12:00:00Z"
) -> dict[str, Any]:
    """A failing release: SAST, supply chain, masked PII, a skipped DAST gate and four waivers."""
    waived_by = waiver("B403", "2026-06-20")
    del waived_by["status"], waived_by["matched"]
    return make_verdict(
        [
            gate(
                "sast",
                "fail",
                [
                    finding(
                        "B602",
                        "high",
                        message,
                        properties={"more_info": "https://bandit.readthedocs.io/en/latest/b602.html"},
                        aliases=["CWE-78"],
                    ),
                    finding("B101", "low", "assert used", path="app/util.py", line=12, new=False),
                    finding("B403", "low", "pickle", counted=False, waived=waived_by),
                ],
                reason="1 finding(s) at or above high",
            ),
            gate(
                "vulnerabilities",
                "fail",
                [
                    finding(
                        "PYSEC-2026-1",
                        "critical",
                        "jinja2 2.10: PYSEC-2026-1, fixed in 3.1.5",
                        path=None,
                        line=None,
                        logical="pkg:pypi/jinja2@2.10",
                        properties={"fixed_versions": ["3.1.5"], "cvss_score": 9.1},
                    ),
                    finding(
                        "PYSEC-2026-2",
                        "medium",
                        "oldlib 1.0: PYSEC-2026-2, no fixed version",
                        path=None,
                        line=None,
                        logical="pkg:pypi/oldlib@1.0",
                        properties={"fixed_versions": []},
                    ),
                ],
            ),
            gate(
                "licence",
                "warn",
                [
                    finding(
                        "licence-denied",
                        "medium",
                        "pkg:pypi/gpllib@2.0: GPL-3.0-only (Copyleft) is denied",
                        path=None,
                        line=None,
                        logical="pkg:pypi/gpllib@2.0",
                        properties={"expression": "GPL-3.0-only", "category": "Copyleft"},
                    )
                ],
                mode="warn",
            ),
            gate(
                "pii",
                "warn",
                [
                    finding(
                        "EMAIL_ADDRESS",
                        "medium",
                        "EMAIL_ADDRESS j***@e******.com (score 1.00)",
                        path="fixtures/users.csv",
                        line=2,
                        properties={
                            "preview": "j***@e******.com",
                            "value_hash": "5f1e0c2b9a7d4e3f",  # pragma: allowlist secret
                        },
                    )
                ],
            ),
            gate("dast", "skipped", reason="mode off"),
        ],
        waivers=[
            waiver("B101", "2027-03-01", matched=0, status="unused"),
            waiver("B403", "2026-06-20", path="app/*.py"),
            waiver("B311", "2026-05-02", status="expired", matched=0),
            waiver("B105", "2026-07-01", owner="Dana <dana@example.com>"),
        ],
        started_at=started_at,
    )


def inner_text(page: str) -> str:
    """The page's text without tags (entities left as they are), on one line per run of spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


# --- real runs ------------------------------------------------------------------------------------


SAST_POLICY = """\
version: 1
gates:
  sast: {fail_on: high}
waivers:
  - {gate: sast, rule: B404, reason: "subprocess is how we deploy", owner: ops, expires: 2099-01-01}
"""


def test_a_failing_run_writes_report_html_with_its_findings(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app/run.py": VULNERABLE_CODE, "gates.yaml": SAST_POLICY})
    assert run_cli("run", repo.root, "--format", "html").code == 1
    page = (repo.root / ".gates" / "report.html").read_text(encoding="utf-8")
    text = inner_text(page)
    assert "Release decision: fail" in text
    assert repo.git("rev-parse", "HEAD") in text and "main" in text
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text())
    assert verdict["policy"]["digest"] in text
    assert "app/run.py:5" in text and "B602" in text and "CWE-78" in text
    # bandit's more_info is an https URL: a link that tells the browser nothing about this page
    assert re.search(r'<a href="https://bandit\.readthedocs\.io/[^"]+" rel="noopener noreferrer">', page)
    # the waived B404 finding is listed as waived, with its owner and reason
    assert "waived by ops until 2099-01-01: subprocess is how we deploy" in text
    assert '<details class="gate fail" id="gate-sast" open>' in page  # what blocks is open
    assert "No previous verdicts" in text


def test_a_passing_run_says_so(make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]) -> None:
    repo = make_repo({"app.py": CLEAN_CODE, "gates.yaml": "version: 1\ngates:\n  sast: {fail_on: high}\n"})
    assert run_cli("run", repo.root, "--format", "html", "--out", repo.root / "out").code == 0
    text = inner_text((repo.root / "out" / "report.html").read_text(encoding="utf-8"))
    assert "Release decision: pass" in text
    assert "Every gate the policy enables passed." in text
    assert "No findings." in text and "The policy grants no waivers." in text


# --- hand-made verdicts -------------------------------------------------------------------------


def test_an_error_verdict_leads_with_the_gate_that_could_not_run() -> None:
    verdict = make_verdict([gate("sast", "pass"), gate("dast", "error", reason="tool missing: install zap")])
    text = inner_text(html.render(Verdict.from_json(verdict)))
    assert "Release decision: error" in text
    why = text.split("Release decision: error", 1)[1].split("Repository", 1)[0]
    assert "error dast : tool missing: install zap" in why and "sast" not in why


def test_failing_verdict_shows_counts_advice_and_masked_pii() -> None:
    page = html.render(Verdict.from_json(release_verdict()))
    text = inner_text(page)
    assert "Release decision: fail" in text
    assert "1 finding(s) at or above high" in text
    # the SAST row: crit high med low info, counted, new, existing, waived, time
    sast_row = page.split('id="gate-sast"', 1)[1].split("</summary>", 1)[0]
    numbers = re.findall(r'<span class="num[^"]*">(?:<b>)?([0-9.]+(?: s)?)', sast_row)
    assert numbers == ["0", "1", "0", "1", "0", "2", "2", "1", "1", "1.2 s"]
    assert "Fix: upgrade to 3.1.5" in text and "Fix: no fixed version published" in text
    assert "CVSS score: 9.1" in text
    assert "Licence category: Copyleft" in text and "Licence: GPL-3.0-only" in text
    assert "warn mode" in text
    assert "j***@e******.com" in text  # masked
    assert "5f1e0c2b9a7d4e3f" not in page  # pragma: allowlist secret; the hash is not shown
    assert "1 min 23 s" in text  # the run's duration


def test_waivers_expired_and_expiring_are_marked_relative_to_the_run() -> None:
    page = html.render(Verdict.from_json(release_verdict()))
    rows = re.findall(
        r'<tr class="(expired|expiring|ok)">\s*<td>sast</td>\s*<td class="mono">(B\d+)</td>', page
    )
    # expired first, then by expiry date; 2026-06-20 and 2026-07-01 are within 30 days of 2026-06-01
    assert rows == [("expired", "B311"), ("expiring", "B403"), ("expiring", "B105"), ("ok", "B101")]
    text = inner_text(page)
    assert "EXPIRED 30 days before this run" in text
    assert "expires in 19 days" in text and "expires in 30 days" in text
    assert "Dana &lt;dana@example.com&gt;" in page
    # a month later the same waivers read differently: the run's date decides, not the wall clock
    later = inner_text(html.render(Verdict.from_json(release_verdict(started_at="2026-06-25T00:00:00Z"))))
    assert "EXPIRED 5 days before this run" in later and "expires in 6 days" in later


def test_the_policys_expiry_window_and_the_ledgers_reasons_are_shown() -> None:
    verdict = release_verdict()
    verdict["policy"]["governance"] = {
        "max_waiver_days": None,
        "expiring_within_days": 20,
        "unused_waivers": "warn",
        "inline_suppressions": True,
    }
    verdict["governance"] = {
        "status": "warn",
        "reasons": ["waiver sast B101 (gates.yaml:9) matched no finding"],
    }
    verdicts.validate(verdict, "governance verdict")
    page = html.render(Verdict.from_json(verdict))
    rows = re.findall(
        r'<tr class="(expired|expiring|ok)">\s*<td>sast</td>\s*<td class="mono">(B\d+)</td>', page
    )
    assert rows == [
        ("expired", "B311"),
        ("expiring", "B403"),
        ("ok", "B105"),
        ("ok", "B101"),
    ]  # 19 <= 20 < 30
    assert "expiring within 20 days of this run" in page
    why = inner_text(page).split("Repository", 1)[0]
    assert "warn waivers : waiver sast B101 (gates.yaml:9) matched no finding" in why


def test_xss_in_finding_text_stays_inert() -> None:
    verdict = release_verdict(message=XSS)
    sast = verdict["gates"][0]
    sast["findings"][0]["location"]["path"] = XSS
    sast["findings"][0]["aliases"] = [XSS]
    sast["findings"][0]["properties"] = {"more_info": "javascript:alert(1)", "evidence": XSS}
    sast["reason"] = XSS
    verdict["waivers"][0]["reason"] = XSS
    verdict["subject"]["branch"] = XSS
    verdicts.validate(verdict, "xss verdict")
    page = html.render(Verdict.from_json(verdict))
    assert page.count("<script") == 1  # the page's own print script, allowed by its CSP hash
    assert "<img" not in page and "javascript:" not in page.replace("More information: javascript:", "")
    assert 'href="javascript:' not in page
    assert "More information: javascript:alert(1)" in page  # shown as text, not as a link
    assert page.count("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") >= 6
    assert "default-src 'none'" in page  # and nothing would load or run even if escaping failed


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://example.org/a?b=1", True),
        ("http://127.0.0.1:8000/", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/", False),
        ("https:///nohost", False),
        ("https://example.org/a b", False),
    ],
)
def test_only_http_urls_become_links(url: str, link: bool) -> None:
    assert (html.safe_link(url) == url) is link


def test_same_verdict_renders_byte_identical_html(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    source = tmp_path / "verdict.json"
    source.write_text(json.dumps(release_verdict()))
    outputs = [tmp_path / "one.html", tmp_path / "two.html"]
    for out in outputs:
        assert run_cli("report", source, "--format", "html", "-o", out).code == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert outputs[0].read_text(encoding="utf-8") == html.render(Verdict.from_json(release_verdict()))


def test_history_draws_the_trend_and_counts_skipped_files(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    history = tmp_path / "history"
    history.mkdir()
    older = make_verdict([gate("sast", "fail", [finding("B602")] * 3)], started_at="2026-05-01T00:00:00Z")
    old = make_verdict([gate("sast", "pass")], started_at="2026-05-15T00:00:00Z")
    current = release_verdict()
    # file names deliberately out of date order; the current verdict in the folder is not drawn twice
    (history / "a.json").write_text(json.dumps(old))
    (history / "b.json").write_text(json.dumps(older))
    (history / "c.json").write_text(json.dumps(current))
    (history / "notes.json").write_text('{"not": "a verdict"}')
    (history / "broken.json").write_text("{")
    (history / "README.txt").write_text("not json at all")
    source = tmp_path / "verdict.json"
    source.write_text(json.dumps(current))
    result = run_cli("report", source, "--format", "html", "--history", history)
    assert result.code == 0, result.err
    trend = result.out.split("Trend: counted findings per run", 1)[1]
    dots = re.findall(r"<circle [^>]*><title>([^<]+)</title>", trend)
    assert [d.split(":", 1)[0][:10] for d in dots] == ["2026-05-01", "2026-05-15", "2026-06-01"]
    assert dots[0].endswith("FAIL, 3 counted") and dots[1].endswith("PASS, 0 counted")
    assert dots[2].endswith(f"FAIL, {current['summary']['counted']} counted")
    assert "2 files in the history folder were not verdicts and were skipped." in result.out
    assert "Runs in the trend (3 of 3)" in result.out


def test_history_is_for_html_only_and_must_be_a_folder(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    source = tmp_path / "verdict.json"
    source.write_text(json.dumps(release_verdict()))
    result = run_cli("report", source, "--format", "md", "--history", tmp_path)
    assert result.code == 2 and "--history applies to --format html only" in result.err
    assert run_cli("report", source, "--format", "html", "--history", tmp_path / "missing").code == 2


def test_a_finding_suppressed_by_a_vex_statement_says_so() -> None:
    verdict = release_verdict()
    vex = {"kind": "vex", "reason": "code_not_reachable", "source": "vex.json:12", "status": "not_affected"}
    verdict["gates"][1]["findings"][1]["waived"] = vex  # a VEX statement has no owner or expiry
    text = inner_text(html.render(Verdict.from_json(verdict)))
    assert "not affected VEX vex.json:12: code_not_reachable" in text


def test_tag_is_shown_when_the_subject_carries_one() -> None:
    verdict = release_verdict()
    page = html.render(Verdict.from_json(verdict))
    assert re.search(r"<dt>Tag</dt><dd><span class=\"none\">none</span></dd>", page)
    verdict["subject"]["tag"] = "v1.4.0"  # release control may add it; the report renders it if present
    assert "<dt>Tag</dt><dd>v1.4.0</dd>" in html.render(Verdict.from_json(verdict))


def test_large_gates_list_the_counted_findings_first_and_say_how_many_are_left_out() -> None:
    many = [finding("B101", "low", f"assert {i}", line=i + 1, counted=False) for i in range(501)]
    many.append(finding("B602", "high", "the one that counts", line=999))
    page = html.render(Verdict.from_json(make_verdict([gate("sast", "fail", many)])))
    first_row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "the one that counts" in first_row
    assert "… and 2 more findings (the first 500 are shown, counted ones first)" in page


def test_html_is_a_registered_format() -> None:
    html_format = load_formats().get("html")
    assert html_format.filename == "report.html"
    assert html_format.render(Verdict.from_json(release_verdict())).startswith("<!DOCTYPE html>")


# --- the charts -------------------------------------------------------------------------------------


def test_bar_chart_scales_segments_and_escapes_labels() -> None:
    series = [svg.Series("high", "#f00"), svg.Series("low", "#ff0")]
    chart = str(svg.stacked_bars([svg.BarRow("<b>x</b>", (2, 2)), svg.BarRow("y", (0, 1))], series, "t<"))
    assert "<b>" not in chart and "&lt;b&gt;x&lt;/b&gt;" in chart and "<title>t&lt;</title>" in chart
    segments = [float(w) for w in re.findall(r'width="([\d.]+)" height="14"', chart)]
    assert segments == [230.0, 230.0, 115.0]  # the largest bar fills the 460 units left of the labels
    empty = str(svg.stacked_bars([svg.BarRow("z", (0, 0))], series, "none"))
    assert 'width="0' not in empty  # no zero-width segments, no division by zero


def test_trend_chart_puts_the_largest_value_at_the_top() -> None:
    points = [svg.TrendPoint(f"05-0{i}", f"run {i}", v, "fail") for i, v in enumerate([4, 0, 2])]
    chart = str(svg.trend([*points, svg.TrendPoint("06-01", "now", 1, "pass", current=True)], "t", "counted"))
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', chart)]
    assert ys[0] < ys[2] < ys[3] < ys[1]
    assert chart.count('stroke="#212529"') == 1  # the current run is ringed


# --- markdown carries the same decision and table ------------------------------------------------


def test_markdown_has_the_same_decision_and_gate_table() -> None:
    verdict = release_verdict()
    text = markdown.render(Verdict.from_json(verdict))
    assert "## ❌ gates verdict: **FAIL**" in text
    for g in verdict["gates"]:
        assert f"| {g['name']} | " in text
    assert "| New | Existing | Waived | Time | Reason |" in text
    # counted, crit high med low info, new, existing, waived, time, reason: the HTML row's numbers
    assert "| sast | ❌ fail | 2 | 0 | 1 | 0 | 1 | 0 | 2 | 1 | 1 | 1.2s | 1 finding(s) at or above" in text
    assert "tag" not in text.split("\n")[2]
    verdict["subject"]["tag"] = "v1.4.0"
    assert "on `release/1.4`, tag `v1.4.0`" in markdown.render(Verdict.from_json(verdict))


def test_markdown_shows_what_fails_the_release_before_the_rest() -> None:
    """A real app's report listed 34 low licence rows and 16 medium PII rows, and none of the 34
    high findings that failed the release (issue 17)."""
    licence = [
        finding(f"licence-unknown-{i}", "low", f"pkg {i}", path=None, line=None, logical=f"pkg:npm/a{i}@1")
        for i in range(34)
    ]
    pii = [finding("PHONE_NUMBER", "medium", f"phone {i}", path="a/icons.svg", line=i + 1) for i in range(16)]
    sast = [finding("B602", "high", f"shell {i}", path="b/run.py", line=i + 1) for i in range(34)]
    verdict = make_verdict(
        [gate("licence", "pass", licence), gate("pii", "warn", pii), gate("sast", "fail", sast)]
    )
    text = markdown.render(Verdict.from_json(verdict))
    assert "### Findings that count (84: 34 high, 16 medium, 34 low)" in text
    assert "#### Failing the release (34: 34 high)" in text
    rows = [line for line in text.splitlines() if line.startswith(("| high |", "| medium |", "| low |"))]
    assert [r.split(" | ")[0] for r in rows] == ["| high"] * 34 + ["| medium"] * 16
    assert text.index("#### Failing the release") < text.index("#### Other findings that count (50)")
    assert "… and 34 more in verdict.json." in text
