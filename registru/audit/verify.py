"""Verifying the trail: every event against its leaf hash and its batch, every batch against
the chain, and the chain against signed checkpoints.

It streams (one batch of events in memory at a time) and names the first damaged position and
the kind of damage: an event edited, deleted, inserted or reordered, a batch edited or
recomputed, the tail truncated.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import queue
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from django.db import connection

from registru.audit.canonical import (
    GENESIS,
    LEAF,
    batch_document,
    batch_hash,
    decode_ids,
    leaf_hash,
    merkle_root,
)
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
GROUP = 16  # batches read together: one query for their events, read ahead while the last are checked
_LEAF = LEAF
_sha256 = hashlib.sha256


@dataclass(frozen=True, slots=True)
class SealedBatch:
    seq: int
    first_id: int
    last_id: int
    size: int
    ids: str
    leaves: bytes
    root: bytes
    prev: bytes
    hash: bytes
    sealed_at: datetime


type Row = tuple[int, bytes, bytes]  # an event's id, canonical bytes (UTF-8) and stored leaf


def verify(
    *,
    since: int = 0,
    checkpoints: list[Checkpoint] | None = None,
    deep: bool = False,
    progress: Progress | None = None,
    workers: int = 1,
) -> Report:
    """Verify the trail from the batch holding event ``since`` (0: from the beginning).

    With ``workers`` > 1 the batches are checked by that many processes, each a run of PART
    batches at a time from the state the run before it ends in (the same checks, the same
    findings); only for a trail that other processes can read (committed, not in memory).
    """
    report = Report()
    checkpoints = checkpoints or []
    wanted = frozenset(checkpoint.batch_seq for checkpoint in checkpoints)
    heads: dict[int, bytes] = {}
    pruned_up_to = AuditPrune.objects.order_by("-up_to_batch").values_list("up_to_batch", flat=True).first() or 0
    scope = _Scope(since, pruned_up_to, deep, wanted)
    if workers > 1 and _can_fork():
        _walk_in_processes(scope, workers, report, heads, progress)
    else:
        _walk(scope, _Start(_start(since), None, None), report, heads, progress=progress)
    _check_unsealed(report, deep)
    for checkpoint in checkpoints:
        _check_checkpoint(checkpoint, heads, report)
    return report


@dataclass(frozen=True)
class _Scope:
    since: int
    pruned_up_to: int
    deep: bool
    wanted: frozenset[int]  # the batches whose hash a checkpoint names


@dataclass(frozen=True)
class _Start:
    """Where the walk stands before a run of batches: the hash the next batch must follow, the
    seq it must have, and the last event id of the batch before it."""

    prev: bytes
    expected_next: int | None
    after: int | None


FIRST, LAST = -(2**62), 2**62


def _walk(
    scope: _Scope,
    start: _Start,
    report: Report,
    heads: dict[int, bytes],
    *,
    progress: Progress | None = None,
    seqs: tuple[int, int] = (FIRST, LAST),
) -> None:
    """Check the batches with a seq in ``seqs`` (after the first, up to the second) and their events."""
    prev, expected_next = start.prev, start.expected_next
    for batch, rows in _read_ahead(scope, seqs, start.after):
        _check_batch(batch, prev, report, expected_next)
        # Events between the previous batch and this one belong to this one, or were inserted
        # (the retention path deleted the events of batches up to ``pruned_up_to``: no rows).
        if rows is not None:
            _check_events(batch, rows, report, scope.deep)
        if batch.seq in scope.wanted:
            heads[batch.seq] = batch.hash
        prev, expected_next = batch.hash, batch.seq + 1
        report.batches += 1
        report.head, report.last_batch_seq = prev, batch.seq
        if progress:
            progress(report.events, report.batches)


# In several processes -------------------------------------------------------------------------

PART = 32  # batches per task of a worker process


def _can_fork() -> bool:
    if "fork" not in multiprocessing.get_all_start_methods() or connection.in_atomic_block:
        return False  # other processes would not see what this transaction sees
    if connection.vendor == "sqlite":
        return not getattr(connection, "is_in_memory_db", lambda: True)()
    return connection.vendor == "postgresql"


def _walk_in_processes(
    scope: _Scope, workers: int, report: Report, heads: dict[int, bytes], progress: Progress | None
) -> None:
    from django.db import connections

    seqs = AuditBatch.objects.filter(last_id__gte=scope.since).order_by("seq").values_list("seq", flat=True)
    parts, low = [], FIRST
    for index, seq in enumerate(seqs.iterator(chunk_size=5000), 1):
        if index % PART == 0:
            parts.append((low, seq))
            low = seq
    parts.append((low, LAST))
    connections.close_all()  # each process opens its own
    pool = multiprocessing.get_context("fork").Pool(min(workers, len(parts)))
    try:
        for part in pool.imap(functools.partial(_walk_part, scope), parts):
            report.events += part.events
            report.batches += part.batches
            report.findings.extend(part.findings)
            heads |= part.heads
            if part.batches:
                report.head, report.last_batch_seq = part.head, part.last_batch_seq
            if progress:
                progress(report.events, report.batches)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


@dataclass
class _Part:
    events: int
    batches: int
    findings: list[Finding]
    heads: dict[int, bytes]
    head: bytes
    last_batch_seq: int


def _walk_part(scope: _Scope, seqs: tuple[int, int]) -> _Part:
    """In a worker process: the batches of ``seqs``, from the state the batch before them leaves."""
    low = seqs[0]
    before = (
        AuditBatch.objects.filter(last_id__gte=scope.since, seq__lte=low)
        .order_by("-seq")
        .values_list("seq", "last_id", "hash")
        .first()
    )
    if before is None:
        start = _Start(_start(scope.since), None, None)
    else:
        start = _Start(bytes(before[2]), before[0] + 1, before[1])
    report, heads = Report(), dict[int, bytes]()
    _walk(scope, start, report, heads, seqs=seqs)
    return _Part(report.events, report.batches, report.findings, heads, report.head, report.last_batch_seq)


def _before(first: SealedBatch, since: int) -> int:
    # From the beginning, anything before the first batch is an insertion too (ids start at 1).
    return -(2**62) if since <= 0 else first.first_id - 1


def _start(since: int) -> bytes:
    if since <= 0:
        return GENESIS
    first = AuditBatch.objects.filter(last_id__gte=since).order_by("seq").values_list("prev", flat=True).first()
    return bytes(first) if first is not None else GENESIS


# Reading ------------------------------------------------------------------------------------
#
# The batches (in seq order, from the one holding ``since``) and, for each, the events after
# the previous batch up to its last id, exactly as one query per batch would return them. They
# are read GROUP batches at a time (one query for the events of the group when its ranges follow
# each other, as they do unless batches were tampered with), by a thread that stays one group
# ahead: the database works while the hashes of the group before are computed. Memory holds at
# most three groups, whatever the length of the trail. Only that thread uses the connection
# until the trail has been read.

BATCH_SQL = (
    "SELECT seq, first_id, last_id, size, ids, leaves, root, prev, hash, sealed_at FROM audit_auditbatch "
    "WHERE last_id >= %s AND seq > %s AND seq <= %s ORDER BY seq LIMIT %s"
)
_DONE = object()


def _read_ahead(
    scope: _Scope, seqs: tuple[int, int], after: int | None
) -> Iterator[tuple[SealedBatch, list[Row] | None]]:
    connection.ensure_connection()
    source = _Source(connection.connection, connection.vendor)
    ahead: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the verifying thread has given up

    def read() -> None:
        try:
            for group in _groups(source, scope, seqs, after):
                if not offer(group):
                    return
            offer(_DONE)
        except Exception as exc:  # noqa: BLE001 (raised again in the verifying thread)
            offer(exc)

    reader = threading.Thread(target=read, name="audit-verify-reader", daemon=True)
    with source:
        reader.start()
        try:
            while (group := ahead.get()) is not _DONE:
                if isinstance(group, BaseException):
                    raise group
                yield from group
        finally:
            stop.set()
            reader.join()


def _groups(
    source: _Source, scope: _Scope, seqs: tuple[int, int], after: int | None
) -> Iterator[list[tuple[SealedBatch, list[Row] | None]]]:
    since, pruned_up_to = scope.since, scope.pruned_up_to
    seq, last_seq = seqs
    while batches := source.batches(since, seq, last_seq, GROUP):
        if after is None:
            after = _before(batches[0], since)
        group: list[tuple[SealedBatch, list[Row] | None]] = []
        ranges = []
        for batch in batches:
            ranges.append((batch, after))
            after = batch.last_id
        checked = [(batch, low) for batch, low in ranges if batch.seq > pruned_up_to]
        follow = all(low < batch.last_id for batch, low in checked)
        rows = source.events(checked[0][1], checked[-1][0].last_id) if checked and follow else []
        ids = [row[0] for row in rows]
        for batch, low in ranges:
            if batch.seq <= pruned_up_to:
                group.append((batch, None))
            elif follow:
                group.append((batch, rows[bisect_right(ids, low) : bisect_right(ids, batch.last_id)]))
            else:
                group.append((batch, source.events(low, batch.last_id)))
        yield group
        seq = batches[-1].seq


class _Source:
    """The two queries, on the connection's own driver: stored bytes read as bytes."""

    def __init__(self, raw: Any, vendor: str) -> None:
        self.raw, self.postgres = raw, vendor == "postgresql"
        self.sqlite_mmap: int | None = None

    def __enter__(self) -> _Source:
        if self.postgres:
            from psycopg import Cursor
            from psycopg.types.string import ByteaBinaryLoader

            # Server-side binding and binary results (Django's own cursors bind on the client).
            self.batch_cursor = Cursor(self.raw)
            self.event_cursor = Cursor(self.raw)
            # The canonical text exactly as stored (UTF-8), not decoded to str and encoded back.
            self.event_cursor.adapters.register_loader("text", ByteaBinaryLoader)
        else:
            current = self.raw.execute("PRAGMA mmap_size").fetchone()  # none for a database in memory
            if current is not None:
                self.sqlite_mmap = int(current[0])
                self.raw.execute(f"PRAGMA mmap_size = {SQLITE_MMAP}")  # one read-only pass: no copies into the cache
            self.batch_cursor = self.event_cursor = self.raw
        return self

    def __exit__(self, *exc: object) -> None:
        if self.postgres:
            self.batch_cursor.close()
            self.event_cursor.close()
        elif self.sqlite_mmap is not None:
            self.raw.execute(f"PRAGMA mmap_size = {int(self.sqlite_mmap)}")

    def batches(self, since: int, after_seq: int, last_seq: int, limit: int) -> list[SealedBatch]:
        if self.postgres:
            self.batch_cursor.execute(BATCH_SQL, [since, after_seq, last_seq, limit], binary=True)
            return [SealedBatch(*row) for row in self.batch_cursor.fetchall()]
        rows = self.raw.execute(BATCH_SQL.replace("%s", "?"), (since, after_seq, last_seq, limit)).fetchall()
        return [
            SealedBatch(
                row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], _sqlite_datetime(row[9])
            )
            for row in rows
        ]

    def events(self, after: int, last: int) -> list[Row]:
        if self.postgres:
            self.event_cursor.execute(EVENT_SQL, [after, last], binary=True)
            return self.event_cursor.fetchall()
        return self.raw.execute(_SQLITE_EVENT_SQL, (after, last)).fetchall()


