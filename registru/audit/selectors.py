"""Reading the trail, always on behalf of a user: filters, and who may read what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from registru.accounts.roles import Capability
from registru.audit.models import AuditCheckpoint, AuditEvent, TrailVerification


@dataclass
class TrailFilter:
    """What a trail or a History tab is narrowed to. Every value is optional."""

    field: str = ""
    actor_id: int | None = None
    channel: str = ""
    action: str = ""
    target_type: str = ""
    subject_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def may_read_trail(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.can(Capability.READ_AUDIT_TRAIL)


def filtered(events: QuerySet[AuditEvent], criteria: TrailFilter) -> QuerySet[AuditEvent]:
    if criteria.field:
        # Filtered on the hashed bytes, not on the ``fields`` index column (which verification
        # does not hold to them): a changed field is a key of ``changes`` whose value is the
        # [old, new] pair. The same text could in principle stand inside a value; such an event
        # would be shown too, never hidden.
        events = events.filter(canonical__contains=f'"{criteria.field}":[')
    if criteria.actor_id:
        events = events.filter(actor_id=criteria.actor_id)
    if criteria.channel:
        events = events.filter(channel=criteria.channel)
    if criteria.action:
        events = events.filter(action=criteria.action)
    if criteria.target_type:
        events = events.filter(target_type=criteria.target_type)
    if criteria.subject_id:
        events = events.filter(subject_id=criteria.subject_id)
    if criteria.date_from:
        events = events.filter(occurred_at__gte=_start_of(criteria.date_from))
    if criteria.date_to:
        events = events.filter(occurred_at__lt=_start_of(criteria.date_to) + timedelta(days=1))
    return events.order_by("-id")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def trail_for(user: Any, criteria: TrailFilter) -> QuerySet[AuditEvent]:
    """The whole trail, for the DPO and auditors only (others get nothing)."""
    if not may_read_trail(user):
        return AuditEvent.objects.none()
    return filtered(AuditEvent.objects.all(), criteria)


def actors_in(events: QuerySet[AuditEvent]) -> list[tuple[int, str]]:
    """The (id, label) of staff who appear in these events, for the actor filter."""
    pairs = events.exclude(actor_id=None).order_by().values_list("actor_id", "actor_label").distinct()
    return sorted({(int(pk), label) for pk, label in pairs if pk is not None}, key=lambda pair: pair[1].lower())[:200]


def staff_actors() -> list[tuple[int, str]]:
    """Every staff account as (id, label), for the whole trail's actor filter. Only staff act
    under an id, and Registru deactivates accounts but never deletes them, so this is every
    actor the trail can name by id; read from the accounts rather than by a DISTINCT over the
    trail, which reads every event (290 ms a page for a million events, seconds for ten)."""
    users = get_user_model().objects.only("username", "first_name", "last_name")
    return sorted(((user.pk, user.label) for user in users), key=lambda pair: pair[1].lower())


def trail_status() -> dict[str, Any]:
    """The latest verification and checkpoint, and the time of the oldest event that no
    checkpoint covers yet (None when every event is covered), for the trail page."""
    checkpoint = newest_signed_checkpoint()
    covered = checkpoint.last_event_id if checkpoint else 0
    return {
        "verification": newest_signed_verification(),
        "checkpoint": checkpoint,
        "tail_since": AuditEvent.objects.filter(id__gt=covered)
        .order_by("id")
        .values_list("occurred_at", flat=True)
        .first(),
    }


def newest_signed_checkpoint() -> AuditCheckpoint | None:
    """The newest stored checkpoint that a trusted key signed and whose columns say what its
    statement says: a row inserted or edited in the database is not shown as signed."""
    from registru.audit.services.checkpoints import as_checkpoint
    from registru.audit.signing import KeyHistoryError, SigningKeyMissingError, trusted_keys
    from registru.audit.verify import checkpoint_row_matches

    try:
        trusted = trusted_keys()
    except (KeyHistoryError, SigningKeyMissingError):
        return None
    for stored in AuditCheckpoint.objects.order_by("-seq")[:CHECKPOINTS_LOOKED_AT]:
        if as_checkpoint(stored, trusted).signature_valid(trusted) and checkpoint_row_matches(stored):
            return stored
    return None


CHECKPOINTS_LOOKED_AT = 50  # forged rows above the newest real one, at most, before none is shown


def newest_signed_verification() -> TrailVerification | None:
    """The newest verification outcome that a trusted key signed, with the columns its
    statement says: a row inserted in the database cannot say "intact" on the pages."""
    from registru.audit.services.verification import is_signed_outcome
    from registru.audit.signing import KeyHistoryError, SigningKeyMissingError, trusted_keys

    try:
        trusted = trusted_keys()
    except (KeyHistoryError, SigningKeyMissingError):
        return None
    for row in TrailVerification.objects.order_by("-id")[:CHECKPOINTS_LOOKED_AT]:
        if is_signed_outcome(row, trusted):
            return row
    return None
