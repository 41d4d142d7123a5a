"""How an export file is marked so that a leaked copy can be traced back (docs/exports.md).

Two layers: each row carries a random marker in its "Ref" column (looked up in the database),
and a keyed digest of each row's values is kept, so that a copy whose Ref column was deleted
still matches; a few canary rows (made-up people, different in every export) break the tie
between two exports of the same people. The keys derive from the master key, never stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registru.vault.services import master_key

MARKER_HEADER = "Ref"
CODE_LENGTH = 12
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DIGEST_LABEL = b"registru export row digest v1"
QUERY_LABEL = b"registru export search text v1"
CANARY_LABEL = b"registru export canary v1"


def _derived(label: bytes) -> bytes:
    return hmac.new(master_key().material, label, hashlib.sha256).digest()


def new_code() -> str:
    """A random row marker: 60 bits, base32, looked up in the database (not derived)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(value: Any) -> bool:
    return isinstance(value, str) and len(value) == CODE_LENGTH and all(c in CODE_ALPHABET for c in value)


def normalise(value: Any) -> str:
    """A cell as text, the same whether it was written by us or read back by calamine."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def row_digest(cells: list[Any], key: bytes | None = None) -> str | None:
    """A keyed digest of a row's non-empty cells, in any column order; None for an empty row.
    Marker cells are left out so that the digest survives deleting the Ref column."""
    values = sorted(text for text in map(normalise, cells) if text and not looks_like_code(text))
    if not values:
        return None
    message = "\x1f".join(values).encode()
    return hmac.new(key or digest_key(), message, hashlib.sha256).hexdigest()[:32]


def digest_key() -> bytes:
    return _derived(DIGEST_LABEL)


def canary_seed(export_id: int, index: int) -> bytes:
    return hmac.new(_derived(CANARY_LABEL), f"{export_id}:{index}".encode(), hashlib.sha256).digest()


# --- the search text of a request ------------------------------------------------------------


def seal_query(text: str, requester_id: int) -> str:
    if not text:
        return ""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_derived(QUERY_LABEL)).encrypt(nonce, text.encode(), str(requester_id).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_query(sealed: str, requester_id: int) -> str:
    if not sealed:
        return ""
    raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    return AESGCM(_derived(QUERY_LABEL)).decrypt(raw[:12], raw[12:], str(requester_id).encode()).decode()
