"""Erasure reaches the outbox: a message keeps its key, Message-ID, kind, status and times (the
proof that something was sent, and when), and loses the address, subject, body and headers,
which hold the person's name and their personal links. Unsent messages are blocked. The local
mailbox's copies of the messages (``.eml`` files) are deleted once the erasure is committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from registru.audit.actions import AuditAction as A
from registru.audit.services import Draft, record_many
from registru.mail.models import MessageStatus, OutboundMessage
from registru.mail.transport import MailboxTransport

UNSENT = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.HELD)


def forget_person(sender: Any, person: Any, actor: Any, **kwargs: Any) -> None:
    messages = list(OutboundMessage.objects.filter(person=person))
    if not messages:
        return
    # A delivery error may quote the address (a server's "550 <address>: no such user").
    OutboundMessage.objects.filter(person=person).update(
        recipient="", subject="", body_text="", headers={}, last_error=""
    )
    OutboundMessage.objects.filter(pk__in=[m.pk for m in messages if m.status in UNSENT]).update(
        status=MessageStatus.BLOCKED, last_error="the person was erased"
    )
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
    # Whatever the transport is now: the mailbox may hold copies from before a switch to SMTP.
    message_ids = [message.message_id for message in messages]
    transaction.on_commit(lambda: MailboxTransport().remove(message_ids))
