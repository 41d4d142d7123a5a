"""Verifying the trail: every event against its leaf hash and its batch, every batch against
the chain, and the chain against signed checkpoints.

It streams (one batch of events in memory at a time) and names the first damaged position and
the kind of damage: an event edited, deleted, inserted or reordered, a column of an event that
no longer says what its hashed bytes say, a batch edited, renumbered or recomputed, the tail
truncated, a checkpoint or a prune record that no trusted key signed.

Everything a page, the API, an export or a proof shows of an event comes from columns that are
checked here against the event's canonical bytes (the columns are an index for filtering; the
bytes are what the hash covers). The chain is anchored: the first batch is number 1 and follows
the genesis hash, and numbering is contiguous, so a re-rooted chain cannot step around a
checkpoint.
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
    FORMAT_VERSION,
    GENESIS,
    LEAF,
    batch_document,
    batch_hash,
    decode_ids,
    json_value,
    leaf_hash,
    merkle_root,
)
from registru.audit.models import AuditBatch, AuditCheckpoint, AuditEvent, AuditPrune
from registru.audit.signing import PRUNE_FORMAT, Checkpoint, SigningKeyMissingError, trusted_keys
from registru.vault.integrity import find_key_damage
from registru.vault.keys import MasterKeyMissingError


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
    CHECKPOINT_EDITED = "checkpoint row edited"  # its columns do not say what its statement says
    CHECKPOINT_ABSENT = "checkpoint's batch absent"
    COLUMN_EDITED = "column edited"  # an event's index column does not say what its bytes say
    PRUNE_FORGED = "prune record not signed"
    KEY_DAMAGED = "data key damaged"  # a key removed, cleared or swapped outside erasure


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
    # The tail that no valid checkpoint covers yet: changes there are found only once a
    # checkpoint signs it (every REGISTRU_AUDIT_CHECKPOINT_MINUTES).
    covered_up_to: int = 0  # the last event id of the newest valid checkpoint
    covered_at: str = ""  # when that checkpoint was signed
    tail_events: int = 0
    tail_since: datetime | None = None  # the time of the oldest event after it
    keys_checked: bool = False  # the people's data keys were checked (needs the master key)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: (f.position is None, f.position or 0), default=None)


Progress = Callable[[int, int], None]
# The columns after the leaf are the event's index, checked against its canonical bytes.
EVENT_COLUMNS = (
    "id, canonical, leaf, occurred_at, actor_id, actor_label, channel, request_id, action, target_type, target_id, "
    "subject_id"
)
EVENT_SQL = f"SELECT {EVENT_COLUMNS} FROM audit_auditevent WHERE id > %s AND id <= %s ORDER BY id"  # noqa: S608
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


# An event's id, canonical bytes (UTF-8), stored leaf, then its index columns (EVENT_COLUMNS).
type Row = tuple[Any, ...]


def verify(
    *,
    since: int = 0,
    checkpoints: list[Checkpoint] | None = None,
    deep: bool = False,
    progress: Progress | None = None,
    workers: int = 1,
    trusted: dict[str, bytes] | None = None,
    data_keys: bool = True,
) -> Report:
    """Verify the trail from the batch holding event ``since`` (0: from the beginning).

    ``checkpoints`` are checked against ``trusted`` keys (default: the installation's, see
    ``signing.trusted_keys``); so are the signed prune records, and the stored checkpoints'
    columns against their statements. With ``workers`` > 1 the batches are checked by that
    many processes, each a run of PART batches at a time from the state the run before it ends
    in (the same checks, the same findings); only for a trail that other processes can read
    (committed, not in memory). With ``data_keys``, every person's data key is checked too: a
    key missing or swapped for a person who is not erased turns their History to "[erased]"
    without an event, and is damage.
    """
    report = Report()
    checkpoints = checkpoints or []
    if trusted is None:
        trusted = _trusted_if_needed(bool(checkpoints))
    prunes = check_prunes(trusted, report)
    check_stored_checkpoint_columns(report)
    wanted = frozenset(checkpoint.batch_seq for checkpoint in checkpoints) | {p.up_to_batch for p in prunes}
    heads: dict[int, tuple[bytes, int]] = {}
    scope = _Scope(since, max((p.up_to_batch for p in prunes), default=0), deep, wanted)
    if workers > 1 and _can_fork():
        _walk_in_processes(scope, workers, report, heads, progress)
    else:
        _walk(scope, _first_start(since), report, heads, progress=progress)
    _check_unsealed(report, deep)
    _check_pruned_heads(prunes, heads, report, since)
    valid = [c for c in checkpoints if _check_checkpoint(c, heads, report, trusted, since)]
    _measure_tail(report, valid)
    if data_keys:
        _check_data_keys(report)
    return report


def _check_data_keys(report: Report) -> None:
    """A key missing, cleared, swapped or orphaned outside erasure (``vault.integrity``): the
    person's History would read "[erased]" while they are still a customer."""
    try:
        damaged = find_key_damage()
    except MasterKeyMissingError:
        report.keys_checked = False  # a verifier without the master key checks the trail only
        return
    report.keys_checked = True
    report.findings.extend(Finding(Damage.KEY_DAMAGED, None, str(finding)) for finding in damaged)


