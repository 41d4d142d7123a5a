"""Signed checkpoints: statements of the chain head, signed with an Ed25519 key kept outside
the database, exported to files (or mailed to the DPO) and kept elsewhere.

A rewrite of the whole audit table, hashes and batches included, stays self-consistent; it is
caught by comparing the chain with a checkpoint signed before the rewrite.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

FORMAT = "registru-checkpoint/1"


def key_file() -> Path:
    configured = os.environ.get("REGISTRU_AUDIT_SIGNING_KEY_FILE")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "keys" / "audit-signing.key"


def signing_key() -> Ed25519PrivateKey:
    """The signing key from ``REGISTRU_AUDIT_SIGNING_KEY`` (base64) or its file, made on first
    use (a lost signing key loses nothing: old checkpoints carry their public key)."""
    inline = os.environ.get("REGISTRU_AUDIT_SIGNING_KEY")
    if inline:
        return Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(inline))
    path = key_file()
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        with path.open("x", encoding="ascii") as handle:
            path.chmod(0o600)
            handle.write(base64.urlsafe_b64encode(raw).decode("ascii") + "\n")
    return Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(path.read_text(encoding="ascii").strip()))


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:32]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement, as stored in the database or read back from an exported file."""

    statement: str
    signature: bytes
    public_key: bytes

    @property
    def fields(self) -> dict[str, Any]:
        return dict(json.loads(self.statement))

    @property
    def batch_seq(self) -> int:
        return int(self.fields["batch_seq"])

    @property
    def head(self) -> bytes:
        return bytes.fromhex(self.fields["head"])

    @property
    def last_event_id(self) -> int:
        return int(self.fields["last_event_id"])

    @property
    def created_at(self) -> str:
        return str(self.fields["at"])

    @property
    def key_fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def signature_valid(self) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(self.signature, self.statement.encode("utf-8"))
        except (InvalidSignature, ValueError):
            return False
        return self.fields.get("format") == FORMAT

    def to_file(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "statement": self.statement,
                "signature": base64.b64encode(self.signature).decode("ascii"),
                "public_key": base64.b64encode(self.public_key).decode("ascii"),
                "key_fingerprint": self.key_fingerprint,
            },
            indent=2,
        )

    @classmethod
    def from_file(cls, text: str) -> Checkpoint:
        data = json.loads(text)
        return cls(data["statement"], base64.b64decode(data["signature"]), base64.b64decode(data["public_key"]))


def sign(fields: dict[str, Any]) -> Checkpoint:
    key = signing_key()
    statement = json.dumps({"format": FORMAT, **fields}, sort_keys=True, separators=(",", ":"))
    return Checkpoint(statement, key.sign(statement.encode("utf-8")), public_bytes(key.public_key()))
