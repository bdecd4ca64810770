"""THIRD_PARTY_NOTICES.md: made from real SBOMs, shipped by every run, and the opt-in check that a
committed copy still matches (real cyclonedx-py on a requirements file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SHARED_DIR, CliResult, Repo

BOMS = SHARED_DIR / "data" / "boms"


@pytest.mark.skipif(not BOMS.is_dir(), reason="../shared/data/boms is absent (real SBOMs)")
def test_notices_of_a_real_sbom_name_licence_text_and_copyright(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    document = json.loads((BOMS / "cern-lhc-vdm-editor.cdx.json").read_text(encoding="utf-8"))
    by_name = {c["name"]: c for c in document["components"]}
    by_name["ws"]["copyright"] = "Copyright (c) 2011 Einar Otto Stangvik <einaros@gmail.com>"
    by_name["mime"]["licenses"] = [{"license": {"name": "Some | odd licence"}}]
    edited = tmp_path / "bom.json"
    edited.write_text(json.dumps(document), encoding="utf-8")

    result = run_cli("sbom", "notices", edited)

    assert result.code == 0, result.err
    rows = [line for line in result.out.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(document["components"])  # a header, then one row each
    assert "| puppeteer | 1.19.0 | Apache-2.0 | https://spdx.org/licenses/Apache-2.0.html |   |" in rows
    assert (
        "| ws | 6.2.1 | MIT | https://spdx.org/licenses/MIT.html | "
        "Copyright (c) 2011 Einar Otto Stangvik &lt;einaros@gmail.com&gt; |" in rows
    )
    assert "| mime | 2.4.4 | Some \\| odd licence | not identified |   |" in rows
    assert rows == sorted(rows[:1]) + sorted(rows[1:], key=lambda r: r.split(" | ")[0].lower())
    assert run_cli("sbom", "notices", edited).out == result.out  # no date, nothing that varies


def test_every_run_ships_notices_and_a_committed_copy_is_checked_when_asked(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = "version: 1\ngates:\n  sbom: {notices_file: THIRD_PARTY_NOTICES.md}\n"
    repo = make_repo({"requirements.txt": "jinja2==3.1.4\n", "gates.yaml": policy})
    out = repo.root / ".gates"

    def messages() -> list[str]:
        verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
        return [f["message"] for f in verdict["gates"][0]["findings"]]

    missing = run_cli("run", repo.root, "--only", "sbom", "--format", "json")
    assert missing.code == 1, missing.err
    findings = json.loads((out / "verdict.json").read_text(encoding="utf-8"))["gates"][0]["findings"]
    assert [(f["rule"], f["severity"], f["location"]["path"]) for f in findings] == [
        ("notices-outdated", "high", "THIRD_PARTY_NOTICES.md")
    ]
    shipped = (out / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    assert "| jinja2 | 3.1.4 | not declared in the SBOM | not identified |   |" in shipped

    assert (
        run_cli("sbom", "notices", out / "sbom.cdx.json", "-o", repo.root / "THIRD_PARTY_NOTICES.md").code
        == 0
    )
    assert (repo.root / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8") == shipped
    repo.commit("notices")
    assert run_cli("run", repo.root, "--only", "sbom", "--format", "json").code == 0

    repo.write("requirements.txt", "jinja2==3.1.4\nmarkupsafe==2.1.5\n")
    repo.commit("a new dependency, notices not regenerated")
    stale = run_cli("run", repo.root, "--only", "sbom", "--format", "json")
    assert stale.code == 1
    assert messages() == [
        "THIRD_PARTY_NOTICES.md no longer matches the SBOM: regenerate it with `gates sbom notices SBOM` "
        "(or take the run's copy)"
    ]

    # A symlink is no committed notices file, even one to a file that matches.
    (repo.root / "real.md").write_text((out / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8"))
    (repo.root / "THIRD_PARTY_NOTICES.md").unlink()
    (repo.root / "THIRD_PARTY_NOTICES.md").symlink_to("real.md")
    linked = run_cli("run", repo.root, "--only", "sbom", "--format", "json")
    assert linked.code == 1 and messages()[0].startswith("THIRD_PARTY_NOTICES.md is missing")
