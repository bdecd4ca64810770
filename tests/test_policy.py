"""Policy-as-code: validation with file:line messages, extends, overrides and waivers."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from gates.errors import InputError
from gates.plugins.registry import load_registry
from gates.policy.loader import load_policy, shipped_policy_names
from gates.policy.model import PolicyContext


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(path: Path | None, branch: str | None = None, environment: str | None = None):  # type: ignore[no-untyped-def]
    return load_policy(path, load_registry(), PolicyContext(branch, environment))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "version: 1\ngates:\n  sast:\n    fail_on: severe\n",
            ":4: gates.sast.fail_on: 'severe' is not one of",
        ),
        ("version: 1\ngates:\n  nosuchgate: {}\n", ":3: unknown gate 'nosuchgate'"),
        (
            "version: 1\ngates:\n  sast:\n    colour: red\n",
            ":4: gates.sast: Additional properties are not allowed ('colour' was unexpected)",
        ),
        ("version: 1\ngates:\n  sast: {}\n  sast: {}\n", ":4: duplicate key 'sast' (first given on line 3)"),
        ("version: 1\ngates: [\n", ": invalid YAML"),
        ("version: 2\n", ":1: version: 1 was expected"),
        ("- a list\n", ":1: a policy must be a mapping"),
        (
            "version: 1\nwaivers:\n  - gate: sast\n    rule: B101\n    reason: r\n    owner: o\n"
            "    expires: 2027-02-30\n",
            ":7: not a calendar date: 2027-02-30",
        ),
        (
            "version: 1\nwaivers:\n  - gate: sast\n    rule: B101\n    owner: o\n    expires: 2027-01-01\n",
            ":3: waivers[0]: 'reason' is a required property",
        ),
        ("version: 1\nextends: nosuch\n", ":2: unknown policy 'nosuch'"),
        ("version: 1\ndefaults:\n  confidence: high\n", ":3: defaults: Additional properties"),
    ],
)
def test_malformed_policy_names_file_line_and_problem(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "gates.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_non_utf8_and_binary_policies_are_input_errors(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"version: 1\nname: caf\xe9\n")
    with pytest.raises(InputError, match=r"latin.yaml:2: not UTF-8"):
        load(latin)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="binary file"):
        load(binary)


def test_shipped_policies_are_valid_and_strict_extends_default() -> None:
    assert {"default", "strict"} <= set(shipped_policy_names())
    default = load(None)
    strict = load_policy(Path("strict"), load_registry(), PolicyContext())
    assert default.name == "default" and strict.name == "strict"
    assert default.gates["sast"]["fail_on"] == "high"
    assert strict.gates["sast"]["fail_on"] == "medium"
    assert strict.gates["sast"]["allow_nosec"] is False
    assert default.digest != strict.digest


def test_extends_a_path_merges_settings_and_accumulates_waivers(tmp_path: Path) -> None:
    (tmp_path / "org").mkdir()
    write(
        tmp_path / "org" / "base.yaml",
        """\
        version: 1
        extends: strict
        gates:
          sast: {exclude: ["vendor/**"], confidence: high}
        waivers:
          - {gate: sast, rule: B101, reason: base, owner: sec, expires: 2099-01-01}
        """,
    )
    path = write(
        tmp_path / "gates.yaml",
        """\
        version: 1
        extends: org/base.yaml
        gates:
          sast: {confidence: medium}
        waivers:
          - {gate: sast, rule: B602, reason: team, owner: dev, expires: 2099-01-01}
        """,
    )
    policy = load(path)
    sast = policy.gates["sast"]
    assert sast["confidence"] == "medium"  # the extending file wins
    assert sast["exclude"] == ["vendor/**"]  # inherited from the base file
    assert sast["fail_on"] == "medium"  # inherited from strict through the base file
    assert [w.rule for w in policy.waivers] == ["B101", "B602"]
    assert policy.waivers[0].source.endswith("base.yaml:6")
    assert policy.waivers[1].source.endswith("gates.yaml:6")


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "version: 1\nextends: ./b.yaml\n")
    write(tmp_path / "b.yaml", "version: 1\nextends: ./a.yaml\n")
    with pytest.raises(InputError, match="extends cycle"):
        load(tmp_path / "a.yaml")


def test_overrides_apply_by_branch_glob_and_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path / "gates.yaml",
        """\
        version: 1
        gates:
          sast: {fail_on: high}
        overrides:
          - name: release
            when: {branch: ["main", "release/*"]}
            gates:
              sast: {fail_on: low}
          - name: prod
            when: {environment: ["prod*"]}
            mode: warn
        """,
    )
    assert load(path, branch="feature/x").gates["sast"]["fail_on"] == "high"
    on_release = load(path, branch="release/1.2")
    assert on_release.gates["sast"]["fail_on"] == "low"
    assert on_release.applied_overrides == ("release",)
    in_prod = load(path, branch="feature/x", environment="production")
    assert in_prod.gates["sast"]["mode"] == "warn"
    assert in_prod.applied_overrides == ("prod",)
    # The digest identifies the policy, not the context it was applied in.
    assert on_release.digest == in_prod.digest


def test_digest_does_not_depend_on_where_the_file_lies(tmp_path: Path) -> None:
    text = (
        "version: 1\ngates: {sast: {}}\nwaivers:\n"
        "  - {gate: sast, rule: B1, reason: r, owner: o, expires: 2099-01-01}\n"
    )
    (tmp_path / "x").mkdir()
    a = write(tmp_path / "gates.yaml", text)
    b = write(tmp_path / "x" / "other.yaml", "\n" + text)
    assert load(a).digest == load(b).digest
    changed = write(tmp_path / "changed.yaml", text.replace("reason: r", "reason: s"))
    assert load(changed).digest != load(a).digest


def test_waiver_matching_rule_alias_path_and_expiry(tmp_path: Path) -> None:
    from gates.model import Finding, Location, Severity

    path = write(
        tmp_path / "gates.yaml",
        """\
        version: 1
        gates: {sast: {}}
        waivers:
          - {gate: sast, rule: CWE-78, path: "scripts/**", reason: r, owner: o, expires: 2026-06-30}
        """,
    )
    waiver = load(path).waivers[0]
    finding = Finding("sast", "B602", Severity.HIGH, "m", Location("scripts/a.py", 3), "fp", ("CWE-78",))
    assert waiver.applies_to(finding)
    assert not waiver.applies_to(Finding("sast", "B602", Severity.HIGH, "m", Location("app/a.py", 3), "fp"))
    assert not waiver.expired(dt.date(2026, 6, 30))
    assert waiver.expired(dt.date(2026, 7, 1))
