"""The DSSE envelope and its signatures, without git: PAE, HMAC-SHA256, Ed25519, confusions."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from gates.errors import InputError
from gates.release import envelope as dsse

SECRET = "ci-shared-secret-of-the-tests"  # pragma: allowlist secret


def _verdict() -> dict[str, Any]:
    return {
        "verdict_version": 1,
        "status": "pass",
        "subject": {
            "path": "/src/app",
            "commit": "a" * 40,
            "tree": "b" * 40,
            "branch": "main",
            "dirty": False,
        },
        "policy": {
            "name": "p",
            "source": "gates.yaml",
            "digest": "sha256:" + "c" * 64,
            "branch": "main",
            "environment": None,
            "applied_overrides": [],
            "enabled_gates": [],
        },
        "tool": {"name": "governance-gates", "version": "0"},
        "started_at": "2026-01-01T00:00:00Z",
        "duration_s": 0,
        "scope": None,
        "baseline": None,
        "gates": [],
        "waivers": [],
        "summary": {"gates": {}, "findings": 0, "counted": 0, "waived": 0, "new": 0},
    }


def _pem_pair(tmp_path: Path, name: str) -> tuple[Path, Path]:
    private = ed25519.Ed25519PrivateKey.generate()
    priv = tmp_path / f"{name}.pem"
    pub = tmp_path / f"{name}.pub.pem"
    priv.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pub.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv, pub


def _hmac_key(secret: str = SECRET) -> dsse.Key:
    return dsse.Key("hmac-sha256", secret.encode(), "test")


def test_pae_matches_the_dsse_specification_vector() -> None:
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_statement_names_commit_tree_and_verdict_digest() -> None:
    statement = dsse.statement(_verdict())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == dsse.PREDICATE_TYPE
    git_subject, verdict_subject = statement["subject"]
    assert git_subject == {
        "name": f"git+app@{'a' * 40}",
        "digest": {"gitCommit": "a" * 40, "gitTree": "b" * 40},
    }
    assert "sha256:" + verdict_subject["digest"]["sha256"] == dsse.verdict_digest(_verdict())


def test_hmac_round_trip_and_wrong_secret() -> None:
    envelope = dsse.wrap(_verdict()).signed(_hmac_key())
    restored = dsse.parse_envelope(json.loads(json.dumps(envelope.to_json())), "test")
    assert restored.verify(_hmac_key()) == _hmac_key().keyid
    with pytest.raises(dsse.SignatureError, match="does not verify"):
        restored.verify(_hmac_key("another-secret-of-enough-length"))


def test_a_changed_payload_no_longer_verifies() -> None:
    envelope = dsse.wrap(_verdict()).signed(_hmac_key())
    forged = dsse.Envelope(
        envelope.payload_type, envelope.payload.replace(b'"pass"', b'"fail"'), envelope.signatures
    )
    with pytest.raises(dsse.SignatureError):
        forged.verify(_hmac_key())


def test_keyid_is_a_hint_only_a_matching_keyid_with_a_bad_signature_fails() -> None:
    envelope = dsse.wrap(_verdict())
    forged = dsse.Envelope(envelope.payload_type, envelope.payload, ((_hmac_key().keyid, b"\0" * 32),))
    with pytest.raises(dsse.SignatureError):
        forged.verify(_hmac_key())


def test_ed25519_round_trip_verifies_with_the_public_key_only(tmp_path: Path) -> None:
    priv, pub = _pem_pair(tmp_path, "release")
    signer = dsse.load_key(None, env=None, file=priv)
    assert signer.alg == "ed25519"  # a PEM key means Ed25519 unless told otherwise
    envelope = dsse.wrap(_verdict()).signed(signer)
    verifier = dsse.load_key(None, env=None, file=pub)
    assert envelope.verify(verifier) == signer.keyid == verifier.keyid
    _, other_pub = _pem_pair(tmp_path, "other")
    with pytest.raises(dsse.SignatureError):
        envelope.verify(dsse.load_key(None, env=None, file=other_pub))


def test_a_public_key_cannot_sign_nor_serve_as_an_hmac_secret(tmp_path: Path) -> None:
    _, pub = _pem_pair(tmp_path, "release")
    with pytest.raises(InputError, match="private key"):
        dsse.wrap(_verdict()).signed(dsse.load_key("ed25519", env=None, file=pub))
    # The classic confusion: HMAC keyed with the published public key must not be accepted.
    with pytest.raises(InputError, match="not an HMAC secret"):
        dsse.load_key("hmac-sha256", env=None, file=pub)


def test_an_hmac_signature_does_not_verify_under_an_ed25519_key(tmp_path: Path) -> None:
    _, pub = _pem_pair(tmp_path, "release")
    forged = dsse.wrap(_verdict()).signed(dsse.Key("hmac-sha256", pub.read_bytes().strip(), "attacker"))
    with pytest.raises(dsse.SignatureError):
        forged.verify(dsse.load_key(None, env=None, file=pub))


def test_key_sources_and_their_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dsse.DEFAULT_KEY_ENV, raising=False)
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(dsse.SignatureError, match=r"\$GATES_SIGNING_KEY"):
        dsse.load_key(None, env=None, file=None)
    monkeypatch.setenv("MY_KEY", "short")
    with pytest.raises(InputError, match="at least 16 bytes"):
        dsse.load_key(None, env="MY_KEY", file=None)
    monkeypatch.setenv("MY_KEY", SECRET)
    assert dsse.load_key(None, env="MY_KEY", file=None) == dsse.Key("hmac-sha256", SECRET.encode(), "$MY_KEY")
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    assert dsse.load_key(None, env=None, file=secret_file).material == SECRET.encode()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    with pytest.raises(InputError, match="not a PEM public key"):
        dsse.load_key(None, env=None, file=garbage)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("payload"), "corrupt DSSE envelope"),
        (lambda e: e.update(payload="@@not base64@@"), "corrupt DSSE envelope"),
        (lambda e: e.update(payloadType="text/plain"), "payloadType"),
        (lambda e: e.update(payload=base64.b64encode(b"{").decode()), "envelope payload:1: invalid JSON"),
        (lambda e: e.update(payload=base64.b64encode(b'{"_type": "x"}').decode()), "in-toto Statement"),
    ],
)
def test_corrupt_envelopes_are_input_errors(mutate: Any, message: str) -> None:
    data = dsse.wrap(_verdict()).signed(_hmac_key()).to_json()
    mutate(data)
    with pytest.raises(InputError, match=message):
        dsse.parse_envelope(data, "v.dsse.json").statement("v.dsse.json")
