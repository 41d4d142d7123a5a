"""The retention path: the one documented way to delete audit events.

Only whole sealed batches older than a given event are pruned; the batches themselves stay, so
the chain and every checkpoint still verify, and the prune is itself recorded (who, when, why).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from registru.audit import state
from registru.audit.actions import AuditAction
from registru.audit.canonical import GENESIS, json_value
from registru.audit.models import AuditBatch, AuditEvent, AuditPrune
from registru.audit.services import record
from registru.audit.services.sealing import seal
from registru.audit.signing import PRUNE_FORMAT, sign
from registru.core.actors import actor_identity
from registru.core.context import current_context, service_scope
from registru.core.dbguard import retention_path


class NothingToPruneError(RuntimeError):
    pass


class LiveDataDiffersError(RuntimeError):
    """The live records do not match the trail: pruning (and its baselines) would hide it."""


def prune(*, before_event: int, actor: Any, reason: str) -> AuditPrune:
    """Delete the events of every sealed batch that ends before ``before_event``."""
    current_context()
    if not reason.strip():
        raise ValueError("a prune needs a reason (the retention rule it applies)")
    seal()
    with transaction.atomic(), service_scope(), retention_path():
        last = AuditBatch.objects.filter(last_id__lt=before_event).order_by("-seq").first()
        already = AuditPrune.objects.order_by("-up_to_batch").values_list("up_to_batch", flat=True).first() or 0
        if last is None or last.seq <= already:
            raise NothingToPruneError(f"no sealed batch ends before event {before_event} that is not pruned yet")
        records = _records_losing_events(last)
        _refuse_if_live_data_differs()
        deleted = _delete_events(last)
        pruned = _signed_prune(last, actor_label=actor_identity(actor)[1], reason=reason, events=deleted)
        record(AuditAction.TRAIL_PRUNED, actor=actor, target=pruned, reason=reason,
               changes={"events": (None, deleted), "up_to_batch": (None, last.seq)})  # fmt: skip
        # A record whose latest state commitment is pruned would look inserted outside Registru:
        # each one gets a baseline of its row as it stands (just verified to be what the trail said).
        state.commit_records(records, actor=actor)
        return pruned


def _records_losing_events(last: AuditBatch) -> list[tuple[type[models.Model], int, int | None]]:
    """The audited records that have events among those about to be pruned."""
    by_label = {model._meta.label_lower: model for model in state.audited_models()}
    rows = (
        AuditEvent.objects.filter(id__lte=last.last_id, target_type__in=list(by_label), target_id__isnull=False)
        .order_by("target_type", "target_id")
        .values_list("target_type", "target_id", "subject_id")
        .distinct()
    )
    return [(by_label[label], int(target_id or 0), subject_id) for label, target_id, subject_id in rows]


def _refuse_if_live_data_differs() -> None:
    """A prune followed by baselines must not launder a change made outside Registru: the live
    records are checked against the trail first, and any difference stops the prune."""
    report = state.verify_state(name_fields=False)
    if not report.intact:
        raise LiveDataDiffersError(
            f"{len(report.findings)} record(s) differ from what the trail says (first: {report.first}); "
            "a prune now would hide it. Run `registru audit verify --state` and deal with it first."
        )


def _signed_prune(last: AuditBatch, *, actor_label: str, reason: str, events: int) -> AuditPrune:
    """The prune record with its signed statement: which batch (and its hash) the events were
    pruned up to, chained to the statement before it, so that a row inserted, edited or
    removed in the prune table is found by verification."""
    before = AuditPrune.objects.order_by("-id").values_list("statement", flat=True)
    statements = list(before[:1])
    prev = hashlib.sha256(statements[0].encode("utf-8")).digest() if statements and statements[0] else GENESIS
    pruned_at = timezone.now()
    signed = sign(
        {
            "number": AuditPrune.objects.count() + 1,
            "prev": prev.hex(),
            "up_to_batch": last.seq,
            "head": bytes(last.hash).hex(),
            "last_event_id": last.last_id,
            "events": events,
            "actor": actor_label,
            "reason": reason,
            "at": json_value(pruned_at),
        },
        fmt=PRUNE_FORMAT,
    )
    return AuditPrune.objects.create(
        up_to_batch=last.seq, pruned_at=pruned_at, actor_label=actor_label, reason=reason, events=events,
        statement=signed.statement, signature=signed.signature, key_fingerprint=signed.key_fingerprint,
    )  # fmt: skip


def _delete_events(last: AuditBatch) -> int:
    """Delete the events of the sealed batches up to ``last``; how many were deleted."""
    if connection.vendor == "postgresql":
        # The application's role holds no DELETE on the trail: the tables' owner's function
        # deletes the events of whole sealed batches, and nothing else (core.dbguard).
        with connection.cursor() as cursor:
            cursor.execute("SELECT registru_prune_events(%s)", [last.seq])
            return int(cursor.fetchone()[0])
    return AuditEvent.objects.filter(id__lte=last.last_id)._raw_delete_events()[0]