def _trusted_if_needed(has_checkpoints: bool) -> dict[str, bytes]:
    """The installation's trusted keys; a missing key is an error only where something signed
    is to be checked (a trail with no checkpoint and no prune needs no key)."""
    if not has_checkpoints and not AuditPrune.objects.exists():
        return {}
    trusted = trusted_keys()
    if not trusted:
        raise SigningKeyMissingError(
            "There are signed records to check but no trusted key: restore the audit signing key "
            "(REGISTRU_AUDIT_SIGNING_KEY_FILE) or name its public key in REGISTRU_AUDIT_TRUSTED_KEYS."
        )
    return trusted


def _first_start(since: int) -> _Start:
    # From the beginning, the chain is anchored: batch 1, after the genesis hash.
    return _Start(_start(since), 1 if since <= 0 else None, None)


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
    heads: dict[int, tuple[bytes, int]],
    *,
    progress: Progress | None = None,
    seqs: tuple[int, int] = (FIRST, LAST),
) -> None:
    """Check the batches with a seq in ``seqs`` (after the first, up to the second) and their events."""
    prev, expected_next = start.prev, start.expected_next
    for batch, rows in _read_ahead(scope, seqs, start.after):
        _check_batch(batch, prev, report, expected_next)
        # Events between the previous batch and this one belong to this one, or were inserted.
        # The retention path deleted the events of batches up to ``pruned_up_to``: those still
        # there are checked all the same, and only their absence is not damage.
        _check_events(batch, rows, report, scope.deep, pruned=batch.seq <= scope.pruned_up_to)
        if batch.seq in scope.wanted:
            heads[batch.seq] = (batch.hash, batch.last_id)
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
    scope: _Scope, workers: int, report: Report, heads: dict[int, tuple[bytes, int]], progress: Progress | None
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
    heads: dict[int, tuple[bytes, int]]
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
    start = _first_start(scope.since) if before is None else _Start(bytes(before[2]), before[0] + 1, before[1])
    report, heads = Report(), dict[int, tuple[bytes, int]]()
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


