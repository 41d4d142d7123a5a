"""Writing the trail. Only services of other apps call these, inside their transaction."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from registru.audit.actions import AuditAction
from registru.audit.canonical import digest, json_value
from registru.audit.models import AuditEvent
from registru.core.actors import actor_identity
from registru.core.context import current_context

type Changes = dict[str, tuple[Any, Any]]


def diff(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """Field-level ``{name: (old, new)}`` for the fields whose value differs."""
    return {
        name: (before.get(name), value)
        for name, value in after.items()
        if json_value(before.get(name)) != json_value(value)
    }


def record(
    action: AuditAction,
    *,
    actor: Any,
    target: models.Model,
    changes: Changes | None = None,
    reason: str = "",
    subject_id: int | None = None,
) -> AuditEvent:
    """Append one event for ``target`` to the trail, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the service's transaction")
    context = current_context()
    actor_id, actor_label = actor_identity(actor)
    fields = {
        "occurred_at": timezone.now(),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "channel": str(context.channel),
        "request_id": context.request_id,
        "action": str(action),
        "target_type": target._meta.label_lower,
        "target_id": target.pk,
        "subject_id": subject_id,
        "changes": {name: [json_value(old), json_value(new)] for name, (old, new) in (changes or {}).items()},
        "reason": reason,
    }
    return AuditEvent.objects.create(digest=digest(json_value(fields)), **fields)
