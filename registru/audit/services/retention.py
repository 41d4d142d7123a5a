"""The retention path: the one documented way to delete audit events.

Only whole sealed batches older than a given event are pruned; the batches themselves stay, so
the chain and every checkpoint still verify, and the prune is itself recorded (who, when, why).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from registru.audit.actions import AuditAction
from registru.audit.models import AuditBatch, AuditEvent, AuditPrune
from registru.audit.services import record
from registru.audit.services.sealing import seal
from registru.core.actors import actor_identity
from registru.core.context import current_context, service_scope
from registru.core.dbguard import retention_path


class NothingToPruneError(RuntimeError):
    pass


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
        deleted = _delete_events(last)
        pruned = AuditPrune.objects.create(
            up_to_batch=last.seq, pruned_at=timezone.now(), actor_label=actor_identity(actor)[1],
            reason=reason, events=deleted,
        )  # fmt: skip
        record(AuditAction.TRAIL_PRUNED, actor=actor, target=pruned, reason=reason,
               changes={"events": (None, deleted), "up_to_batch": (None, last.seq)})  # fmt: skip
        return pruned


def _delete_events(last: AuditBatch) -> int:
    """Delete the events of the sealed batches up to ``last``; how many were deleted."""
    if connection.vendor == "postgresql":
        # The application's role holds no DELETE on the trail: the tables' owner's function
        # deletes the events of whole sealed batches, and nothing else (core.dbguard).
        with connection.cursor() as cursor:
            cursor.execute("SELECT registru_prune_events(%s)", [last.seq])
            return int(cursor.fetchone()[0])
    return AuditEvent.objects.filter(id__lte=last.last_id)._raw_delete_events()[0]