def _read_ahead(scope: _Scope, seqs: tuple[int, int], after: int | None) -> Iterator[tuple[SealedBatch, list[Row]]]:
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
) -> Iterator[list[tuple[SealedBatch, list[Row]]]]:
    since = scope.since
    seq, last_seq = seqs
    while batches := source.batches(since, seq, last_seq, GROUP):
        if after is None:
            after = _before(batches[0], since)
        group: list[tuple[SealedBatch, list[Row]]] = []
        ranges = []
        for batch in batches:
            ranges.append((batch, after))
            after = batch.last_id
        # Pruned batches are read too (an index range with no rows costs nothing): an event
        # left in a batch said to be pruned is still checked.
        follow = all(low < batch.last_id for batch, low in ranges)
        rows = source.events(ranges[0][1], ranges[-1][0].last_id) if follow else []
        ids = [row[0] for row in rows]
        for batch, low in ranges:
            if follow:
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

            # Server-side binding and binary results (Django's own cursors bind on the client).
            # The canonical text comes as its UTF-8 bytes (convert_to), not decoded to str and
            # encoded back; the other columns come as what they are.
            self.batch_cursor = Cursor(self.raw)
            self.event_cursor = Cursor(self.raw)
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
            self.event_cursor.execute(_PG_EVENT_SQL, [after, last], binary=True)
            return self.event_cursor.fetchall()
        return self.raw.execute(_SQLITE_EVENT_SQL, (after, last)).fetchall()


SQLITE_MMAP = 2**30
# The time as SQLite stores it (text), not parsed into a datetime by the driver's converter
# (that parse cost more than the hashing); a value of another storage class reads as NULL.
_SQLITE_EVENT_SQL = (
    EVENT_SQL.replace("canonical", "CAST(canonical AS BLOB)")
    .replace("occurred_at", "CASE typeof(occurred_at) WHEN 'text' THEN occurred_at END", 1)
    .replace("%s", "?")
)
_PG_EVENT_SQL = EVENT_SQL.replace("canonical", "convert_to(canonical, 'UTF8')")


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


def _check_events(batch: SealedBatch, rows: list[Row], report: Report, deep: bool, *, pruned: bool = False) -> None:
    report.events += len(rows)
    if pruned and not rows:
        return
    sealed_ids = decode_ids(batch.ids)
    leaves = batch.leaves
    # The usual case, at the speed of the hashing: the events are exactly the sealed ones, each
    # hashes to its stored leaf, the stored leaves are the sealed ones, and every index column
    # says what the bytes say.
    if (
        not deep
        and len(leaves) == 32 * len(sealed_ids)
        and [row[0] for row in rows] == sealed_ids
        and b"".join([_sha256(_LEAF + row[1]).digest() for row in rows]) == leaves
        and b"".join([row[2] for row in rows]) == leaves
        and all(map(index_matches, rows))
    ):
        return
    # Otherwise, event by event, to name each damaged position and its kind.
    expected = dict(zip(sealed_ids, _split(leaves), strict=False))
    found = set()
    for row in rows:
        found.add(row[0])
        _check_event(row, expected.get(row[0]), report, deep)
    if pruned:
        return  # the retention path deleted the rest, on purpose (and signed it)
    for missing in sorted(set(expected) - found):
        report.findings.append(Finding(Damage.DELETED, missing, f"sealed in batch {batch.seq}, no longer in the trail"))


def _check_event(row: Row, sealed_leaf: bytes | None, report: Report, deep: bool) -> None:
    _check_leaf(row, sealed_leaf, report, deep)
    _check_columns(row, report, "")


def _check_leaf(row: Row, sealed_leaf: bytes | None, report: Report, deep: bool) -> None:
    event_id, canonical, leaf = row[0], row[1], row[2]
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
        cursor.execute(f"SELECT {EVENT_COLUMNS} FROM audit_auditevent WHERE id > %s ORDER BY id", [last])  # noqa: S608
        for row in cursor:
            event_id, canonical, leaf = row[0], row[1], row[2]
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
            _check_columns((event_id, _as_bytes(canonical), *row[2:]), report, " (not sealed yet)")


