"""The sarif gate and gate instances (`uses:`): any SARIF scanner under the one policy and verdict.

The scanner tests run the real semgrep with a local rules file (no network); .ci/run installs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, Repo

SEMGREP_RULES = """\
rules:
  - id: no-eval
    pattern: eval(...)
    message: eval runs arbitrary code
    languages: [javascript]
    severity: ERROR
    metadata:
      cwe: ["CWE-95: Eval Injection"]
"""
APP_JS = "function f(userInput) {\n  return eval(userInput);\n}\n"
SEMGREP_RUN = (
    '[semgrep, --config, rules.yml, --sarif, --metrics=off, --disable-version-check, -o, "{sarif}", .]'
)
WAIVER = """\
waivers:
  - gate: semgrep
    rule: no-eval
    reason: the input is our own configuration
    owner: web-team
    expires: "2099-01-01"
"""


def _semgrep() -> None:
    if shutil.which("semgrep") is None:
        message = "needs semgrep on PATH (.ci/run installs it in a virtualenv of its own)"
        pytest.skip(message)


def _sarif(results: list[dict[str, object]], **run: object) -> str:
    rules = [{"id": "R1", "helpUri": "https://example.org/R1", "properties": {"tags": ["CWE-798"]}}]
    return json.dumps(
        {
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "scanner", "rules": rules}}, "results": results, **run}],
        }
    )


def _result(path: str, message: str, **extra: object) -> dict[str, object]:
    return {
        "ruleId": "R1",
        "level": "error",
        "message": {"text": message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": 3}}}],
        **extra,
    }


def _gates(out: Path) -> dict[str, dict[str, object]]:
    return {g["name"]: g for g in json.loads((out / "verdict.json").read_text())["gates"]}


def test_semgrep_finding_fails_and_a_waiver_by_rule_passes(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    _semgrep()
    policy = f"version: 1\ngates:\n  semgrep:\n    uses: sarif\n    run: {SEMGREP_RUN}\n    fail_on: high\n"
    repo = make_repo({"gates.yaml": policy, "rules.yml": SEMGREP_RULES, "web/app.js": APP_JS})
    out = repo.root / "out"
    failed = run_cli("run", repo.root, "--out", out)
    assert failed.code == 1, failed.err
    gate = _gates(out)["semgrep"]
    assert gate["status"] == "fail"
    (finding,) = gate["findings"]
    assert finding["rule"] == "no-eval" and "CWE-95" in finding["aliases"]
    assert finding["location"]["path"] == "web/app.js" and finding["location"]["line"] == 2
    assert finding["severity"] == "high"

    repo.write("gates.yaml", policy + WAIVER)
    repo.commit("waive")
    passed = run_cli("run", repo.root, "--out", out)
    assert passed.code == 0, passed.err
    assert _gates(out)["semgrep"]["status"] == "pass"


def test_a_broken_rules_file_is_an_error(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    _semgrep()
    policy = f"version: 1\ngates:\n  semgrep:\n    uses: sarif\n    run: {SEMGREP_RUN}\n"
    repo = make_repo(
        {"gates.yaml": policy, "rules.yml": "rules:\n  - id: x\n    pattern: (\n", "a.js": APP_JS}
    )
    out = repo.root / "out"
    result = run_cli("run", repo.root, "--out", out)
    assert result.code == 3, result.out + result.err
    assert _gates(out)["semgrep"]["status"] == "error"


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ('[sh, -c, "exit 4", "{sarif}"]', "exited with 4"),
        ('[sh, -c, "true", "{sarif}"]', "wrote no SARIF report"),
        ('[sh, -c, "echo [] > $0", "{sarif}"]', "not valid SARIF"),
        ('[no-such-scanner-here, "{sarif}"]', "not found"),
        ('[sh, -c, "sleep 30", "{sarif}"]', "timed out"),
    ],
)
def test_a_scanner_that_fails_is_an_error(
    command: str, why: str, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = f"version: 1\ngates:\n  scan:\n    uses: sarif\n    run: {command}\n    timeout_s: 2\n"
    repo = make_repo({"gates.yaml": policy})
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 3
    gate = _gates(out)["scan"]
    assert gate["status"] == "error" and why in str(gate["reason"]), gate["reason"]


def test_ok_exit_codes_accept_a_scanner_that_exits_non_zero_on_findings(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    report = _sarif([_result("a.py", "found it")])
    policy = (
        "version: 1\ngates:\n  scan:\n    uses: sarif\n"
        "    run: [sh, -c, 'cat report.json > \"$0\"; exit 1', '{sarif}']\n    ok_exit_codes: [0, 1]\n"
    )
    repo = make_repo({"gates.yaml": policy, "report.json": report})
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 1
    gate = _gates(out)["scan"]
    assert gate["status"] == "fail" and len(gate["findings"]) == 1


def test_an_incomplete_run_is_an_error(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    failed_run = {
        "invocations": [
            {
                "executionSuccessful": False,
                "toolExecutionNotifications": [{"message": {"text": "parser crashed on b.py"}}],
            }
        ]
    }
    policy = "version: 1\ngates:\n  scan: {uses: sarif, file: scan.sarif}\n"
    repo = make_repo({"gates.yaml": policy})
    repo.write("scan.sarif", _sarif([], **failed_run))  # written by CI: untracked
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 3
    assert "parser crashed on b.py" in str(_gates(out)["scan"]["reason"])


def test_two_instances_of_one_plugin_keep_their_own_findings_settings_and_waivers(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = """\
version: 1
gates:
  first: {uses: sarif, file: one.sarif, fail_on: high}
  second: {uses: sarif, file: two.sarif, fail_on: critical, exclude: ["vendor/**"]}