SQLITE_MMAP = 2**30
_SQLITE_EVENT_SQL = EVENT_SQL.replace("canonical", "CAST(canonical AS BLOB)").replace("%s", "?")


def _sqlite_datetime(value: str | datetime) -> datetime:
    # As Django stores it on SQLite: naive, in UTC (its converter may already have parsed it).
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Checking -----------------------------------------------------------------------------------


def _check_batch(batch: SealedBatch, prev: bytes, report: Report, expected_seq: int | None) -> None:
    where = f"batch {batch.seq}"
    if expected_seq is not None and batch.seq != expected_seq:
        report.findings.append(
            Finding(Damage.TRUNCATED, batch.first_id, f"batches {expected_seq}-{batch.seq - 1} are missing")
        )
    document = batch_document(
        seq=batch.seq, first_id=batch.first_id, last_id=batch.last_id, size=batch.size, ids=batch.ids,
        root=batch.root, prev=batch.prev, sealed_at=batch.sealed_at,
    )  # fmt: skip
    if batch_hash(document) != batch.hash or merkle_root(_split(batch.leaves)) != batch.root:
        report.findings.append(Finding(Damage.BATCH_EDITED, batch.first_id, f"{where} does not match its own hash"))
    if batch.prev != prev:
        report.findings.append(
            Finding(Damage.CHAIN_BROKEN, batch.first_id, f"{where} does not follow the batch before it")
        )


