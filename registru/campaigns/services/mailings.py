"""Marketing mailings: one message per person who, at the time of queueing, has a valid consent
for the purpose by email. The send gate checks again when each copy leaves, so a withdrawal in
between still stops it. Every copy carries one-click unsubscribe (RFC 8058) and a link to the
person's preference centre."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.campaigns.models import Mailing
from registru.consent.choices import ConsentState, ContactChannel
from registru.consent.models import Consent, Purpose
from registru.core.services import service
from registru.mail.models import MessageKind
from registru.mail.services import Letter, queue_letters
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.portal import links

CHUNK = 500


def consenting(purpose: Purpose) -> QuerySet[Person]:
    """People a marketing email for ``purpose`` may go to right now."""
    now = timezone.now()
    valid = Consent.objects.filter(
        person=OuterRef("pk"), purpose=purpose, channel=ContactChannel.EMAIL, state=ConsentState.GRANTED
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    return (
        Person.objects.filter(status=PersonStatus.ACTIVE, archived_at__isnull=True, merged_into__isnull=True)
        .exclude(emails=[])
        .filter(Exists(valid))
    )


def marketing_letter(person: Person, purpose: Purpose, subject: str, body: str, *, key: str, **extra: Any) -> Letter:
    """A marketing message with its unsubscribe headers and footer, in the person's language."""
    unsubscribe = links.unsubscribe_url(person.pk, purpose.code)
    with translation.override(person.preferred_language):
        footer = _(
            "You receive this message because you agreed to “%(purpose)s” by email.\n"
            "Unsubscribe: %(unsubscribe)s\nAll your choices: %(preferences)s"
        ) % {
            "purpose": purpose.name(person.preferred_language),
            "unsubscribe": unsubscribe,
            "preferences": links.preferences_url(person.pk),
        }
    return Letter(
        key=key, person=person, recipient=person.primary_email, subject=subject.replace("{name}", person.given_name),
        body=f"{body.replace('{name}', person.given_name)}\n\n-- \n{footer}\n", kind=MessageKind.MARKETING,
        purpose_code=purpose.code,
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        **extra,
    )  # fmt: skip


@service
def send_mailing(values: dict[str, Any], *, actor: Any) -> Mailing:
    """Queue a mailing to everyone who consented to its purpose by email."""
    values = dict(values)
    token = values.pop("token", None)
    purpose: Purpose = values["purpose"]
    if ContactChannel.EMAIL not in purpose.channels:
        raise ValidationError({"purpose": [_("This purpose does not use email.")]})
    if token is not None:
        sent_before = Mailing.objects.filter(form_token=token).first()
        if sent_before is not None:
            return sent_before  # the same form again: queued once
    try:
        with transaction.atomic():
            mailing = Mailing.objects.create(
                created_by=actor if getattr(actor, "pk", None) else None, form_token=token, **values
            )
    except IntegrityError:  # the same form, at the same moment, from another request
        return Mailing.objects.get(form_token=token)
    people = list(consenting(purpose).order_by("pk"))
    for start in range(0, len(people), CHUNK):
        letters = [
            marketing_letter(
                person,
                purpose,
                mailing.subject(person.preferred_language),
                mailing.body(person.preferred_language),
                key=f"mailing:{mailing.pk}:person:{person.pk}",
                mailing_id=mailing.pk,
            )
            for person in people[start : start + CHUNK]
        ]
        queue_letters(letters, actor=actor)
    Mailing.objects.filter(pk=mailing.pk).update(recipients=len(people))
    mailing.recipients = len(people)
    record(A.MAILING_QUEUED, actor=actor, target=mailing, changes={"recipients": (None, len(people))})
    from registru.mail.tasks import deliver_now

    deliver_now.enqueue()
    return mailing
