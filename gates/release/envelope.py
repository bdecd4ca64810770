"""A signed verdict: an in-toto Statement v1 carrying the verdict, in a DSSE envelope.

The envelope is written here rather than taken from a library. `securesystemslib.dsse` has the
envelope, but its signing model is public-key only (a `Key` is public and registered by type), so
the HMAC-SHA256 shared CI secret the release rules need would have to masquerade as a public key;
`in-toto-attestation` brings protobuf and has not been released since 2023. What is left to write
is the DSSE pre-authentication encoding (PAE, five lines) and base64 around it; signatures come
from `hmac` (standard library) and `cryptography` (Ed25519).

The verifier never takes the algorithm from the envelope: it comes from the verifier's own key and
options, so an HMAC signature made with a published Ed25519 public key as the secret is rejected.
Format (docs/release.md):

    {"payloadType": "application/vnd.in-toto+json", "payload": base64(statement),
     "signatures": [{"keyid": "...", "sig": base64(signature over PAE)}]}
    statement = {"_type": "https://in-toto.io/Statement/v1", "predicateType": PREDICATE_TYPE,
                 "subject": [{"name": "git+<repo>@<commit>", "digest": {"gitCommit", "gitTree"}},
                             {"name": "verdict.json", "digest": {"sha256": <verdict digest>}}],
                 "predicate": <the verdict>}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gates import verdict as verdicts
from gates.errors import GatesError, InputError
from gates.model import JSON
from gates.util.jsonfile import parse_json

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://governance-gates.dev/verdict/v1"
ALGORITHMS = ("hmac-sha256", "ed25519")
DEFAULT_KEY_ENV = "GATES_SIGNING_KEY"
_MIN_SECRET_BYTES = 16
_PEM = b"-----BEGIN "


class SignatureError(GatesError):
    """A signature that does not verify, or no key to check one with: the verdict is refused."""


def verdict_digest(verdict: Mapping[str, Any]) -> str:
    """sha256 of the verdict's canonical JSON: independent of how the file was indented."""
    canonical = json.dumps(verdict, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is signed, binding the type to the payload."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def statement(verdict: Mapping[str, Any]) -> dict[str, JSON]:
    subject = verdict["subject"]
    repo = Path(subject["path"]).name or "repository"
    git_digest = {"gitCommit": subject["commit"], "gitTree": subject["tree"]}
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": f"git+{repo}@{subject['commit']}", "digest": {k: v for k, v in git_digest.items() if v}},
            {"name": "verdict.json", "digest": {"sha256": verdict_digest(verdict).removeprefix("sha256:")}},
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": dict(verdict),
    }


@dataclass(frozen=True)
class Key:
    """Key material for one algorithm. HMAC: the shared secret. Ed25519: a PEM private key (signs
    and verifies) or public key (verifies only)."""

    alg: str
    material: bytes
    origin: str
    """Where the key came from (`$VAR`, a file, the policy), for messages; never the key itself."""

    @property
    def keyid(self) -> str:
        """A public name for the key: for Ed25519 a digest of the public key; for HMAC a digest of
        the secret, which reveals no more than any signature made with it already does."""
        public = self.material if self.alg == "hmac-sha256" else _public_bytes(self)
        return f"{self.alg}:{hashlib.sha256(public).hexdigest()[:16]}"


def load_key(alg: str | None, *, env: str | None, file: Path | None, pinned: str | None = None) -> Key:
    """The key from a file, else the environment variable. With `pinned` (the policy's public
    key, to verify) it is that key: one from the file or the variable must be the same key, or the
    verdict is refused, since whoever sets a variable or passes a file must not choose the key."""
    if pinned is not None:
        key = _pinned(alg, pinned)
        if file is not None or os.environ.get(env or DEFAULT_KEY_ENV):
            given = load_key(alg or key.alg, env=env, file=file)
            if given.keyid != key.keyid:
                raise SignatureError(
                    f"the key from {given.origin} is not the policy's release.signing.public_key "
                    f"({given.keyid}, pinned {key.keyid})"
                )
        return key
    if file is not None:
        try:
            material, origin = file.read_bytes().strip(), str(file)
        except OSError as e:
            raise InputError(f"{file}: cannot read key: {e.strerror or e}") from e
    elif os.environ.get(env or DEFAULT_KEY_ENV):
        origin = f"${env or DEFAULT_KEY_ENV}"
        material = os.environ[env or DEFAULT_KEY_ENV].encode("utf-8").strip()
    else:
        raise SignatureError(f"no signing key: set ${env or DEFAULT_KEY_ENV} or give --key-file")
    chosen = alg or ("ed25519" if material.startswith(_PEM) else "hmac-sha256")
    if chosen == "hmac-sha256":
        if material.startswith(_PEM):
            raise InputError(f"{origin}: a PEM key is not an HMAC secret (use --alg ed25519)")
        if len(material) < _MIN_SECRET_BYTES:
            raise InputError(f"{origin}: an HMAC secret needs at least {_MIN_SECRET_BYTES} bytes")
    key = Key(chosen, material, origin)
    if chosen == "ed25519":
        _public_bytes(key)  # a malformed key is reported now, not as a bad signature later
    return key