def _split(leaves: bytes) -> list[bytes]:
    return [leaves[i : i + 32] for i in range(0, len(leaves), 32)]


def _check_events(batch: SealedBatch, rows: list[Row], report: Report, deep: bool) -> None:
    report.events += len(rows)
    sealed_ids = decode_ids(batch.ids)
    leaves = batch.leaves
    # The usual case, at the speed of the hashing: the events are exactly the sealed ones, each
    # hashes to its stored leaf, and the stored leaves are the sealed ones.
    if (
        not deep
        and len(leaves) == 32 * len(sealed_ids)
        and [row[0] for row in rows] == sealed_ids
        and b"".join([_sha256(_LEAF + canonical).digest() for _id, canonical, _leaf in rows]) == leaves
        and b"".join([leaf for _id, _canonical, leaf in rows]) == leaves
    ):
        return
    # Otherwise, event by event, to name each damaged position and its kind.
    expected = dict(zip(sealed_ids, _split(leaves), strict=False))
    found = set()
    for row in rows:
        found.add(row[0])
        _check_event(row, expected.get(row[0]), report, deep)
    for missing in sorted(set(expected) - found):
        report.findings.append(Finding(Damage.DELETED, missing, f"sealed in batch {batch.seq}, no longer in the trail"))


def _check_event(row: Row, sealed_leaf: bytes | None, report: Report, deep: bool) -> None:
    event_id, canonical, leaf = row
    if sealed_leaf is None:
        report.findings.append(Finding(Damage.INSERTED, event_id, "inside a sealed range but in no batch"))
        return
    own = _sha256(_LEAF + canonical).digest()  # leaf_hash() of the stored text
    if own != leaf:
        report.findings.append(Finding(Damage.EDITED, event_id, "its bytes do not match its leaf hash"))
    elif leaf != sealed_leaf:
        damage = Damage.REORDERED if _claims_other_position(canonical, event_id) else Damage.REHASHED
        report.findings.append(Finding(damage, event_id, "its leaf hash is not the one sealed at this position"))
    elif deep and _claims_other_position(canonical, event_id):
        report.findings.append(Finding(Damage.REORDERED, event_id, "it names another position"))


def _claims_other_position(canonical: str | bytes, event_id: int) -> bool:
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
