"""The secrets gate on the real detect-secrets, in real git repositories.

The secrets are assembled at run time so that this file itself holds none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.plugins.interface import CollectContext, Collected
from gates.report.registry import load_formats
from gates.verdict import validate
from tests.conftest import CliResult, Repo

AWS_KEY = "AKIA" + "J3QXWZ7VB2NPLKQA"
BASIC_AUTH_PASSWORD = "s3cr3t" + "P4ssw0rd"  # pragma: allowlist secret
ENTROPY = "q8Hf3ZrT0pLx9WmVb2Kc" + "N7sYd4GjE1aUoR6tIwQe"
PRIVATE_KEY_BODY = "MIIEowIBAAKCAQEAz7c1" + "q9Xb0FQw2VJr8kqZ3YbT"  # pragma: allowlist secret
RAW = (AWS_KEY, BASIC_AUTH_PASSWORD, ENTROPY, PRIVATE_KEY_BODY)

FILES = {
    "app/settings.py": (
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
        f'DATABASE_URL = "postgres://admin:{BASIC_AUTH_PASSWORD}@db.internal:5432/app"\n'
    ),
    "deploy/id_rsa": (
        "-----BEGIN " + "RSA PRIVATE KEY-----\n" + PRIVATE_KEY_BODY + "\n-----END " + "RSA PRIVATE KEY-----\n"
    ),
    "data/blob.py": f'blob = "{ENTROPY}"\n',
    "README.md": "Nothing to see here.\n",
    "logo.png": "\0PNG binary\0",
}
POLICY = "version: 1\ngates:\n  secrets: {fail_on: high}\n"


def verdict_of(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / ".gates" / "verdict.json").read_text())
    validate(data, "test")
    return data


def secrets_gate(root: Path) -> dict[str, Any]:
    return next(g for g in verdict_of(root)["gates"] if g["name"] == "secrets")


def test_finds_each_kind_of_secret_and_never_writes_one_anywhere(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo({**FILES, "gates.yaml": POLICY})
    every_format = [arg for name in load_formats().names() for arg in ("--format", name)]
    proc = subprocess.run(
        [sys.executable, "-m", "gates", "run", str(repo.root), *every_format],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert proc.returncode == 1, proc.stderr
    gate = secrets_gate(repo.root)
    found = {(f["rule"], f["location"]["path"], f["location"]["line"]) for f in gate["findings"]}
    assert {
        ("aws-access-key", "app/settings.py", 1),
        ("basic-auth-credentials", "app/settings.py", 2),
        ("private-key", "deploy/id_rsa", 1),
        ("base64-high-entropy-string", "data/blob.py", 1),
    } <= found
    aws = next(f for f in gate["findings"] if f["rule"] == "aws-access-key")
    assert aws["severity"] == "high" and aws["aliases"] == ["AWSKeyDetector"]
    assert aws["message"].startswith("AWS Access Key A*") and aws["properties"]["preview"].endswith("QA")
    assert gate["stats"]["skipped"] == {"binary": 1}
    outputs = [proc.stdout, proc.stderr] + [
        p.read_text(encoding="utf-8", errors="replace")
        for folder in (repo.root / ".gates", Path(os.environ["GATES_CACHE_DIR"]))
        for p in folder.rglob("*")
        if p.is_file()
    ]
    # every format, findings, cache entry, stdout, stderr
    assert len(outputs) >= len(load_formats().formats) + 4
    for raw in RAW:
        assert not any(raw in text for text in outputs), raw


def test_allowlist_pragma_counts_only_while_the_policy_allows_inline_suppressions(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    line = f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"  # pragma: allowlist secret\n'
    repo = make_repo({"settings.py": line, "gates.yaml": POLICY})
    assert run_cli("run", repo.root).code == 0
    assert secrets_gate(repo.root)["findings"] == []
    repo.write("gates.yaml", "version: 1\ngovernance: {inline_suppressions: false}\n" + POLICY[11:])
    assert run_cli("run", repo.root).code == 1
    assert [f["rule"] for f in secrets_gate(repo.root)["findings"]] == ["aws-access-key"]


def test_baseline_hides_known_secrets_but_not_new_or_confirmed_ones(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app/settings.py": FILES["app/settings.py"]})
    baseline = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "app/settings.py"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    repo.write(".secrets.baseline", baseline)
    repo.write("gates.yaml", "version: 1\ngates:\n  secrets: {baseline: .secrets.baseline}\n")
    assert run_cli("run", repo.root).code == 0
    gate = secrets_gate(repo.root)
    assert gate["findings"] == [] and gate["stats"]["baseline_known"] == 2
    # A new secret in the same file is reported; the known ones stay hidden.
    repo.write("app/settings.py", FILES["app/settings.py"] + FILES["data/blob.py"])
    assert run_cli("run", repo.root).code == 0  # high entropy strings are medium: below fail_on high
    assert [f["rule"] for f in secrets_gate(repo.root)["findings"]] == ["base64-high-entropy-string"]
    # An audit that confirmed a secret as real does not hide it: it must be removed and rotated.
    data = json.loads(baseline)
    for entry in data["results"]["app/settings.py"]:
        entry["is_secret"] = entry["type"] == "AWS Access Key"
    repo.write(".secrets.baseline", json.dumps(data))
    assert run_cli("run", repo.root).code == 1
    assert {f["rule"] for f in secrets_gate(repo.root)["findings"]} == {
        "aws-access-key",
        "base64-high-entropy-string",
    }
    # The baseline is the repository's, as inline markers are: where the policy lets none of the
    # repository's own suppressions count, a contributor's entry for their new key hides nothing.
    repo.write(".secrets.baseline", baseline)
    repo.write("app/settings.py", FILES["app/settings.py"])
    governed = "version: 1\ngovernance: {inline_suppressions: false}\n"
    repo.write("gates.yaml", governed + "gates:\n  secrets: {baseline: .secrets.baseline}\n")
    assert run_cli("run", repo.root).code == 1
    assert "aws-access-key" in {f["rule"] for f in secrets_gate(repo.root)["findings"]}


def test_corrupt_baseline_is_invalid_input_with_its_line(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"a.py": "x = 1\n"})
    repo.write(
        ".secrets.baseline",
        '{\n  "results": {\n    "a.py": [{"type": "X", '
        '"hashed_secret": "nothex"}]\n  }\n}\n',  # pragma: allowlist secret
    )
    repo.write("gates.yaml", "version: 1\ngates:\n  secrets: {baseline: .secrets.baseline}\n")
    result = run_cli("run", repo.root)
    assert result.code == 2
    assert ".secrets.baseline:3: not a detect-secrets baseline: results.a.py[0].hashed_secret" in result.err


def test_severity_by_rule_and_disabled_detectors(
    make_repo: Callable[..., Repo], run_cli: Callable[..., CliResult]
) -> None:
    repo = make_repo({"app/settings.py": FILES["app/settings.py"]})
    repo.write(
        "gates.yaml",
        "version: 1\ngates:\n  secrets:\n    disable: [AWSKeyDetector]\n"
        "    severity: {basic-auth-credentials: critical}\n",
    )
    assert run_cli("run", repo.root).code == 1
    findings = secrets_gate(repo.root)["findings"]
    assert [(f["rule"], f["severity"]) for f in findings] == [("basic-auth-credentials", "critical")]
    repo.write("gates.yaml", "version: 1\ngates:\n  secrets: {disable: [NoSuchDetector]}\n")
    result = run_cli("run", repo.root)
    assert result.code == 2 and "unknown detect-secrets plugin NoSuchDetector" in result.err


def test_worker_processes_find_what_one_process_finds(
    make_repo: Callable[..., Repo], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gates.plugins import secrets

    repo = make_repo({**FILES, **{f"more/conf{i}.py": FILES["app/settings.py"] for i in range(4)}})

    def collect(jobs: int) -> Collected:
        ctx = CollectContext(
            root=repo.root,
            settings={"max_file_bytes": 2_000_000, "jobs": jobs},
            out_dir=repo.root / ".gates",
            deadline=time.monotonic() + 300,
        )
        return secrets.SecretsGate().collect(ctx)

    one = collect(1)
    monkeypatch.setattr(secrets, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(secrets, "CHUNK_BYTES", 1)
    two = collect(2)
    assert len(one.findings) >= 12
    assert two.findings == one.findings
    assert two.stats == one.stats
