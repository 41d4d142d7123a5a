"""Canonical bytes of audit records, and the hashes over them.

Hashes are domain-separated as in RFC 6962: a leaf is SHA-256(0x00 || bytes), an inner Merkle
node SHA-256(0x01 || left || right), a batch SHA-256(0x02 || its canonical bytes). The same
functions are used to write, to verify, and (copied) by the standalone verifier script.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

LEAF, NODE, BATCH = b"\x00", b"\x01", b"\x02"
GENESIS = bytes(32)
FORMAT_VERSION = 1
# The same output as json.dumps with these options, without a new encoder made on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_value(value: Any) -> Any:
    """A JSON-safe copy of a field value, as the trail stores it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    return value


def canonical_text(document: dict[str, Any]) -> str:
    return _CANONICAL.encode(document)


def leaf_hash(canonical: str) -> bytes:
    return hashlib.sha256(LEAF + canonical.encode("utf-8")).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over leaf hashes, iteratively (no recursion depth)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    while len(level) > 1:
        paired = [hashlib.sha256(NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # an odd node is promoted unchanged
        level = paired
    return level[0]


def batch_document(
    *,
    seq: int,
    first_id: int,
    last_id: int,
    size: int,
    ids: str,
    root: bytes,
    prev: bytes,
    sealed_at: datetime,
) -> dict[str, Any]:
    return {
        "v": FORMAT_VERSION,
        "seq": seq,
        "first": first_id,
        "last": last_id,
        "size": size,
        "ids": ids,
        "root": root.hex(),
        "prev": prev.hex(),
        "sealed_at": json_value(sealed_at),
    }


def batch_hash(document: dict[str, Any]) -> bytes:
    return hashlib.sha256(BATCH + canonical_text(document).encode("utf-8")).digest()


def encode_ids(ids: Iterable[int]) -> str:
    """Sorted ids as compact ranges: [1, 2, 3, 5, 7, 8] -> "1-3,5,7-8"."""
    parts: list[str] = []
    start = previous = None
    for current in ids:
        if start is None:
            start = previous = current
        elif previous is not None and current == previous + 1:
            previous = current
        else:
            parts.append(f"{start}-{previous}" if start != previous else f"{start}")
            start = previous = current
    if start is not None:
        parts.append(f"{start}-{previous}" if start != previous else f"{start}")
    return ",".join(parts)


def decode_ids(text: str) -> list[int]:
    ids: list[int] = []
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        ids.extend(range(int(low), int(high or low) + 1))
    return ids
