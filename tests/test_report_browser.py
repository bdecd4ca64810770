"""The HTML report opened in a real browser: headless Chromium (Debian's `chromium`, which
.ci/run installs) renders it offline, the XSS payload in a finding does not run, and a screenshot
is taken (kept in the test's tmp folder; GATES_SCREENSHOT_DIR copies it for a human to look at)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from gates import verdict as verdicts
from gates.report import html
from gates.verdict import Verdict
from tests.test_report_html import XSS, finding, gate, inner_text, make_verdict, release_verdict

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does it)"
)


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium with everything that could reach the network turned off."""
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_renders_in_chromium_and_the_payload_stays_inert(tmp_path: Path) -> None:
    verdict = release_verdict(message=XSS)
    verdict["gates"][0]["findings"][0]["location"]["path"] = XSS
    verdict["waivers"][0]["reason"] = XSS
    verdicts.validate(verdict, "xss verdict")
    page = tmp_path / "report.html"
    page.write_text(html.render(Verdict.from_json(verdict)), encoding="utf-8")

    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout
    text = inner_text(dom)
    assert "Release decision: fail" in text
    for name in ("sast", "vulnerabilities", "licence", "pii", "dast"):
        assert f'id="gate-{name}"' in dom
    assert "Fix: upgrade to 3.1.5" in text and "EXPIRED 30 days before this run" in text
    # The payload is text on the page, not markup: no element came out of it and nothing ran.
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title is not None and title.group(1) == "gates: FAIL for /src/shop at 0123456789ab"
    assert "pwned" not in title.group(1)
    assert len(re.findall(r"<script\b", dom)) == 1  # the page's own print script
    assert "<img" not in dom and re.search(r"<[a-z][^>]*\sonerror=", dom) is None
    assert text.count("&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;document.title=") >= 3
    # the failing gate is open without a click, the others are closed
    assert re.search(r'<details class="gate fail" id="gate-sast" open="">', dom)
    assert re.search(r'<details class="gate warn" id="gate-licence">', dom)

    shot = tmp_path / "report.png"
    chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert png_size(shot) == (1280, 2000)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one (blank is about 5 kB)
    keep = os.environ.get("GATES_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report.png")


def test_printing_opens_every_gate(tmp_path: Path) -> None:
    """A closed gate with 150 findings prints them all: about five pages, where a page that printed
    only the summary rows would be one (the print CSS and the beforeprint script each do it)."""
    findings = [finding("B101", "low", f"assert number {i}", line=i + 1) for i in range(150)]
    page = tmp_path / "report.html"
    verdict = Verdict.from_json(make_verdict([gate("sast", "warn", findings)]))
    page.write_text(html.render(verdict), encoding="utf-8")
    assert '<details class="gate warn" id="gate-sast">' in page.read_text(encoding="utf-8")  # closed
    pdf = tmp_path / "report.pdf"
    chromium(page, tmp_path / "profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))
    assert pages >= 4, f"{pages} page(s): the findings were not printed"
