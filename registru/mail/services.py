"""Queueing and delivering mail through the outbox.

Queueing is idempotent: the same key gives the same row (a retried task queues nothing twice).
Delivery claims due rows with a lease (compare-and-set, so two workers never take the same row),
asks the send gate, and records "sent" before the server may accept the message (see
``mail.transport``); temporary failures are retried with exponential back-off, permanent ones
recorded.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from registru.audit.actions import AuditAction as A
from registru.audit.services import Draft, record, record_many
from registru.core.actors import SystemActor
from registru.core.context import service_scope
from registru.core.services import service
from registru.mail import gate
from registru.mail.models import MessageKind, MessageStatus, OutboundMessage
from registru.mail.signals import messages_finished
from registru.mail.transport import PermanentFailureError, TemporaryFailureError, Transport, transport
from registru.people.models import Person


def lease() -> timedelta:
    """How long a worker holds a message before another may take it over (a crashed one's)."""
    return timedelta(seconds=getattr(settings, "MAIL_LEASE_SECONDS", 120))


MAX_ATTEMPTS = 8
DELIVERY = SystemActor("mail delivery")


def message_id_for(key: str) -> str:
    """A stable Message-ID: the same message keeps it through every retry."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "registru.localhost"
    return f"<{uuid.uuid5(uuid.NAMESPACE_URL, 'registru:' + key).hex}@{domain}>"


@dataclass(frozen=True)
class Letter:
    """A message to be queued; ``key`` makes queueing it idempotent."""

    key: str
    person: Person | None
    recipient: str
    subject: str
    body: str
    kind: MessageKind
    purpose_code: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    campaign_id: int | None = None
    invitation_id: int | None = None
    mailing_id: int | None = None

    def row(self, now: datetime, status: MessageStatus) -> OutboundMessage:
        return OutboundMessage(
            idempotency_key=self.key, message_id=message_id_for(self.key), kind=self.kind,
            purpose_code=self.purpose_code, person=self.person, recipient=self.recipient,
            subject=self.subject, body_text=self.body, headers=self.headers, status=status,
            next_attempt_at=now, campaign_id=self.campaign_id, invitation_id=self.invitation_id,
            mailing_id=self.mailing_id,
        )  # fmt: skip


@service
def queue_message(*, actor: Any, **letter: Any) -> OutboundMessage:
    """Put a message in the outbox, once per key: queueing the same key again changes nothing."""
    return queue_letters([Letter(**letter)], actor=actor)[0]


@service
def queue_letters(
    letters: Sequence[Letter], *, actor: Any, status: MessageStatus = MessageStatus.QUEUED
) -> list[OutboundMessage]:
    """Queue many messages at once (one insert, one audit write); keys already queued are kept
    as they are. Returns the rows in the order of ``letters``."""
    keys = [letter.key for letter in letters]
    existing = {row.idempotency_key: row for row in OutboundMessage.objects.filter(idempotency_key__in=keys)}
    now = timezone.now()
    fresh = [letter.row(now, status) for letter in letters if letter.key not in existing]
    created = OutboundMessage.objects.bulk_create(fresh, batch_size=500)
    drafts = [
        Draft(
            A.MAIL_QUEUED,
            message,
            {"subject": (None, message.subject), "recipient": (None, message.recipient)},
            subject_id=message.person_id,
        )
        for message in created
        if message.person_id is not None
    ]
    if drafts:
        record_many(drafts, actor=actor)
    by_key = existing | {message.idempotency_key: message for message in created}
    return [by_key[key] for key in keys]


@dataclass
class DeliveryReport:
    sent: int = 0
    blocked: int = 0
    deferred: int = 0
    failed: int = 0
    messages: list[int] = field(default_factory=list)


def due(now: Any) -> Q:
    waiting = Q(status__in=[MessageStatus.QUEUED, MessageStatus.DEFERRED], next_attempt_at__lte=now)
    abandoned = Q(status=MessageStatus.SENDING, lease_until__lt=now)  # a worker died holding it
    return waiting | abandoned


def claim(limit: int) -> tuple[str, list[OutboundMessage]]:
    """Take up to ``limit`` due messages for this worker (no two workers get the same one)."""
    now = timezone.now()
    owner = secrets.token_hex(8)
    ids = list(OutboundMessage.objects.filter(due(now)).order_by("id").values_list("id", flat=True)[:limit])
    with transaction.atomic(), service_scope():
        OutboundMessage.objects.filter(due(now), pk__in=ids).update(
            status=MessageStatus.SENDING, lease_until=now + lease(), lease_owner=owner, attempts=F("attempts") + 1
        )
    claimed = list(OutboundMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING, lease_owner=owner)
                   .select_related("person").order_by("id"))  # fmt: skip
    return owner, claimed


def deliver_due(*, limit: int = 500, through: Transport | None = None) -> DeliveryReport:
    """Deliver the due messages, a batch at a time, a group of messages side by side over the
    transport's connections (see ``mail.transport``)."""
    report = DeliveryReport()
    channel = through or transport()
    try:
        while True:
            owner, batch = claim(limit)
            if not batch:
                break
            while batch:  # the transport may give up lanes the server refuses: ask each time
                group, batch = batch[: channel.lanes], batch[channel.lanes :]
                _deliver(group, owner, channel, report)
    finally:
        channel.close()
    return report


def _deliver(messages: list[OutboundMessage], owner: str, channel: Transport, report: DeliveryReport) -> None:
    # Asked for each message now, as the group is about to go (not when it was queued).
    verdicts = gate.check_many(messages)
    answered = list(zip(messages, verdicts, strict=True))
    going = [message for message, verdict in answered if verdict.allowed]
    held = [(message, verdict.reason) for message, verdict in answered if not verdict.allowed]
    if held:
        report.blocked += _block(held, owner)
    if not going:
        return
    outcomes = channel.send_many(
        [_email(message) for message in going], commit=lambda ready: _record_sent(going, ready, owner)
    )
    for message, outcome in zip(going, outcomes, strict=True):
        if outcome is None:
            report.sent += 1
            report.messages.append(message.pk)
        elif isinstance(outcome, PermanentFailureError):
            _correct(message, MessageStatus.FAILED, str(outcome), A.MAIL_FAILED)
            report.failed += 1
        elif isinstance(outcome, TemporaryFailureError):
            _retry_or_fail(message, str(outcome), report)
        # NotRecordedError: another worker took the message over; it is theirs to record.


def _record_sent(messages: list[OutboundMessage], ready: list[int], owner: str) -> list[int]:
    """Record the messages whose DATA waits for its final dot as sent, with one audit event
    each, in one transaction; returns the indexes recorded (those this worker still holds)."""
    now = timezone.now()
    pks = [messages[i].pk for i in ready]
    with transaction.atomic(), service_scope():
        changed = OutboundMessage.objects.filter(pk__in=pks, status=MessageStatus.SENDING, lease_owner=owner).update(
            status=MessageStatus.SENT, sent_at=now, lease_until=None, last_error=""
        )
        if changed == len(pks):
            recorded = ready
        else:  # a lease ran out and another worker took some over: ours carry our owner token
            mine = set(OutboundMessage.objects.filter(pk__in=pks, status=MessageStatus.SENT, lease_owner=owner)
                       .values_list("pk", flat=True))  # fmt: skip
            recorded = [i for i in ready if messages[i].pk in mine]
        sent = [messages[i] for i in recorded]
        drafts = [
            Draft(A.MAIL_SENT, message, {"status": (MessageStatus.SENDING.value, MessageStatus.SENT.value)},
                  subject_id=message.person_id)
            for message in sent
            if message.person_id is not None
        ]  # fmt: skip
        if drafts:
            record_many(drafts, actor=DELIVERY)
        if sent:
            messages_finished.send(OutboundMessage, messages=sent, status=MessageStatus.SENT)
    return recorded


def _email(message: OutboundMessage) -> EmailMessage:
    return EmailMessage(
        subject=message.subject, body=message.body_text, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient], headers={"Message-ID": message.message_id, **message.headers},
    )  # fmt: skip


