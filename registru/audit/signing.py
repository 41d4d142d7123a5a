"""Signed statements (checkpoints, prune records), signed with an Ed25519 key kept outside the
database, and the keys that verification trusts.

A rewrite of the whole audit table, hashes and batches included, stays self-consistent; it is
caught by comparing the chain with a checkpoint signed before the rewrite. That only holds if
the signature is checked against a key this installation trusts, never against the key that a
file or a database row carries: anyone can make a key and sign a forged statement with it.

Trusted keys: the public half of the signing key file, the keys that came before it (a history
file beside the key, each entry endorsed by the key before it), and any public key named in
``REGISTRU_AUDIT_TRUSTED_KEYS`` (a verifier that holds no private key). The signing key is made
by ``registru audit keygen`` only (and, outside production, by the first checkpoint of an empty
trail): a missing key is an error, never silently a new key.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

FORMAT = "registru-checkpoint/1"
PRUNE_FORMAT = "registru-prune/1"
VERIFICATION_FORMAT = "registru-verification/1"
ROTATION = "registru-key-rotation/1"


class SigningKeyMissingError(RuntimeError):
    """The signing key is not where the configuration says; it is restored, never remade."""


class KeyHistoryError(RuntimeError):
    """The key history file does not hold: an entry is not endorsed by the key before it."""


def key_file() -> Path:
    configured = os.environ.get("REGISTRU_AUDIT_SIGNING_KEY_FILE")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "keys" / "audit-signing.key"


def history_file() -> Path:
    """The rotation history, beside the key file (outside the database, like the key)."""
    path = key_file()
    return path.with_name(path.name + ".history.json")


def signing_key() -> Ed25519PrivateKey:
    """The signing key from ``REGISTRU_AUDIT_SIGNING_KEY`` (base64) or its file."""
    inline = os.environ.get("REGISTRU_AUDIT_SIGNING_KEY")
    if inline:
        return Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(inline))
    path = key_file()
    if not path.exists():
        raise SigningKeyMissingError(
            f"The audit signing key {path} is missing. Restore it from the backup (or set "
            "REGISTRU_AUDIT_SIGNING_KEY_FILE); `registru audit keygen` makes a first one for a new installation."
        )
    return _read_private(path)


def has_signing_key() -> bool:
    return bool(os.environ.get("REGISTRU_AUDIT_SIGNING_KEY")) or key_file().exists()


def _read_private(path: Path) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(path.read_text(encoding="ascii").strip()))


def generate_key_file(path: Path | None = None) -> Ed25519PrivateKey:
    """Write a new signing key to ``path`` (the configured file); refuses to replace one."""
    path = path or key_file()
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    with path.open("x", encoding="ascii") as handle:  # "x": never over an existing key
        path.chmod(0o600)
        handle.write(base64.urlsafe_b64encode(raw).decode("ascii") + "\n")
    return key


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:32]


# Trusted keys --------------------------------------------------------------------------------


def rotation_message(public: bytes, since: str) -> bytes:
    return f"{ROTATION}:{public.hex()}:{since}".encode("ascii")


def read_history() -> list[dict[str, str]]:
    """The key history, oldest first, checked: each entry endorsed by the one before it."""
    path = history_file()
    if not path.exists():
        return []
    try:
        entries = list(json.loads(path.read_text(encoding="utf-8")))
        for before, after in itertools.pairwise(entries):
            endorser = Ed25519PublicKey.from_public_bytes(bytes.fromhex(before["public"]))
            endorser.verify(
                base64.b64decode(after["endorsement"]), rotation_message(bytes.fromhex(after["public"]), after["since"])
            )
    except (OSError, ValueError, KeyError, TypeError, InvalidSignature) as exc:
        raise KeyHistoryError(f"The key history {path} does not hold ({exc or type(exc).__name__}).") from exc
    return entries


def trusted_keys() -> dict[str, bytes]:
    """Fingerprint → public key of every key whose signatures this installation accepts."""
    trusted: dict[str, bytes] = {}
    for entry in read_history():
        public = bytes.fromhex(entry["public"])
        trusted[fingerprint(public)] = public
    for text in filter(None, (part.strip() for part in os.environ.get("REGISTRU_AUDIT_TRUSTED_KEYS", "").split(","))):
        try:
            public = bytes.fromhex(text)
            Ed25519PublicKey.from_public_bytes(public)
        except ValueError as exc:
            raise KeyHistoryError(f"REGISTRU_AUDIT_TRUSTED_KEYS holds {text!r}, not a public key in hex.") from exc
        trusted[fingerprint(public)] = public
    if has_signing_key():
        public = public_bytes(signing_key().public_key())
        history = read_history()
        if history and history[-1]["public"] != public.hex():
            raise KeyHistoryError(
                f"The signing key {fingerprint(public)} is not the last key of its history {history_file()}."
            )
        trusted[fingerprint(public)] = public
    return trusted


def rotate_signing_key() -> tuple[str, str]:
    """A new signing key, endorsed by the current one; the old key stays trusted through the
    history, so every checkpoint it signed still verifies. Returns (old, new) fingerprints."""
    old = signing_key()
    old_public = public_bytes(old.public_key())
    history = read_history() or [{"public": old_public.hex(), "since": "", "endorsement": ""}]
    path = key_file()
    retired = path.with_name(f"{path.name}.retired-{fingerprint(old_public)}")
    path.rename(retired)
    new = generate_key_file(path)
    new_public = public_bytes(new.public_key())
    since = timezone.now().isoformat()
    endorsement = old.sign(rotation_message(new_public, since))
    history.append({"public": new_public.hex(), "since": since, "endorsement": base64.b64encode(endorsement).decode()})
    history_file().write_text(json.dumps(history, indent=2), encoding="utf-8")
    return fingerprint(old_public), fingerprint(new_public)


# Statements ----------------------------------------------------------------------------------


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

    def signature_valid(self, trusted: dict[str, bytes] | None = None, *, expected_format: str = FORMAT) -> bool:
        """The signature holds, under a trusted key when ``trusted`` is given (an untrusted key
        signs nothing: anyone can make one)."""
        if trusted is not None and trusted.get(self.key_fingerprint) != self.public_key:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(self.signature, self.statement.encode("utf-8"))
            return self.fields.get("format") == expected_format
        except (InvalidSignature, ValueError, AttributeError):
            return False

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


def statement_text(fields: dict[str, Any], *, fmt: str = FORMAT) -> str:
    return json.dumps({"format": fmt, **fields}, sort_keys=True, separators=(",", ":"))


def sign(fields: dict[str, Any], *, fmt: str = FORMAT) -> Checkpoint:
    key = signing_key()
    statement = statement_text(fields, fmt=fmt)
    return Checkpoint(statement, key.sign(statement.encode("utf-8")), public_bytes(key.public_key()))