def _pinned(alg: str | None, pem: str) -> Key:
    origin = "policy release.signing.public_key"
    if alg not in (None, "ed25519"):
        raise InputError(f"{origin}: a public key verifies ed25519 signatures, not {alg}")
    key = Key("ed25519", pem.encode("utf-8").strip(), origin)
    _public_bytes(key)
    return key


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as e:
        raise GatesError(
            "Ed25519 needs the cryptography package: pip install 'governance-gates[release]'"
        ) from e
    return serialization, ed25519


def _private(key: Key) -> Any:
    serialization, ed25519 = _ed25519()
    if b"PRIVATE KEY" not in key.material.split(b"\n", 1)[0]:
        raise InputError(f"{key.origin}: signing with Ed25519 needs the PEM private key")
    try:
        private = serialization.load_pem_private_key(key.material, password=None)
    except (ValueError, TypeError) as e:
        raise InputError(f"{key.origin}: not an unencrypted PEM private key: {e}") from e
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise InputError(f"{key.origin}: not an Ed25519 key")
    return private


def _public(key: Key) -> Any:
    serialization, ed25519 = _ed25519()
    if b"PRIVATE KEY" in key.material.split(b"\n", 1)[0]:
        return _private(key).public_key()
    try:
        public = serialization.load_pem_public_key(key.material)
    except (ValueError, TypeError) as e:
        raise InputError(f"{key.origin}: not a PEM public key: {e}") from e
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise InputError(f"{key.origin}: not an Ed25519 key")
    return public


def _public_bytes(key: Key) -> bytes:
    serialization, _ = _ed25519()
    raw: bytes = _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


def _sign_bytes(key: Key, message: bytes) -> bytes:
    if key.alg == "hmac-sha256":
        return hmac.new(key.material, message, hashlib.sha256).digest()
    signature: bytes = _private(key).sign(message)
    return signature


def _verifies(key: Key, message: bytes, signature: bytes) -> bool:
    if key.alg == "hmac-sha256":
        return hmac.compare_digest(hmac.new(key.material, message, hashlib.sha256).digest(), signature)
    from cryptography.exceptions import InvalidSignature

    try:
        _public(key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]
    """(keyid, signature) pairs."""

    def to_json(self) -> dict[str, JSON]:
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                {"keyid": keyid, "sig": base64.b64encode(sig).decode("ascii")}
                for keyid, sig in self.signatures
            ],
        }

    def signed(self, key: Key) -> Envelope:
        signature = (key.keyid, _sign_bytes(key, pae(self.payload_type, self.payload)))
        return Envelope(self.payload_type, self.payload, (*self.signatures, signature))

    def verify(self, key: Key) -> str:
        """The keyid of the signature `key` verifies; SignatureError when none does."""
        message = pae(self.payload_type, self.payload)
        # keyids are hints, not trusted (DSSE): every signature is tried against the key.
        for keyid, sig in self.signatures:
            if _verifies(key, message, sig):
                return keyid
        raise SignatureError(
            f"signature does not verify with the {key.alg} key from {key.origin} "
            f"(envelope signed by {', '.join(k for k, _ in self.signatures) or 'nobody'})"
        )

    def statement(self, source: str) -> dict[str, Any]:
        """The in-toto Statement carried, with its predicate validated as a verdict."""
        try:
            text = self.payload.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"{source}: envelope payload is not JSON: {e}") from e
        document = parse_json(text, f"{source}: envelope payload")  # nesting bounded, like any input
        if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
            raise InputError(f"{source}: envelope payload is not an in-toto Statement v1")
        if document.get("predicateType") != PREDICATE_TYPE:
            raise InputError(
                f"{source}: predicateType {document.get('predicateType')!r} is not {PREDICATE_TYPE}"
            )
        verdicts.validate(document.get("predicate"), f"{source}: predicate")
        return document


def wrap(verdict: Mapping[str, Any]) -> Envelope:
    payload = json.dumps(statement(verdict), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Envelope(PAYLOAD_TYPE, payload.encode("utf-8"), ())


def is_envelope(data: Any) -> bool:
    return isinstance(data, dict) and "payloadType" in data and "signatures" in data


def parse_envelope(data: Mapping[str, Any], source: str) -> Envelope:
    try:
        payload_type = data["payloadType"]
        payload = base64.b64decode(data["payload"], validate=True)
        signatures = tuple(
            (str(s.get("keyid", "")), base64.b64decode(s["sig"], validate=True)) for s in data["signatures"]
        )
    except (KeyError, TypeError, AttributeError, binascii.Error) as e:
        raise InputError(f"{source}: corrupt DSSE envelope: {type(e).__name__}: {e}") from e
    if payload_type != PAYLOAD_TYPE:
        raise InputError(f"{source}: payloadType {payload_type!r} is not {PAYLOAD_TYPE}")
    return Envelope(payload_type, payload, signatures)
