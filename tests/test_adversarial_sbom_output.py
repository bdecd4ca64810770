"""What `gates sbom diff` and `gates sbom notices` print from an SBOM a contributor wrote: a URL's
credentials are redacted and a terminal's escapes shown escaped, as in every report of a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gates.report.registry import load_formats
from tests.conftest import CliResult


def _bom(path: Path, version: str, name: str) -> Path:
    component = {
        "type": "library",
        "name": name,
        "version": version,
        "licenses": [{"license": {"id": "MIT"}}],
    }
    document = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [component]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_sbom_diff_and_notices_show_no_credentials_or_terminal_escapes(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    # pragma: allowlist nextline secret
    name = "bar https://admin:s3cretPassw0rd@mirror.example.com/\x1b[31mred\u202eevil"
    old = _bom(tmp_path / "old.json", "1.0", name)
    new = _bom(tmp_path / "new.json", "2.0", name)
    outputs = [run_cli("sbom", "diff", old, new, "--format", fmt) for fmt in ("json", "md")] + [
        run_cli("sbom", "notices", new)
    ]
    for result in outputs:
        assert result.code == 0, result.err
        assert "s3cretPassw0rd" not in result.out and "mirror.example.com" in result.out
        assert "\x1b" not in result.out and "\u202e" not in result.out


def test_tokens_in_sbom_fields_are_masked_in_every_output(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    # Credentials no URL or quote marks, in a licence name and a component's name and copyright.
    # pragma: allowlist nextline secret
    token, aws, password = "ghp_" + "Z1" * 18, "AKIA" + "QWERTYUIOPASDFGH", "Hunter2Hunter2"
    bom = _bom(tmp_path / "bom.json", "1.0", f"lib password={password}")
    document = json.loads(bom.read_text(encoding="utf-8"))
    document["components"][0]["licenses"] = [{"license": {"name": f"GPL-3.0 token={token}"}}]
    document["components"][0]["copyright"] = f"(c) Acme, deploy key {aws}"
    bom.write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "gates.yaml").write_text(
        "version: 1\ngates:\n  sbom: {sbom: &sbom {file: bom.json}}\n  licence: {sbom: *sbom}\n",
        encoding="utf-8",
    )
    formats = [arg for name in load_formats().names() for arg in ("--format", name)]
    out = tmp_path / "out"
    run = run_cli(
        "run", tmp_path, "--only", "sbom", "--only", "licence", "--out", out, "--no-cache", *formats
    )
    assert run.code in (0, 1), run.err
    # Every output but the released SBOM itself (sbom.cdx.json), which is the repository's as given.
    written = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith("sbom.cdx.")]
    outputs = [run.out, run.err] + [p.read_text(encoding="utf-8") for p in written]
    outputs += [run_cli("sbom", "notices", bom).out, run_cli("sbom", "diff", bom, bom, "--format", "md").out]
    assert any("GPL-3.0 token=" in text for text in outputs)  # the licence name is shown, masked
    for text in outputs:
        for secret in (token, aws, password):
            assert secret not in text
