"""Asking about consent: the send gate's question, and a person's consents for the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from registru.consent.choices import ConsentState
from registru.consent.models import Consent, ConsentEvent
from registru.people.choices import PersonStatus
from registru.people.models import Person


def has_valid_consent(person_id: int, purpose_code: str, channel: str, at: datetime | None = None) -> bool:
    """Whether marketing for ``purpose_code`` may reach the person on ``channel`` at ``at``.

    Restricted and erased people never may, whatever their consents say.
    """
    at = at or timezone.now()
    if not Person.objects.filter(pk=person_id, status=PersonStatus.ACTIVE, archived_at__isnull=True).exists():
        return False
    return (
        Consent.objects.filter(
            person_id=person_id, purpose__code=purpose_code, channel=channel, state=ConsentState.GRANTED
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .exists()
    )


def consents_of(person: Person) -> QuerySet[Consent]:
    """A person's current consents (the person must already be in the user's scope)."""
    return (
        Consent.objects.filter(person=person)
        .select_related("purpose", "last_event")
        .order_by("purpose__code", "channel")
    )


def ledger_of(person: Person) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(person=person).select_related("purpose", "notice").order_by("-id")


def summary(person: Person) -> list[dict[str, Any]]:
    return [
        {"purpose": consent.purpose.code, "channel": consent.channel, "state": consent.state, "since": consent.since}
        for consent in consents_of(person)
    ]
