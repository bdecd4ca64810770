"""What `gates sbom diff` and `gates sbom notices` print from an SBOM a contributor wrote: a URL's
credentials are redacted and a terminal's escapes shown escaped, as in every report of a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