# The index columns -------------------------------------------------------------------------
#
# The canonical document's keys are sorted: action, actor, at, changes, channel, id, reason,
# request, state (when the event commits to a record's state), subject, target, v. Every key but
# ``changes``, ``reason`` and ``state`` comes from an index column, so the bytes must begin with
# a head and end with a tail built from the columns, ``,"request":…`` must stand before the
# state (or the tail), and ``,"channel":…,"id":…`` right before ``,"reason":``. That last one is
# found from the right: the reason after it is a JSON string, in which every quote is escaped,
# so ``,"`` never occurs inside it. No JSON is parsed on this path (parsing cost several times
# the hashing); a mismatch is then explained column by column.

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_REASON = b',"reason":'


def _as_bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


_NOT_TEXT = "\ufffe(not stored as text)"


def _text(value: Any) -> Any:
    # A text column holding bytes (SQLite keeps whatever storage class it is given: a BLOB of
    # the same characters compares unequal to the text in every SQL filter, and so could hide
    # an event from the pages and from the live-state check) is never what the bytes say.
    return _NOT_TEXT if isinstance(value, (bytes, memoryview)) else value


def _at_text(value: Any) -> str:
    """The event time column as the canonical document writes it (ISO 8601, UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite: naive UTC
            return value.isoformat() + "+00:00"
        return value.astimezone(UTC).isoformat()
    if not isinstance(value, str):
        return _NOT_TEXT  # NULL, or a value of another storage class
    return value.replace(" ", "T", 1) + "+00:00"  # SQLite: "YYYY-MM-DD HH:MM:SS[.ffffff]", naive UTC


@functools.lru_cache(maxsize=8192)
def _head_start(action: Any, actor_id: Any, actor_label: Any) -> bytes:
    # Few actions and actors make most of a trail: their encoding is made once.
    return f'{{"action":{_encode(_text(action))},"actor":{_encode([actor_id, _text(actor_label)])},"at":'.encode()


@functools.lru_cache(maxsize=8192)
def _json_text(value: Any) -> bytes:
    """A JSON string (or null), as the canonical form writes it (for values that repeat)."""
    return _encode(_text(value)).encode()


def _json_request(value: Any) -> bytes:
    text = _text(value)
    # Request ids are opaque ASCII tokens: quoted as they are, unless JSON would escape them.
    if isinstance(text, str) and text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return b'"' + text.encode() + b'"'
    return _encode(text).encode()


def _json_int(value: int | None) -> bytes:
    return b"null" if value is None else str(value).encode()


def _head_and_tail(row: Row) -> tuple[bytes, bytes, bytes, bytes]:
    at, actor_id, actor_label, channel, request_id, action, target_type, target_id, subject = row[3:]
    head = _head_start(action, actor_id, actor_label) + _json_at(at) + b',"changes":'
    middle = b',"channel":' + _json_text(channel) + b',"id":' + _json_int(row[0])
    request = b',"request":' + _json_request(request_id)
    tail = (
        b',"subject":' + _json_int(subject) + b',"target":[' + _json_text(target_type) + b","
        + _json_int(target_id) + b'],"v":' + _VERSION + b"}"
    )  # fmt: skip
    return head, middle, request, tail


_VERSION = str(FORMAT_VERSION).encode()


def _json_at(value: Any) -> bytes:
    return b'"' + _at_text(value).encode() + b'"'


_STATE = b',"state":"'


def index_matches(row: Row) -> bool:
    """Whether every index column of an event row says what its canonical bytes say (searched
    in place, by offsets: no copy of the bytes is made)."""
    canonical = row[1]
    head, middle, request, tail = _head_and_tail(row)
    if not (canonical.startswith(head) and canonical.endswith(tail)):
        return False
    end = len(canonical) - len(tail)
    # The state entry, when there is one: a string with no quote in it, right before the tail.
    if canonical[end - 1 : end] == b'"':
        state_at = canonical.rfind(_STATE, len(head), end)
        if state_at >= 0 and canonical.find(b'"', state_at + len(_STATE), end - 1) < 0:
            end = state_at
    end -= len(request)
    if end < len(head) or not canonical.startswith(request, end):
        return False
    reason_at = canonical.rfind(_REASON, len(head), end)
    start = reason_at - len(middle)
    return reason_at >= 0 and start >= len(head) and canonical.startswith(middle, start)


_COLUMN_OF = {
    "at": "occurred_at", "actor": "actor_id/actor_label", "channel": "channel", "request": "request_id",
    "action": "action", "target": "target_type/target_id", "subject": "subject_id",
}  # fmt: skip


def column_differences(row: Row) -> list[str]:
    """The index columns of an event row that do not say what its canonical bytes say."""
    if index_matches(row):
        return []
    try:
        payload = json.loads(row[1])
    except ValueError:
        return ["canonical"]
    _id, _c, _l, at, actor_id, actor_label, channel, request_id, action, target_type, target_id, subject = row
    columns = {
        "at": _at_text(at), "actor": [actor_id, _text(actor_label)], "channel": _text(channel),
        "request": _text(request_id), "action": _text(action), "target": [_text(target_type), target_id],
        "subject": subject,
    }  # fmt: skip
    return [_COLUMN_OF[key] for key, value in columns.items() if payload.get(key) != value] or ["layout"]


def _check_columns(row: Row, report: Report, where: str) -> None:
    differences = column_differences(row)
    if differences:
        detail = f"{', '.join(differences)} no longer says what its hashed bytes say{where}"
        report.findings.append(Finding(Damage.COLUMN_EDITED, row[0], detail))


# Signed records: prunes and checkpoints -------------------------------------------------------


@dataclass(frozen=True)
class ValidPrune:
    up_to_batch: int
    head: bytes
    last_event_id: int


def check_prunes(trusted: dict[str, bytes], report: Report) -> list[ValidPrune]:
    """The prune records that a trusted key signed, in an unbroken chain whose columns say what
    their statements say; any other is damage, and its batches' events are checked as usual."""
    valid: list[ValidPrune] = []
    prev = GENESIS
    rows = AuditPrune.objects.order_by("id").values_list(
        "id", "up_to_batch", "events", "reason", "actor_label", "statement", "signature", "key_fingerprint", "pruned_at"
    )
    for number, row in enumerate(rows, 1):
        problem, fields = _prune_problem(row, number, prev, trusted, valid)
        if problem:
            report.findings.append(Finding(Damage.PRUNE_FORGED, None, f"prune record {row[0]}: {problem}"))
            continue
        prev = _sha256(row[5].encode("utf-8")).digest()
        head = bytes.fromhex(fields["head"])
        valid.append(ValidPrune(int(fields["up_to_batch"]), head, int(fields["last_event_id"])))
    return valid