waivers:
  - {gate: second, rule: CWE-798, reason: test keys, owner: qa, expires: "2099-01-01"}
"""
    repo = make_repo({"gates.yaml": policy})
    repo.write("one.sarif", _sarif([_result("src/a.py", "one")]))
    repo.write("two.sarif", _sarif([_result("src/b.py", "two"), _result("vendor/c.py", "three")]))
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 1
    gates = _gates(out)
    assert gates["first"]["status"] == "fail"
    # the rule's helpUri is the typed Finding.help_uri, recorded where verdicts record it (more_info)
    assert gates["first"]["findings"][0]["properties"]["more_info"] == "https://example.org/R1"
    sarif_rules = json.loads((out / "gates.sarif").read_text())["runs"][0]["tool"]["driver"]["rules"]
    assert "https://example.org/R1" in {r.get("helpUri") for r in sarif_rules}
    assert [f["location"]["path"] for f in gates["first"]["findings"]] == ["src/a.py"]
    assert gates["second"]["status"] == "pass"
    (second,) = gates["second"]["findings"]
    assert second["location"]["path"] == "src/b.py" and second["waived"]
    collected = json.loads((out / "findings.json").read_text())
    assert {f["gate"] for c in collected["collections"] for f in c["findings"]} == {"first", "second"}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("gates:\n  scan: {uses: nosuch}\n", r"gates\.yaml:3: .*uses 'nosuch': no such gate plugin"),
        ("gates:\n  sast: {uses: sarif}\n", r"gates\.yaml:3: .*'sast' is an installed gate"),
        ("gates:\n  scan: {uses: sarif, file: x, confidence: high}\n", r"gates\.yaml:3: .*confidence"),
        ("gates:\n  scan: {uses: sarif, run: [semgrep, .]}\n", r"gates\.yaml:3: .*run"),
        (
            "gates:\n  scan: {uses: sarif, file: x}\noverrides:\n  - when: {branch: [main]}\n"
            "    gates:\n      scan: {uses: sast}\n",
            r"gates\.yaml:7: .*uses",
        ),
        ("gates:\n  scan: {file: x}\n", r"gates\.yaml:3: unknown gate 'scan'"),
        ('gates:\n  "../../x": {uses: sarif, file: x}\n', r"gates\.yaml:3: '\.\./\.\./x': an instance name"),
    ],
)
def test_instance_declarations_are_checked_at_load(
    policy: str, expected: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    path = tmp_path / "gates.yaml"
    path.write_text("version: 1\n" + policy)
    result = run_cli("policy", "validate", path)
    assert result.code == 2
    assert re.search(expected, result.err), result.err


def test_overrides_waivers_plan_and_only_name_instances(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = """\
version: 1
gates:
  scan: {uses: sarif, file: scan.sarif, fail_on: critical}
