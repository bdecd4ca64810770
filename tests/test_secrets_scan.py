"""gates.secrets.scan finds exactly what detect-secrets' own scan_file finds, line for line, on files
nobody here wrote (installed packages' sources, tests and data) and on edge cases, under each
configuration the secrets gate uses.

The secrets are assembled at run time so that this file itself holds none.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from detect_secrets.core.scan import scan_file as detect_secrets_scan_file
from detect_secrets.settings import get_plugins

from gates.plugins.secrets import _detect_secrets, _plugins
from gates.secrets.scan import line_test, scan_file

# About 1 MB of real source, tests and data with dozens of detect-secrets results between them.
PACKAGES = ("detect_secrets", "bandit", "pre_commit", "requests")
SUFFIXES = (".py", ".json", ".yaml", ".yml", ".cfg", ".ini", ".toml", ".txt", ".md", ".pem")

AWS_KEY = "AKIA" + "J3QXWZ7VB2NPLKQA"
ENTROPY = "q8Hf3ZrT0pLx9WmVb2Kc" + "N7sYd4GjE1aUoR6tIwQe"
HEX = "9f86d081884c7d659a2f" + "eaa0c55ad015a3bf4f1b"  # pragma: allowlist secret
EDGE_CASES = {
    "settings.py": (
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
        'db = "postgres://admin:' + "s3cr3tP4ss" + '@db.internal/app"\n'
        f'token = "{ENTROPY}"   \n'  # trailing blanks: detect-secrets strips them
        f"digest = '{HEX}'\n"
        "low = 'aaaaaaaaaaaaaaaaaaaaaaaa'\n"  # quoted, but no entropy
        "# pragma: allowlist nextline secret\n"
        f'hidden = "{ENTROPY}"\n'
        'pa\u017f\u017fword = "' + "hunter2hunter2" + '"\n'  # long s: the keyword regex ignores case
        'PASSWORD = "' + "Tr0ub4dor3xyz" + '"\n'
        'my_api_key_value = "' + "abcdefgh1234" + '"\n'
    ),
    "deploy/values.yaml": (
        "service:\n  password: " + "n0tSoS3cret" + f"\n  blob: |\n    {ENTROPY}\n  api_key: >-\n    {HEX}\n"
    ),
    "config.ini": f"[aws]\naws_secret_access_key = {ENTROPY}\nkey_pass = {HEX}\n",
    "key.pem": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow\n-----END " + "RSA PRIVATE KEY-----\n",
    "empty.txt": "",
    "no_newline.js": f'const secret = "{ENTROPY}"',
}


def _results(scan: object, files: list[str]) -> list[tuple[str, int, str, str, bool]]:
    return [
        (s.filename, s.line_number, s.type, s.secret_hash, s.is_verified)
        for f in files
        for s in scan(f)  # type: ignore[operator]
    ]


def _installed_files(packages: tuple[str, ...]) -> Iterator[str]:
    for package in packages:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None, f"{package} is a dependency of the test extras"
        for path in sorted(Path(spec.origin).parent.rglob("*")):
            if path.suffix in SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                yield str(path)


@pytest.mark.parametrize(
    ("packages", "disable", "allow_inline", "at_least"),
    [
        (PACKAGES, (), True, 50),
        (PACKAGES[:1], (), False, 40),
        (PACKAGES[:1], ("KeywordDetector", "Base64HighEntropyString"), True, 10),
    ],
)
def test_same_secrets_as_detect_secrets_on_installed_packages(
    packages: tuple[str, ...], disable: tuple[str, ...], allow_inline: bool, at_least: int
) -> None:
    files = list(_installed_files(packages))
    with _detect_secrets(disable, allow_inline):
        assert not line_test(get_plugins()).every_line  # the pre-filter is what is tested
        ours = _results(scan_file, files)
        theirs = _results(detect_secrets_scan_file, files)
    assert ours == theirs
    assert len(theirs) >= at_least
    assert len({r[2] for r in theirs}) >= 2


def test_same_secrets_as_detect_secrets_on_edge_cases(tmp_path: Path) -> None:
    files = []
    for name, text in EDGE_CASES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    for allow_inline in (True, False):
        with _detect_secrets((), allow_inline):
            ours = _results(scan_file, files)
            theirs = _results(detect_secrets_scan_file, files)
        assert ours == theirs
        assert {Path(r[0]).name for r in theirs} >= {"settings.py", "values.yaml", "config.ini", "key.pem"}


def test_a_plugin_of_unknown_shape_makes_every_line_a_candidate() -> None:
    class Custom:
        def analyze_line(self, **kwargs: object) -> set[object]:
            return set()

    with _detect_secrets((), True):
        plugins = [*get_plugins(), Custom()]
    assert line_test(plugins).every_line  # type: ignore[arg-type]
    assert _plugins(())  # every known plugin runs by default
