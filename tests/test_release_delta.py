"""Two releases of a real git repository: v1.0.0 is run, tagged and noted with `gates release`; the
dependencies change; `gates run --since v1.0.0` judges what changed. The SBOM is the real
cyclonedx-py's, the advisories real PyPA records (../shared) served by a local OSV mirror; the
database of the second run has one advisory more, "published" after v1.0.0."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest

from tests.conftest import OSV_SHARED_SAMPLE, CliResult, Repo

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

pytestmark = pytest.mark.skipif(
    not OSV_SHARED_SAMPLE.is_dir(), reason="../shared/data/osv-pypi-sample is absent (real PyPA advisories)"
)

LATER_ADVISORY = "PYSEC-2021-66"  # jinja2 < 2.11.3: published after v1.0.0 in this story
POLICY = """\
version: 1
defaults: {fail_on: high, warn_on: medium}
gates:
  sbom: {new_components: warn, downgrades: warn}
  vulnerabilities: {disclosed: warn}
"""
V1 = "jinja2==2.11.2\nrequests==2.31.0\nflask==2.3.2\n"
# jinja2 unchanged; requests down to a version with PYSEC-2023-74; pyyaml new, with PYSEC-2021-142;
# flask up.
V2 = "jinja2==2.11.2\nrequests==2.30.0\nflask==3.0.0\npyyaml==5.3.1\n"


@pytest.fixture(autouse=True)
def _home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("GATES_SIGNING_KEY", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def _database(tmp_path: Path, name: str, without: tuple[str, ...] = ()) -> Path:
    target = tmp_path / name
    shutil.copytree(OSV_SHARED_SAMPLE, target)
    for advisory in without:
        for record in target.rglob(f"{advisory}.*"):
            record.unlink()
    return target


def _gate(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in verdict["gates"] if g["name"] == name)


def _by_rule(gate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{f['rule']} {f['location']['logical']}": f for f in gate["findings"]}


def _run(run_cli: Callable[..., CliResult], repo: Repo, database: Path, *extra: str) -> CliResult:
    return run_cli(
        "run", repo.root, "--no-cache", "--input", f"vulnerabilities.osv_database={database}", *extra
    )


def test_a_second_release_is_judged_on_what_changed_since_the_first(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"requirements.txt": V1, "gates.yaml": POLICY})
    first = _run(run_cli, repo, _database(tmp_path, "osv-then", without=(LATER_ADVISORY,)))
    assert first.code == 0, first.out + first.err
    verdict_v1 = repo.root / ".gates" / "verdict.json"
    released = run_cli("release", verdict_v1, "--repo", repo.root, "--tag", "v1.0.0")
    assert released.code == 0, released.err
    shutil.copy(verdict_v1, tmp_path / "v1.json")

    repo.write("requirements.txt", V2)
    repo.commit("dependencies of the next release")
    now = _database(tmp_path, "osv-now")
    second = _run(run_cli, repo, now, "--since", "v1.0.0")

    assert second.code == 1, second.out + second.err  # what the change introduced is judged in full
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    delta = verdict["delta"]
    assert delta["since"] == "v1.0.0" and delta["commit"] == repo.git("rev-parse", "v1.0.0^{commit}")
    components = delta["components"]
    assert [(a["name"], a["version"]) for a in components["added"]] == [("pyyaml", "5.3.1")]
    assert components["removed"] == []
    assert [(c["name"], c["from"], c["to"], c["change"]) for c in components["changed"]] == [
        ("flask", "2.3.2", "3.0.0", "upgrade"),
        ("requests", "2.31.0", "2.30.0", "downgrade"),
    ]
    assert delta["vulnerabilities"] == {"introduced": 2, "disclosed": 1}
    # Each supply-chain gate records its share.
    assert _gate(verdict, "sbom")["stats"]["delta"] == {
        "since": "v1.0.0", "added": 1, "removed": 0, "changed": 2, "downgraded": 1
    }  # fmt: skip
    assert _gate(verdict, "vulnerabilities")["stats"]["delta"] == {
        "since": "v1.0.0", "introduced": 2, "disclosed": 1
    }  # fmt: skip

    vulnerabilities = _by_rule(_gate(verdict, "vulnerabilities"))
    introduced = vulnerabilities["PYSEC-2023-74 pkg:pypi/requests@2.30.0"]
    assert introduced["properties"]["delta"] == "introduced"
    assert introduced["severity"] == "high" and introduced["counted"]
    assert vulnerabilities["PYSEC-2021-142 pkg:pypi/pyyaml@5.3.1"]["properties"]["delta"] == "introduced"
    disclosed = vulnerabilities[f"{LATER_ADVISORY} pkg:pypi/jinja2@2.11.2"]
    assert disclosed["properties"]["delta"] == "disclosed"
    # disclosed: warn: the advisory keeps its severity, and its decision makes it only warn
    assert disclosed["severity"] == "high" and disclosed["properties"]["decides"] == "warn"
    assert disclosed["message"].endswith("[disclosed since v1.0.0] (disclosed: warn)")
    assert disclosed["new"]  # not in v1.0.0's verdict
    assert _gate(verdict, "vulnerabilities")["status"] == "fail"

    sbom = _gate(verdict, "sbom")
    assert sorted(f["rule"] for f in sbom["findings"]) == ["component-added", "component-downgraded"]
    assert all(f["severity"] == "medium" for f in sbom["findings"])  # warn_on
    assert sbom["status"] == "warn"

    report = (repo.root / ".gates" / "report.md").read_text(encoding="utf-8")
    opening = report.split("| Gate |")[0]
    assert "### What changed since v1.0.0" in opening
    assert "2 advisories introduced by this change" in opening and "1 disclosed since v1.0.0" in opening
    assert "| requests | 2.31.0 | 2.30.0 | ⬇️ downgrade |" in opening
    assert "| pyyaml | 5.3.1 | none |" in opening
    page = (repo.root / ".gates" / "report.html").read_text(encoding="utf-8")
    assert page.index("What changed since v1.0.0") < page.index('<section id="gates">')
    assert "[disclosed since v1.0.0]" in page and "[introduced since v1.0.0]" in page

    _machine_reports_show_the_delta(repo.root / ".gates", run_cli, tmp_path)

    # Waivers work on both: the introduced advisories waived, the release only warns.
    waived = repo.root / "waived.yaml"
    waived.write_text(
        POLICY
        + "waivers:\n"
        + "".join(
            f"  - {{gate: vulnerabilities, rule: {rule}, reason: unused, owner: web, expires: 2999-01-01}}\n"
            for rule in ("PYSEC-2023-74", "PYSEC-2021-142", LATER_ADVISORY)
        ),
        encoding="utf-8",
    )
    again = run_cli(
        "evaluate", repo.root / ".gates" / "findings.json", "--policy", waived, "--out", tmp_path / "waived",
        "--since", tmp_path / "v1.json",
    )  # fmt: skip
    assert again.code == 0, again.out + again.err
    rejudged = json.loads((tmp_path / "waived" / "verdict.json").read_text(encoding="utf-8"))
    assert rejudged["status"] == "warn" and rejudged["delta"]["vulnerabilities"] == delta["vulnerabilities"]
    assert all(f["waived"] for f in _gate(rejudged, "vulnerabilities")["findings"])

    # Without the release's inventory no advisory can be called disclosed: each is judged in full,
    # even under `disclosed: ignore`, which drops it when the inventory is known.
    stripped = json.loads((tmp_path / "v1.json").read_text(encoding="utf-8"))
    for gate in stripped["gates"]:
        gate["stats"].pop("inventory", None)
    (tmp_path / "v1-old.json").write_text(json.dumps(stripped), encoding="utf-8")
    ignoring = tmp_path / "ignoring.yaml"
    ignoring.write_text(POLICY.replace("disclosed: warn", "disclosed: ignore"), encoding="utf-8")
    for since, kept in (("v1.json", False), ("v1-old.json", True)):
        out = tmp_path / f"ignoring-{since}"
        judged = run_cli(
            "evaluate", repo.root / ".gates" / "findings.json", "--policy", ignoring, "--out", out,
            "--since", tmp_path / since,
        )  # fmt: skip
        assert judged.code == 1, judged.err
        advisories = _by_rule(
            _gate(json.loads((out / "verdict.json").read_text(encoding="utf-8")), "vulnerabilities")
        )
        jinja2 = advisories.get(f"{LATER_ADVISORY} pkg:pypi/jinja2@2.11.2")
        assert (jinja2 is not None) == kept, since
        if jinja2 is not None:
            assert jinja2["severity"] == "high" and jinja2["counted"] and "delta" not in jinja2["properties"]

    # One CI job per gate: each part records what it can see, the merged verdict all of it.
    parts = []
    for gate in ("sbom", "vulnerabilities"):
        part = run_cli(
            "evaluate", repo.root / ".gates" / "findings.json", "--policy", repo.root / "gates.yaml",
            "--only", gate, "--out", tmp_path / gate, "--since", tmp_path / "v1.json",
        )  # fmt: skip
        assert part.code in (0, 1), part.err
        parts.append(tmp_path / gate / "verdict.json")
    assert json.loads(parts[0].read_text(encoding="utf-8"))["delta"]["vulnerabilities"] == {
        "introduced": 0,
        "disclosed": 0,
    }  # the sbom job judges no advisory
    assert run_cli("merge", *parts, "-o", tmp_path / "merged.json").code == 1
    merged = json.loads((tmp_path / "merged.json").read_text(encoding="utf-8"))["delta"]
    assert merged == {**delta, "since": str(tmp_path / "v1.json")}  # the file, this time


def _machine_reports_show_the_delta(out: Path, run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """SARIF, JUnit and GitLab's reports of the second release: each advisory's change since v1.0.0
    and its decision, and what changed."""
    sarif = json.loads((out / "gates.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(sarif)
    results = {
        f"{r['ruleId']} {r['locations'][0]['logicalLocations'][0]['fullyQualifiedName']}": r
        for run in sarif["runs"]
        for r in run["results"]
    }
    introduced = results["PYSEC-2023-74 pkg:pypi/requests@2.30.0"]
    assert (introduced["level"], introduced["properties"]["tags"]) == ("error", ["introduced"])
    disclosed = results[f"{LATER_ADVISORY} pkg:pypi/jinja2@2.11.2"]
    # high, but `disclosed: warn` decides: a warning, as in the verdict
    assert (disclosed["level"], disclosed["properties"]["tags"]) == ("warning", ["disclosed"])
    assert disclosed["properties"]["severity"] == "high" and disclosed["properties"]["decides"] == "warn"
    summary = sarif["properties"]["delta"]["summary"]
    assert summary.startswith(
        "since v1.0.0: components 1 added, 0 removed, 2 changed (1 upgraded, 1 downgraded"
    )
    assert "2 advisories introduced by this change" in summary and "1 disclosed since v1.0.0" in summary
    assert sarif["properties"]["delta"]["vulnerabilities"] == {"introduced": 2, "disclosed": 1}

    junit = ElementTree.parse(out / "junit.xml").getroot()
    [suite] = junit.findall("testsuite")
    assert suite.find("properties/property[@name='gates.delta']").get("value") == summary  # type: ignore[union-attr]
    assert suite.find("system-out").text == f"What changed {summary}"  # type: ignore[union-attr]
    failure = suite.find("testcase[@name='vulnerabilities']/failure").text  # type: ignore[union-attr]
    assert "PYSEC-2023-74 pkg:pypi/requests@2.30.0" in failure and "since v1.0.0] (introduced)" in failure
    assert "(disclosed: warn) (disclosed) (decides: warn)" in failure

    for fmt in ("gitlab-sast", "codequality"):
        assert run_cli("report", out / "verdict.json", "--format", fmt, "-o", tmp_path / fmt).code == 0
    gitlab = json.loads((tmp_path / "gitlab-sast").read_text(encoding="utf-8"))
    assert gitlab["scan"]["messages"] == [{"level": "info", "value": f"What changed {summary}"}]
    details = [v["details"]["release_delta"]["value"] for v in gitlab["vulnerabilities"] if "details" in v]
    assert sorted(details) == ["disclosed since v1.0.0"] + ["introduced since v1.0.0"] * 2
    quality = json.loads((tmp_path / "codequality").read_text(encoding="utf-8"))
    assert any("[disclosed since v1.0.0]" in issue["description"] for issue in quality)


def test_auto_finds_the_last_release_and_a_first_release_has_none(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    # No warn_on: `warn` still warns (the finding decides).
    policy = "version: 1\ngates:\n  sbom: {new_components: warn}\n"
    repo = make_repo({"requirements.txt": V1, "gates.yaml": policy})
    first = run_cli("run", repo.root, "--only", "sbom", "--since", "auto", "--format", "md")
    assert first.code == 0, first.err
    assert "no earlier release" in first.err
    # A first release: nothing to compare with, said in the verdict and the report, nothing judged.
    said = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))["delta"]
    assert said["since"] is None and said["components"] is None
    assert said["reason"] == "no earlier release: no annotated tag before HEAD carries a gates verdict note"
    report = (repo.root / ".gates" / "report.md").read_text(encoding="utf-8")
    assert (
        "### What changed since the last release\n\n- Nothing to compare with: no earlier release" in report
    )
    assert (
        run_cli("release", repo.root / ".gates" / "verdict.json", "--repo", repo.root, "--tag", "v1.0.0").code
        == 0
    )
    repo.git("tag", "-a", "-m", "not released with gates", "v1.0.1")  # no note: skipped
    repo.write("requirements.txt", V1 + "idna==3.6\n")
    repo.commit("one more")

    second = run_cli("run", repo.root, "--only", "sbom", "--since", "auto")

    assert second.code == 0, second.err
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["delta"]["since"] == "v1.0.0"
    assert [a["name"] for a in verdict["delta"]["components"]["added"]] == ["idna"]
    assert verdict["status"] == "warn"
    assert _gate(verdict, "sbom")["reason"] == "1 finding(s) the gate's policy makes warn"


def test_auto_in_a_shallow_clone_is_an_unknown_delta(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    """CI's default shallow checkout cannot see the last release: `auto` must not take that for a
    first release (nothing new), but for an unknown delta, which `new_components: fail` blocks."""
    policy = "version: 1\ngates:\n  sbom: {new_components: fail}\n"
    repo = make_repo({"requirements.txt": V1, "gates.yaml": policy})
    assert run_cli("run", repo.root, "--only", "sbom", "--format", "json").code == 0
    verdict = repo.root / ".gates" / "verdict.json"
    assert run_cli("release", verdict, "--repo", repo.root, "--tag", "v1.0.0").code == 0
    repo.write("requirements.txt", V2)
    repo.commit("next")
    shallow = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.root}", str(shallow))

    result = run_cli("run", shallow, "--only", "sbom", "--format", "json", "--since", "auto")

    assert result.code == 1, result.err
    delta = json.loads((shallow / ".gates" / "verdict.json").read_text(encoding="utf-8"))["delta"]
    assert delta["since"] is None and delta["reason"].startswith("--since auto: the clone is shallow")
    assert "fetch-depth: 0" in delta["reason"]
    [unknown] = _gate(json.loads((shallow / ".gates" / "verdict.json").read_text(encoding="utf-8")), "sbom")[
        "findings"
    ]
    assert unknown["rule"] == "delta-unknown" and unknown["message"].startswith(
        "what changed since the last release is unknown: --since auto: the clone is shallow"
    )
    # The whole history, tags and notes fetched (what the CI templates do): v1.0.0 is found.
    repo.git("-C", str(shallow), "fetch", "-q", "--unshallow", "--tags", "origin")
    repo.git("-C", str(shallow), "fetch", "-q", "origin", "refs/notes/gates:refs/notes/gates")
    again = run_cli("run", shallow, "--only", "sbom", "--format", "json", "--since", "auto")
    assert again.code == 1, again.err  # pyyaml is new, and the policy fails new components
    delta = json.loads((shallow / ".gates" / "verdict.json").read_text(encoding="utf-8"))["delta"]
    assert delta["since"] == "v1.0.0" and [a["name"] for a in delta["components"]["added"]] == ["pyyaml"]


def test_a_baseline_note_that_is_not_the_releases_own_is_refused(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"requirements.txt": V1, "gates.yaml": "version: 1\ngates:\n  sbom: {}\n"})
    assert run_cli("run", repo.root, "--only", "sbom").code == 0
    verdict = repo.root / ".gates" / "verdict.json"
    repo.write("README", "next\n")
    repo.commit("next")
    # A note copied onto another commit: it does not describe what that commit released.
    repo.git("tag", "-a", "-m", "forged", "v9.0.0")
    repo.git("notes", "--ref=gates", "add", "-F", str(verdict), "v9.0.0^{commit}")
    forged = run_cli("run", repo.root, "--only", "sbom", "--since", "v9.0.0")
    assert forged.code == 2
    assert "v9.0.0 (refs/notes/gates): the noted verdict is for commit" in forged.err
    missing = run_cli("run", repo.root, "--only", "sbom", "--since", "HEAD~1")
    assert missing.code == 2 and "has no gates verdict note" in missing.err
    # A policy that requires signed verdicts takes no unsigned baseline.
    signed_policy = tmp_path / "signed.yaml"
    signed_policy.write_text(
        "version: 1\ngates:\n  sbom: {}\nrelease: {require_signature: true}\n", encoding="utf-8"
    )
    unsigned = run_cli("run", repo.root, "--only", "sbom", "--policy", signed_policy, "--since", str(verdict))
    assert unsigned.code == 2 and "not signed, and the policy requires it" in unsigned.err


def test_a_baseline_without_an_inventory_is_an_unknown_delta_that_blocks_where_the_policy_would(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    """A release verdict from before the inventory was recorded (or one whose inventory is not
    readable): which components are new cannot be said, so `new_components: fail` must not pass by
    seeing no new component; it fails on `delta-unknown`, warn warns, ignore lets it be."""
    repo = make_repo(
        {"requirements.txt": V1, "gates.yaml": "version: 1\ngates:\n  sbom: {}\n  licence: {}\n"}
    )
    assert run_cli("run", repo.root, "--only", "sbom", "--only", "licence", "--format", "json").code == 0
    baseline = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    for gate in baseline["gates"]:
        del gate["stats"]["inventory"]  # as an older gates wrote it
    old = tmp_path / "old.json"
    old.write_text(json.dumps(baseline), encoding="utf-8")
    baseline["gates"][0]["stats"]["inventory"] = [{"name": 7}]  # hand-edited: not an inventory
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(baseline), encoding="utf-8")
    repo.write("requirements.txt", V2)
    repo.commit("next")

    def judged(since: Path, sbom: str, licence: str = "{}") -> tuple[int, dict[str, Any]]:
        policy = tmp_path / "policy.yaml"
        policy.write_text(f"version: 1\ngates:\n  sbom: {sbom}\n  licence: {licence}\n", encoding="utf-8")
        result = run_cli(
            "run", repo.root, "--only", "sbom", "--only", "licence", "--policy", policy, "--format", "md",
            "--since", since,
        )  # fmt: skip
        assert result.code in (0, 1), result.err
        return result.code, json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))

    code, verdict = judged(old, "{new_components: fail}")
    assert code == 1
    sbom = _gate(verdict, "sbom")
    assert sbom["status"] == "fail" and "1 finding(s) the gate's policy makes fail" in sbom["reason"]
    [unknown] = sbom["findings"]
    assert unknown["rule"] == "delta-unknown" and unknown["counted"]
    assert unknown["message"] == (
        f"what changed since {old} is unknown: {old}'s verdict records no SBOM inventory (no sbom gate in "
        "it); which components are new or downgraded cannot be said (new_components: fail)"
    )
    assert (
        verdict["delta"]["components"] is None and "records no SBOM inventory" in verdict["delta"]["reason"]
    )
    # category_changes: ignore (the default): the licence gate judges no delta
    assert not [f for f in _gate(verdict, "licence")["findings"] if f["rule"] == "delta-unknown"]
    report = (repo.root / ".gates" / "report.md").read_text(encoding="utf-8")
    assert "- Components: unknown (" in report

    # The strictest delta key decides: downgrades fail although new_components only warns.
    code, verdict = judged(tampered, "{new_components: warn, downgrades: fail}")
    assert code == 1 and _gate(verdict, "sbom")["findings"][0]["message"].endswith("(downgrades: fail)")
    code, verdict = judged(old, "{new_components: warn}", "{category_changes: fail}")
    assert code == 1
    assert (_gate(verdict, "sbom")["status"], _gate(verdict, "licence")["status"]) == ("warn", "fail")
    assert "(category_changes: fail)" in _by_rule(_gate(verdict, "licence"))["delta-unknown None"]["message"]
    code, verdict = judged(old, "{}")
    assert code == 0 and _gate(verdict, "sbom")["status"] == "pass"
    assert not [f for g in verdict["gates"] for f in g["findings"] if f["rule"] == "delta-unknown"]


BOMS = OSV_SHARED_SAMPLE.parent / "boms"


@pytest.mark.skipif(not BOMS.is_dir(), reason="../shared/data/boms is absent (real SBOMs)")
def test_a_licence_that_turns_copyleft_since_the_release_is_its_own_decision(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = """\
        version: 1
        defaults: {fail_on: high, warn_on: medium}
        gates:
          sbom: {sbom: {file: bom.json}}
          licence: {sbom: {file: bom.json}, category_changes: fail}
    """
    real = (BOMS / "cern-lhc-vdm-editor.cdx.json").read_text(encoding="utf-8")
    repo = make_repo({"bom.json": real, "gates.yaml": policy})
    assert run_cli("run", repo.root, "--format", "json").code == 0
    shutil.copy(repo.root / ".gates" / "verdict.json", tmp_path / "v1.json")
    document = json.loads(real)
    for component in document["components"]:
        if component["name"] in ("mime", "ws"):  # MIT -> GPL-3.0-only; MIT -> Apache-2.0
            licence = "GPL-3.0-only" if component["name"] == "mime" else "Apache-2.0"
            component["licenses"] = [{"license": {"id": licence}}]
    repo.write("bom.json", json.dumps(document))
    repo.commit("relicensed")

    result = run_cli("run", repo.root, "--format", "json", "--since", tmp_path / "v1.json")

    assert result.code == 1, result.out + result.err
    verdict = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))
    licence = _gate(verdict, "licence")
    assert [(f["rule"], f["location"]["logical"], f["severity"]) for f in licence["findings"]] == [
        ("licence-category-changed", "pkg:npm/mime@2.4.4", "high")
    ]  # ws stays Permissive: a licence change, not a new decision
    assert licence["findings"][0]["properties"]["categories_to"] == ["Copyleft"]
    assert licence["stats"]["delta"] == {
        "since": str(tmp_path / "v1.json"),
        "licence_changed": 2,
        "category_changed": 1,
    }


def test_a_signed_release_note_is_a_baseline_the_signing_policy_accepts(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATES_SIGNING_KEY", "ci-shared-secret-of-the-tests")  # pragma: allowlist secret
    policy = "version: 1\ngates:\n  sbom: {}\nrelease: {require_signature: true}\n"
    repo = make_repo({"requirements.txt": V1, "gates.yaml": policy})
    assert run_cli("run", repo.root, "--only", "sbom", "--format", "json").code == 0
    signed = repo.root / ".gates" / "verdict.dsse.json"
    assert run_cli("sign", repo.root / ".gates" / "verdict.json", "-o", signed).code == 0
    assert run_cli("release", signed, "--repo", repo.root, "--tag", "v1.0.0").code == 0
    repo.write("requirements.txt", V2)
    repo.commit("next")

    result = run_cli("run", repo.root, "--only", "sbom", "--format", "json", "--since", "v1.0.0")

    assert result.code == 0, result.err
    delta = json.loads((repo.root / ".gates" / "verdict.json").read_text(encoding="utf-8"))["delta"]
    assert delta["signed_by"] is not None and delta["signed_by"].startswith("hmac-sha256:")
    assert [a["name"] for a in delta["components"]["added"]] == ["pyyaml"]
    monkeypatch.setenv("GATES_SIGNING_KEY", "another-secret-entirely-here")  # pragma: allowlist secret
    forged = run_cli("run", repo.root, "--only", "sbom", "--format", "json", "--since", "v1.0.0")
    assert forged.code == 2 and "signature does not verify" in forged.err
