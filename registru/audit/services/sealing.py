"""Sealing: binding committed events into hash-chained Merkle batches.

Writers never wait for each other; the sealer runs apart (every minute, and before each
checkpoint). On PostgreSQL it first takes the table's EXCLUSIVE lock for an instant: that lock
waits for every writer holding an allocated position to finish, so all events up to the highest
id then visible are final, and sealing them can never leave a late commit outside a batch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from registru.audit.canonical import GENESIS, batch_document, batch_hash, encode_ids, merkle_root
from registru.audit.models import AuditBatch, AuditEvent
from registru.core.context import service_scope

BATCH_SIZE = 1024  # overridable with settings.AUDIT_BATCH_SIZE (tests use small batches)
SEALER_LOCK = 0x5245_4749  # "REGI": one sealer at a time on PostgreSQL


def sealable_boundary() -> int:
    """The highest event id below which no transaction can still add an event."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The EXCLUSIVE lock needs a privilege the application's role does not hold: the
            # tables' owner's function takes it (until this transaction ends) and reads the
            # boundary under it (core.dbguard).
            with connection.cursor() as cursor:
                cursor.execute("SELECT registru_seal_boundary()")
                return int(cursor.fetchone()[0])
        return AuditEvent.objects.aggregate(highest=Max("id"))["highest"] or 0


def seal(*, limit: int | None = None) -> int:
    """Seal every final event not yet in a batch; returns how many events were sealed."""
    boundary = sealable_boundary()
    sealed = 0
    while limit is None or sealed < limit:
        count = _seal_one_batch(boundary)
        if count == 0:
            break
        sealed += count
    return sealed


def _seal_one_batch(boundary: int) -> int:
    with transaction.atomic(), service_scope():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEALER_LOCK])
        last = AuditBatch.objects.order_by("-seq").values_list("seq", "last_id", "hash").first()
        seq, after, prev = (last[0] + 1, last[1], bytes(last[2])) if last else (1, 0, GENESIS)
        rows = list(
            AuditEvent.objects.filter(id__gt=after, id__lte=boundary)
            .order_by("id")
            .values_list("id", "leaf")[: getattr(settings, "AUDIT_BATCH_SIZE", BATCH_SIZE)]
        )
        if not rows:
            return 0
        _write_batch(seq, prev, [row[0] for row in rows], [bytes(row[1]) for row in rows])
        return len(rows)


def _write_batch(seq: int, prev: bytes, ids: list[int], leaves: list[bytes]) -> AuditBatch:
    root = merkle_root(leaves)
    sealed_at = timezone.now()
    document = batch_document(
        seq=seq, first_id=ids[0], last_id=ids[-1], size=len(ids), ids=encode_ids(ids),
        root=root, prev=prev, sealed_at=sealed_at,
    )  # fmt: skip
    return AuditBatch.objects.create(
        seq=seq, first_id=ids[0], last_id=ids[-1], size=len(ids), ids=document["ids"],
        leaves=b"".join(leaves), root=root, prev=prev, hash=batch_hash(document), sealed_at=sealed_at,
    )  # fmt: skip