overrides:
  - when: {branch: [main]}
    gates:
      scan: {fail_on: high}
"""
    repo = make_repo({"gates.yaml": policy})
    repo.write("scan.sarif", _sarif([_result("a.py", "x")]))
    plan = run_cli("plan", repo.root, "--format", "list")
    assert plan.code == 0 and "scan" in plan.out.split()
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--only", "scan", "--out", out, "--branch", "main").code == 1
    assert run_cli("run", repo.root, "--only", "scan", "--out", out, "--branch", "dev").code == 0
    shown = run_cli("policy", "show", repo.root / "gates.yaml", "--branch", "main")
    assert "uses: sarif" in shown.out


def test_extends_inherits_instances(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    (tmp_path / "base.yaml").write_text("version: 1\ngates:\n  scan: {uses: sarif, file: a.sarif}\n")
    (tmp_path / "top.yaml").write_text("version: 1\nextends: ./base.yaml\ngates:\n  scan: {fail_on: low}\n")
    assert run_cli("policy", "validate", tmp_path / "top.yaml").code == 0
    (tmp_path / "bad.yaml").write_text("version: 1\nextends: ./base.yaml\ngates:\n  scan: {uses: dast}\n")
    bad = run_cli("policy", "validate", tmp_path / "bad.yaml")
    assert bad.code == 2 and "already uses 'sarif'" in bad.err


ESLINT_PACKAGES = ("eslint@9", "@microsoft/eslint-formatter-sarif@3")


def test_eslint_with_the_sarif_formatter(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    if shutil.which("npm") is None:
        message = "needs npm (Node.js) to install eslint"
        pytest.skip(message)
    policy = """\
version: 1
gates:
  eslint:
    uses: sarif
    run: [npx, --no-install, eslint, --format, "@microsoft/eslint-formatter-sarif",
          --output-file, "{sarif}", src/]
    ok_exit_codes: [0, 1]
    fail_on: high