def _prune_problem(
    row: tuple[Any, ...], number: int, prev: bytes, trusted: dict[str, bytes], valid: list[ValidPrune]
) -> tuple[str, dict[str, Any]]:
    _id, up_to_batch, events, reason, actor_label, statement, signature, key_fingerprint, pruned_at = row
    signed = Checkpoint(statement or "", bytes(signature or b""), trusted.get(key_fingerprint, bytes(32)))
    if not statement or not signed.signature_valid(trusted, expected_format=PRUNE_FORMAT):
        return "no valid signature of a trusted key", {}
    fields = signed.fields
    if fields.get("number") != number or fields.get("prev") != prev.hex():
        return "not in the chain of prune statements (one was removed, added or reordered)", fields
    said = {
        "up_to_batch": up_to_batch, "events": events, "reason": reason, "actor": actor_label,
        "at": json_value(pruned_at),
    }  # fmt: skip
    if any(fields.get(key) != value for key, value in said.items()):
        return "its columns do not say what its signed statement says", fields
    if valid and int(fields["up_to_batch"]) <= valid[-1].up_to_batch:
        return "it prunes nothing after the prune before it", fields
    return "", fields


def _check_pruned_heads(
    prunes: list[ValidPrune], heads: dict[int, tuple[bytes, int]], report: Report, since: int
) -> None:
    for prune in prunes:
        walked = heads.get(prune.up_to_batch)
        if walked is None:
            if since <= 0:
                detail = f"a signed prune names batch {prune.up_to_batch}, which is not in the chain"
                report.findings.append(Finding(Damage.TRUNCATED, prune.last_event_id, detail))
            continue
        if walked != (prune.head, prune.last_event_id):
            detail = f"batches up to {prune.up_to_batch} are not the ones the signed prune statement names"
            report.findings.append(Finding(Damage.RECOMPUTED, prune.last_event_id, detail))


