#!/usr/bin/env python3
"""Verify an exported Registru audit trail (JSON), away from Registru.

    python3 verify-trail.py trail.json --public-key HEX [--public-key HEX ...]

Needs Python 3.10+ and the `cryptography` package (for the checkpoint's signature). Checks:
each event's bytes against its leaf hash; each event against the leaves sealed in its batch;
each batch's Merkle root and hash; the chain of batches from batch 1 and the genesis hash,
numbered without gaps; and the signed checkpoint against the chain. The checkpoint must be
signed by a key you trust (--public-key: `registru audit public-key` prints the installation's
keys; keep them apart from the export) and must cover every event of the export: an export
without such a checkpoint proves nothing against a rewrite, and fails.
Exit status: 0 intact, 1 damage found (or nothing that proves it), 2 unreadable input or no
trusted key given. The format is in docs/audit.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys

LEAF, NODE, BATCH = b"\x00", b"\x01", b"\x02"
GENESIS = bytes(32)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return sha256(b"")
    level = list(leaves)
    while len(level) > 1:
        paired = [sha256(NODE + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_ids(text: str) -> list[int]:
    ids: list[int] = []
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        ids.extend(range(int(low), int(high or low) + 1))
    return ids


def batch_hash(batch: dict) -> bytes:
    document = {key: batch[key] for key in ("seq", "first", "last", "size", "ids", "root", "prev", "sealed_at")}
    return sha256(BATCH + canonical({"v": 1, **document}))


def check_batches(batches: list[dict], problems: list[str]) -> dict[int, dict]:
    prev = GENESIS
    by_seq = {}
    for expected, batch in enumerate(sorted(batches, key=lambda b: b["seq"]), 1):
        if batch["seq"] != expected:
            problems.append(f"batch {batch['seq']}: the chain is numbered from 1 without gaps; batch {expected} is missing")
        if bytes.fromhex(batch["prev"]) != prev:
            problems.append(f"batch {batch['seq']}: does not follow the batch before it")
        if batch_hash(batch) != bytes.fromhex(batch["hash"]):
            problems.append(f"batch {batch['seq']}: does not match its own hash")
        if "leaves" in batch:
            leaves = bytes.fromhex(batch["leaves"])
            if merkle_root([leaves[i : i + 32] for i in range(0, len(leaves), 32)]) != bytes.fromhex(batch["root"]):
                problems.append(f"batch {batch['seq']}: its leaves do not give its root")
        prev = bytes.fromhex(batch["hash"])
        by_seq[batch["seq"]] = batch
    return by_seq


def check_events(events: list[dict], batches: dict[int, dict], problems: list[str]) -> int:
    checked = 0
    for event in events:
        leaf = bytes.fromhex(event["leaf"])
        if sha256(LEAF + event["canonical"].encode("utf-8")) != leaf:
            problems.append(f"event {event['id']}: its bytes do not match its leaf hash")
            continue
        if json.loads(event["canonical"]).get("id") != event["id"]:
            problems.append(f"event {event['id']}: it names another position")
        batch = next((b for b in batches.values() if b["first"] <= event["id"] <= b["last"]), None)
        if batch is None:
            continue  # not sealed yet when exported
        ids = decode_ids(batch["ids"])
        leaves = bytes.fromhex(batch.get("leaves", ""))
        if event["id"] not in ids or leaves[ids.index(event["id"]) * 32 :][:32] != leaf:
            problems.append(f"event {event['id']}: not the event sealed in batch {batch['seq']}")
        checked += 1
    return checked


def check_checkpoint(checkpoint: dict | None, batches: dict[int, dict], trusted: list[str], problems: list[str]) -> str:
    if checkpoint is None:
        problems.append("no signed checkpoint in the export: nothing proves the trail was not rewritten")
        return "no checkpoint"
    statement = json.loads(checkpoint["statement"])
    key = base64.b64decode(checkpoint["public_key"])
    if key.hex() not in {hex_key.lower() for hex_key in trusted}:
        problems.append("the checkpoint is signed by a key you did not name as trusted (--public-key)")
        return "untrusted key"
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        problems.append("the signature cannot be checked: install the cryptography package")
        return "signature not checked"
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(checkpoint["signature"]), checkpoint["statement"].encode())
    except Exception:  # noqa: BLE001  (any failure of the signature is the same finding)
        problems.append("the checkpoint's signature is not valid")
        return "invalid"
    batch = batches.get(statement["batch_seq"])
    if batch is None:
        problems.append(f"the checkpoint names batch {statement['batch_seq']}, which the export does not hold")
    elif batch["hash"] != statement["head"]:
        problems.append(f"batch {statement['batch_seq']} is not what the checkpoint signed: the chain was rebuilt")
    return f"checkpoint of batch {statement['batch_seq']} signed {statement['at']} (key {hashlib.sha256(key).hexdigest()[:32]})"


def check_coverage(trail: dict, problems: list[str]) -> None:
    """Every exported event is inside the part of the chain the checkpoint signed."""
    checkpoint = trail.get("checkpoint")
    if checkpoint is None:
        return
    covered = json.loads(checkpoint["statement"])["last_event_id"]
    uncovered = [event["id"] for event in trail["events"] if event["id"] > covered]
    if uncovered:
        problems.append(f"{len(uncovered)} event(s) after the checkpoint are not covered by it (from event {uncovered[0]})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export")
    parser.add_argument(
        "--public-key", action="append", default=[],
        help="A trusted signing key's public half in hex, as kept apart (repeat for older keys).",
    )
    args = parser.parse_args()
    if not args.public_key:
        print("name the installation's public key with --public-key HEX (`registru audit public-key`)", file=sys.stderr)
        return 2
    try:
        with open(args.export, encoding="utf-8") as handle:
            trail = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.export}: {exc}", file=sys.stderr)
        return 2
    if trail.get("format") != "registru-trail/1":
        print("not a Registru trail export (format registru-trail/1)", file=sys.stderr)
        return 2
    problems: list[str] = []
    batches = check_batches(trail["batches"], problems)
    checked = check_events(trail["events"], batches, problems)
    checkpoint = check_checkpoint(trail.get("checkpoint"), batches, args.public_key, problems)
    check_coverage(trail, problems)
    print(f"{len(trail['events'])} events ({checked} sealed), {len(batches)} batches; {checkpoint}.")
    for problem in problems:
        print(f"DAMAGE: {problem}")
    print("intact" if not problems else f"{len(problems)} problem(s) found")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
