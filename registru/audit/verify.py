"""Verifying the trail: every event against its leaf hash and its batch, every batch against
the chain, and the chain against signed checkpoints.

It streams (one batch of events in memory at a time) and names the first damaged position and
the kind of damage: an event edited, deleted, inserted or reordered, a batch edited or
recomputed, the tail truncated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import connection

from registru.audit.canonical import GENESIS, batch_document, batch_hash, decode_ids, leaf_hash, merkle_root
from registru.audit.models import AuditBatch, AuditPrune
from registru.audit.signing import Checkpoint


class Damage(StrEnum):
    EDITED = "edited"  # an event's bytes no longer match its leaf hash
    REHASHED = "edited and rehashed"  # an event and its leaf changed together; the batch remembers
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"  # an event sits at a position that is not its own
    BATCH_EDITED = "batch edited"
    CHAIN_BROKEN = "chain broken"
    RECOMPUTED = "recomputed"  # the chain is self-consistent but not what a checkpoint signed
    TRUNCATED = "truncated"
    CHECKPOINT_INVALID = "checkpoint signature invalid"


@dataclass(frozen=True)
class Finding:
    damage: Damage
    position: int | None  # an event id, or None for findings about batches and checkpoints
    detail: str

    def __str__(self) -> str:
        where = f"event {self.position}" if self.position is not None else "trail"
        return f"{where}: {self.damage} ({self.detail})"


@dataclass
class Report:
    events: int = 0
    batches: int = 0
    unsealed: int = 0
    head: bytes = GENESIS
    last_batch_seq: int = 0
    checkpoints: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: (f.position is None, f.position or 0), default=None)


Progress = Callable[[int, int], None]
EVENT_SQL = "SELECT id, canonical, leaf FROM audit_auditevent WHERE id > %s AND id <= %s ORDER BY id"


def verify(
    *,
    since: int = 0,
    checkpoints: list[Checkpoint] | None = None,
    deep: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Verify the trail from the batch holding event ``since`` (0: from the beginning)."""
    report = Report()
    heads: dict[int, bytes] = {}
    prev = _start(since)
    expected_next, after = None, None
    pruned_up_to = AuditPrune.objects.order_by("-up_to_batch").values_list("up_to_batch", flat=True).first() or 0
    for batch in _batches(since):
        _check_batch(batch, prev, report, expected_next)
        # Events between the previous batch and this one belong to this one, or were inserted.
        if batch.seq > pruned_up_to:  # the retention path deleted the events of older batches
            _check_events(batch, _before(batch, since) if after is None else after, report, deep)
        heads[batch.seq] = bytes(batch.hash)
        prev, expected_next, after = bytes(batch.hash), batch.seq + 1, batch.last_id
        report.batches += 1
        report.head, report.last_batch_seq = prev, batch.seq
        if progress:
            progress(report.events, report.batches)
    _check_unsealed(report, deep)
    for checkpoint in checkpoints or []:
        _check_checkpoint(checkpoint, heads, report)
    return report


def _before(first: AuditBatch, since: int) -> int:
    # From the beginning, anything before the first batch is an insertion too (ids start at 1).
    return -(2**62) if since <= 0 else first.first_id - 1


def _start(since: int) -> bytes:
    if since <= 0:
        return GENESIS
    first = AuditBatch.objects.filter(last_id__gte=since).order_by("seq").values_list("prev", flat=True).first()
    return bytes(first) if first is not None else GENESIS


def _batches(since: int) -> Iterator[AuditBatch]:
    return AuditBatch.objects.filter(last_id__gte=since).order_by("seq").iterator(chunk_size=200)


def _check_batch(batch: AuditBatch, prev: bytes, report: Report, expected_seq: int | None) -> None:
    where = f"batch {batch.seq}"
    if expected_seq is not None and batch.seq != expected_seq:
        report.findings.append(
            Finding(Damage.TRUNCATED, batch.first_id, f"batches {expected_seq}-{batch.seq - 1} are missing")
        )
    document = batch_document(
        seq=batch.seq, first_id=batch.first_id, last_id=batch.last_id, size=batch.size, ids=batch.ids,
        root=bytes(batch.root), prev=bytes(batch.prev), sealed_at=batch.sealed_at,
    )  # fmt: skip
    leaves = bytes(batch.leaves)
    if batch_hash(document) != bytes(batch.hash) or merkle_root(_split(leaves)) != bytes(batch.root):
        report.findings.append(Finding(Damage.BATCH_EDITED, batch.first_id, f"{where} does not match its own hash"))
    if bytes(batch.prev) != prev:
        report.findings.append(
            Finding(Damage.CHAIN_BROKEN, batch.first_id, f"{where} does not follow the batch before it")
        )