def _block(held: list[tuple[OutboundMessage, str]], owner: str) -> int:
    """Record the messages the gate held back, those this worker still holds, in one
    transaction with one audit event each (giving the reason); returns how many."""
    with transaction.atomic(), service_scope():
        mine = set(
            OutboundMessage.objects.filter(
                pk__in=[message.pk for message, _reason in held], status=MessageStatus.SENDING, lease_owner=owner
            ).values_list("pk", flat=True)
        )
        blocked = [(message, reason) for message, reason in held if message.pk in mine]
        for reason in {reason for _message, reason in blocked}:
            OutboundMessage.objects.filter(pk__in=[m.pk for m, r in blocked if r == reason]).update(
                status=MessageStatus.BLOCKED, sent_at=None, lease_until=None, last_error=reason[:500]
            )
        drafts = [
            Draft(A.MAIL_BLOCKED, message, {"status": (MessageStatus.SENDING.value, MessageStatus.BLOCKED.value)},
                  reason=reason, subject_id=message.person_id)
            for message, reason in blocked
            if message.person_id is not None
        ]  # fmt: skip
        if drafts:
            record_many(drafts, actor=DELIVERY)
        if blocked:
            messages_finished.send(
                OutboundMessage, messages=[message for message, _reason in blocked], status=MessageStatus.BLOCKED
            )
    return len(blocked)


def _retry_or_fail(message: OutboundMessage, reason: str, report: DeliveryReport) -> None:
    attempts = message.attempts
    if attempts >= MAX_ATTEMPTS:
        _correct(message, MessageStatus.FAILED, reason, A.MAIL_FAILED)
        report.failed += 1
        return
    later = timezone.now() + timedelta(seconds=min(3600, 15 * 2 ** (attempts - 1)))
    with transaction.atomic(), service_scope():
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.DEFERRED,
            next_attempt_at=later,
            lease_until=None,
            last_error=reason[:500],
            sent_at=None,
        )
    report.deferred += 1


def _correct(message: OutboundMessage, status: str, reason: str, action: A) -> None:
    """Record a failure, also over a "sent" recorded just before the server refused."""
    with transaction.atomic(), service_scope():
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=status, lease_until=None, last_error=reason[:500], sent_at=None
        )
        if message.person_id is not None:
            record(action, actor=DELIVERY, target=message, subject_id=message.person_id,
                   changes={"status": (None, status)}, reason=reason)  # fmt: skip
        messages_finished.send(OutboundMessage, messages=[message], status=status)