"""
    repo = make_repo(
        {
            "gates.yaml": policy,
            "package.json": '{"name": "app", "version": "1.0.0", "private": true}\n',
            "eslint.config.js": 'module.exports = [{files: ["src/**/*.js"], rules: {"no-eval": "error"}}];\n',
            "src/app.js": "function f(x) {\n  return eval(x);\n}\nmodule.exports = f;\n",
            ".gitignore": "node_modules/\npackage-lock.json\n",
        }
    )
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *ESLINT_PACKAGES],
        cwd=repo.root, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 1
    (finding,) = _gates(out)["eslint"]["findings"]
    assert (finding["rule"], finding["location"]["path"], finding["location"]["line"]) == (
        "no-eval",
        "src/app.js",
        2,
    )


def test_baselines_and_new_only_judge_an_instance_by_its_fingerprints(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    policy = "version: 1\ngates:\n  scan: {uses: sarif, file: scan.sarif, new_only: true}\n"
    partial = {"partialFingerprints": {"primaryLocationLineHash": "abc123"}}
    repo = make_repo({"gates.yaml": policy})
    repo.write("scan.sarif", _sarif([_result("a.py", "old", **partial)]))
    baseline = repo.root / "baseline"
    assert run_cli("run", repo.root, "--out", baseline).code == 1  # no baseline: every finding is new
    # The same result moved to another line keeps its fingerprint; a new result does not.
    moved = _result("a.py", "old", **partial)
    moved["locations"][0]["physicalLocation"]["region"]["startLine"] = 40  # type: ignore[index]
    repo.write("scan.sarif", _sarif([moved]))
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out, "--baseline", baseline / "verdict.json").code == 0
    repo.write("scan.sarif", _sarif([moved, _result("b.py", "new")]))
    assert run_cli("run", repo.root, "--out", out, "--baseline", baseline / "verdict.json").code == 1
    assert [f["location"]["path"] for f in _gates(out)["scan"]["findings"] if f["new"]] == ["b.py"]


def test_a_report_the_repository_supplies_cannot_judge_it(
    tmp_path: Path, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    clean = _sarif([])
    policy = "version: 1\ngates:\n  scan: {uses: sarif, file: reports/scan.sarif}\n"
    committed = make_repo({"gates.yaml": policy, "reports/scan.sarif": clean})
    out = tmp_path / "out"
    assert run_cli("run", committed.root, "--out", out).code == 3
    assert "the report is committed" in str(_gates(out)["scan"]["reason"])
    linked = make_repo({"gates.yaml": policy})
    (linked.root / "reports").mkdir()
    (linked.root / "reports" / "scan.sarif").symlink_to("/dev/zero")
    assert run_cli("run", linked.root, "--out", out).code == 3
    assert "not a regular file" in str(_gates(out)["scan"]["reason"])
    outside = tmp_path / "ci" / "scan.sarif"  # written by an earlier CI step, handed over on the command line
    outside.parent.mkdir()
    outside.write_text(_sarif([_result("a.py", "x")]))
    assert run_cli("run", linked.root, "--out", out, "--input", f"scan.file={outside}").code == 1


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"version": "2.1.0", "runs": []}, "no run"),
        (json.loads(_sarif([]).replace('"results": []', '"results": null')), "has no results"),
        (json.loads(_sarif([], invocations=[{"executionSuccessful": "false"}])), "did not complete"),
    ],
)
def test_empty_or_unfinished_runs_are_errors(
    document: dict[str, object], why: str, make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"gates.yaml": "version: 1\ngates:\n  scan: {uses: sarif, file: scan.sarif}\n"})
    repo.write("scan.sarif", json.dumps(document))
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 3
    assert why in str(_gates(out)["scan"]["reason"]), _gates(out)["scan"]["reason"]


SCAN = "gates:\n  scan: {uses: sarif, file: scan.sarif}\n"


def test_inline_suppressions_hide_results_only_where_the_policy_honours_them(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    disabled = _result("a.py", "x", suppressions=[{"kind": "inSource"}])
    repo = make_repo({"gates.yaml": "version: 1\n" + SCAN})
    repo.write("scan.sarif", _sarif([disabled]))
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 0
    repo.write("gates.yaml", "version: 1\ngovernance:\n  inline_suppressions: false\n" + SCAN)
    assert run_cli("run", repo.root, "--out", out).code == 1


def test_one_partial_fingerprint_in_two_files_is_two_findings(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    partial = {"partialFingerprints": {"primaryLocationLineHash": "same"}}
    repo = make_repo({"gates.yaml": "version: 1\ngates:\n  scan: {uses: sarif, file: scan.sarif}\n"})
    repo.write(
        "scan.sarif", _sarif([_result("tests/x.py", "m", **partial), _result("src/x.py", "m", **partial)])
    )
    out = repo.root / "out"
    run_cli("run", repo.root, "--out", out)
    assert len({f["fingerprint"] for f in _gates(out)["scan"]["findings"]}) == 2


def test_a_scanner_message_or_location_quoting_a_secret_is_masked(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    secret = "hunter2hunter2hunter2"  # pragma: allowlist secret
    message = f"Hard-coded password '{secret}' in http://admin:{secret}@db.internal/x"
    at_url = _result("a.py", "token in a URL")
    at_url["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": f"https://admin:{secret}@app.internal/?api_key={secret}"}
            }
        }
    ]
    repo = make_repo({"gates.yaml": "version: 1\n" + SCAN})
    repo.write("scan.sarif", _sarif([_result("a.py", message), at_url]))
    out = repo.root / "out"
    assert run_cli("run", repo.root, "--out", out).code == 1
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 5
    for path in written:
        assert secret not in path.read_text(errors="replace"), path