def _check_checkpoint(
    checkpoint: Checkpoint, heads: dict[int, tuple[bytes, int]], report: Report, trusted: dict[str, bytes], since: int
) -> bool:
    """Check one checkpoint; True when it is valid and the trail agrees with it."""
    try:
        label = (
            f"checkpoint of batch {checkpoint.batch_seq} signed {checkpoint.created_at} "
            f"by key {checkpoint.key_fingerprint}"
        )
    except (ValueError, KeyError, TypeError):
        label = "an unreadable checkpoint"
    if not checkpoint.signature_valid(trusted):
        untrusted = trusted.get(checkpoint.key_fingerprint) != checkpoint.public_key
        why = "signed by a key this installation does not trust" if untrusted else "its signature does not hold"
        report.findings.append(Finding(Damage.CHECKPOINT_INVALID, None, f"{label}: {why}"))
        return False
    report.checkpoints.append(label)
    walked = heads.get(checkpoint.batch_seq)
    if checkpoint.batch_seq > report.last_batch_seq:
        detail = (
            f"{label}: the trail now ends at batch {report.last_batch_seq}, before event {checkpoint.last_event_id}"
        )
        report.findings.append(Finding(Damage.TRUNCATED, checkpoint.last_event_id, detail))
    elif walked is None:
        if since > 0:
            return True  # before the part verified: nothing to compare with
        detail = f"{label}: batch {checkpoint.batch_seq} is not in the chain (renumbered or re-rooted)"
        report.findings.append(Finding(Damage.CHECKPOINT_ABSENT, checkpoint.last_event_id, detail))
    elif walked != (checkpoint.head, checkpoint.last_event_id):
        detail = f"{label}: batches up to {checkpoint.batch_seq} were rebuilt after it was signed"
        report.findings.append(Finding(Damage.RECOMPUTED, checkpoint.last_event_id, detail))
    else:
        return True
    return False


def check_stored_checkpoint_columns(report: Report) -> None:
    """The columns of stored checkpoints (shown on the trail page and the dashboard) say what
    their signed statements say."""
    for stored in AuditCheckpoint.objects.order_by("seq"):
        if not checkpoint_row_matches(stored):
            detail = f"checkpoint {stored.seq}: its columns do not say what its signed statement says"
            report.findings.append(Finding(Damage.CHECKPOINT_EDITED, None, detail))


def checkpoint_row_matches(stored: AuditCheckpoint) -> bool:
    """Whether a stored checkpoint's columns say what its statement says."""
    try:
        fields = json.loads(stored.statement)
        said = (fields["batch_seq"], fields["head"], fields["last_event_id"], fields["events"], fields["at"])
    except (ValueError, KeyError, TypeError):
        return False
    shown = (stored.batch_seq, bytes(stored.head).hex(), stored.last_event_id, stored.events)
    return said == (*shown, json_value(stored.created_at))


def _measure_tail(report: Report, valid: list[Checkpoint]) -> None:
    newest = max(valid, key=lambda checkpoint: checkpoint.last_event_id, default=None)
    if newest is not None:
        report.covered_up_to, report.covered_at = newest.last_event_id, newest.created_at
    tail = AuditEvent.objects.filter(id__gt=report.covered_up_to)
    report.tail_events = tail.count()
    report.tail_since = tail.order_by("id").values_list("occurred_at", flat=True).first()
