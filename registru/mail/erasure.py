"""Erasure reaches the outbox: a message keeps its key, Message-ID, kind, status and times (the
proof that something was sent, and when), and loses the address, subject, body and headers,
which hold the person's name and their personal links. Unsent messages are blocked."""

from __future__ import annotations

from typing import Any

from registru.audit.actions import AuditAction as A
from registru.audit.services import Draft, record_many
from registru.mail.models import MessageStatus, OutboundMessage

UNSENT = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.HELD)


def forget_person(sender: Any, person: Any, actor: Any, **kwargs: Any) -> None:
    messages = list(OutboundMessage.objects.filter(person=person))
    if not messages:
        return
    OutboundMessage.objects.filter(person=person, status__in=UNSENT).update(
        status=MessageStatus.BLOCKED, last_error="the person was erased"
    )
    OutboundMessage.objects.filter(person=person).update(recipient="", subject="", body_text="", headers={})
    drafts = [
        Draft(
            A.MAIL_ERASED,
            message,
            {"recipient": (message.recipient, None), "subject": (message.subject, None)},
            subject_id=person.pk,
        )
        for message in messages
    ]
    record_many(drafts, actor=actor)