def _split(leaves: bytes) -> list[bytes]:
    return [leaves[i : i + 32] for i in range(0, len(leaves), 32)]


def _check_events(batch: AuditBatch, after: int, report: Report, deep: bool) -> None:
    expected = dict(zip(decode_ids(batch.ids), _split(bytes(batch.leaves)), strict=False))
    found = set()
    with connection.cursor() as cursor:
        cursor.execute(EVENT_SQL, [after, batch.last_id])
        for event_id, canonical, leaf in cursor:
            found.add(event_id)
            report.events += 1
            _check_event((event_id, canonical, bytes(leaf)), expected.get(event_id), report, deep)
    for missing in sorted(set(expected) - found):
        report.findings.append(Finding(Damage.DELETED, missing, f"sealed in batch {batch.seq}, no longer in the trail"))


def _check_event(row: tuple[int, str, bytes], sealed_leaf: bytes | None, report: Report, deep: bool) -> None:
    event_id, canonical, leaf = row
    if sealed_leaf is None:
        report.findings.append(Finding(Damage.INSERTED, event_id, "inside a sealed range but in no batch"))
        return
    own = leaf_hash(canonical)
    if own != leaf:
        report.findings.append(Finding(Damage.EDITED, event_id, "its bytes do not match its leaf hash"))
    elif leaf != sealed_leaf:
        damage = Damage.REORDERED if _claims_other_position(canonical, event_id) else Damage.REHASHED
        report.findings.append(Finding(damage, event_id, "its leaf hash is not the one sealed at this position"))
    elif deep and _claims_other_position(canonical, event_id):
        report.findings.append(Finding(Damage.REORDERED, event_id, "it names another position"))


def _claims_other_position(canonical: str, event_id: int) -> bool:
    try:
        return int(json.loads(canonical).get("id")) != event_id
    except (ValueError, TypeError, AttributeError):
        return True


def _check_unsealed(report: Report, deep: bool) -> None:
    last = AuditBatch.objects.order_by("-seq").values_list("last_id", flat=True).first() or 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, canonical, leaf FROM audit_auditevent WHERE id > %s ORDER BY id", [last])
        for event_id, canonical, leaf in cursor:
            report.unsealed += 1
            report.events += 1
            if leaf_hash(canonical) != bytes(leaf):
                report.findings.append(
                    Finding(Damage.EDITED, event_id, "its bytes do not match its leaf hash (not sealed yet)")
                )
            elif _claims_other_position(canonical, event_id):
                report.findings.append(
                    Finding(Damage.REORDERED, event_id, "it names another position (not sealed yet)")
                )


def _check_checkpoint(checkpoint: Checkpoint, heads: dict[int, bytes], report: Report) -> None:
    label = (
        f"checkpoint of batch {checkpoint.batch_seq} signed {checkpoint.created_at} by key {checkpoint.key_fingerprint}"
    )
    if not checkpoint.signature_valid():
        report.findings.append(Finding(Damage.CHECKPOINT_INVALID, None, label))
        return
    report.checkpoints.append(label)
    if checkpoint.batch_seq > report.last_batch_seq:
        detail = (
            f"{label}: the trail now ends at batch {report.last_batch_seq}, before event {checkpoint.last_event_id}"
        )
        report.findings.append(Finding(Damage.TRUNCATED, checkpoint.last_event_id, detail))
    elif checkpoint.batch_seq in heads and heads[checkpoint.batch_seq] != checkpoint.head:
        detail = f"{label}: batches up to {checkpoint.batch_seq} were rebuilt after it was signed"
        report.findings.append(Finding(Damage.RECOMPUTED, checkpoint.last_event_id, detail))
