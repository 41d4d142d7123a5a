"""The outbox against a real SMTP server (aiosmtpd on loopback): delivery, the send gate at send
time, idempotent queueing, retries after temporary refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from registru.audit.models import AuditEvent
from registru.consent import services as consent
from registru.consent.choices import ConsentMethod
from registru.consent.models import Purpose
from registru.mail.models import MessageKind, MessageStatus, OutboundMessage
from registru.mail.services import deliver_due, queue_message
from registru.testing.factories import SETUP, PersonFactory
from registru.testing.smtp import Inbox, smtp_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(settings) -> Iterator[Inbox]:
    with smtp_server() as (inbox, port):
        settings.MAIL_TRANSPORT = "smtp"
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                        "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5}}}  # fmt: skip
        yield inbox


@pytest.fixture
def offers(cast) -> Purpose:
    purpose = Purpose.objects.create(code="offers", name_ro="Oferte", name_en="Offers", channels=["email"])
    consent.publish_notice(purpose, "ro", "Vă trimitem oferte.", actor=SETUP)
    return purpose


def queue(person: Any, key: str, kind: MessageKind = MessageKind.MARKETING, purpose: str = "offers") -> OutboundMessage:
    return queue_message(actor=SETUP, key=key, person=person, recipient=person.primary_email, subject="Ofertă",
                         body="Bună ziua!", kind=kind, purpose_code=purpose)  # fmt: skip


def test_a_service_message_is_delivered_with_its_message_id(cast, inbox) -> None:
    message = queue(cast.alice_person, "svc-1", MessageKind.SERVICE, "")
    report = deliver_due()
    assert report.sent == 1
    assert inbox.message_ids() == [message.message_id]
    assert OutboundMessage.objects.get(pk=message.pk).status == MessageStatus.SENT
    assert AuditEvent.objects.filter(action="mail.sent", subject_id=cast.alice_person.pk).count() == 1


def test_queueing_the_same_key_twice_queues_once(cast, inbox) -> None:
    first, second = queue(cast.alice_person, "k"), queue(cast.alice_person, "k")
    assert first.pk == second.pk
    assert OutboundMessage.objects.count() == 1


def test_marketing_without_consent_never_reaches_the_server(cast, inbox, offers) -> None:
    message = queue(cast.alice_person, "m-1")
    report = deliver_due()
    assert (report.sent, report.blocked) == (0, 1)
    assert inbox.messages == []
    assert OutboundMessage.objects.get(pk=message.pk).status == MessageStatus.BLOCKED


def test_a_withdrawal_after_queueing_stops_the_message(cast, inbox, offers) -> None:
    person = cast.alice_person
    notice = offers.notices.get()
    consent.grant_consent(person, offers, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=notice)
    queue(person, "m-2")
    consent.withdraw_consent(person, offers, "email", actor=SETUP, method=ConsentMethod.UNSUBSCRIBE_LINK)
    deliver_due()
    assert inbox.messages == []


def test_marketing_with_consent_is_delivered(cast, inbox, offers) -> None:
    person = cast.alice_person
    consent.grant_consent(
        person, offers, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=offers.notices.get()
    )
    queue(person, "m-3")
    assert deliver_due().sent == 1
    assert len(inbox.messages) == 1


def test_a_temporary_refusal_is_retried_later_and_delivered_once(cast, inbox) -> None:
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from registru.core.context import service_scope

    message = queue(cast.alice_person, "svc-2", MessageKind.SERVICE, "")
    inbox.refuse_next = 1
    report = deliver_due()
    assert report.deferred == 1
    stored = OutboundMessage.objects.get(pk=message.pk)
    assert (stored.status, stored.attempts) == (MessageStatus.DEFERRED, 1)
    assert deliver_due().sent == 0  # not due yet: back-off
    with transaction.atomic(), service_scope():  # an hour later, as far as the message knows
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert deliver_due().sent == 1
    assert inbox.message_ids() == [message.message_id]


def test_a_group_is_gated_message_by_message(cast, inbox, offers) -> None:
    """Sixteen messages go as one group; the gate's answers are still each message's own."""
    notice = offers.notices.get()
    people = [PersonFactory(owner=cast.alice, emails=[f"p{n}@firma.ro"]) for n in range(16)]
    for person in people[::2]:  # every other person consented; one of them withdraws after queueing
        consent.grant_consent(person, offers, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=notice)
    messages = [queue(person, f"group-{n}") for n, person in enumerate(people)]
    consent.withdraw_consent(people[2], offers, "email", actor=SETUP, method=ConsentMethod.UNSUBSCRIBE_LINK)
    report = deliver_due()
    expected = {message.message_id for n, message in enumerate(messages) if n % 2 == 0 and n != 2}
    assert (report.sent, report.blocked) == (7, 9)
    assert set(inbox.message_ids()) == expected
    assert len(inbox.message_ids()) == len(expected)
    blocked = OutboundMessage.objects.filter(status=MessageStatus.BLOCKED)
    assert set(blocked.values_list("last_error", flat=True)) == {"no valid consent at send time"}
    assert AuditEvent.objects.filter(action="mail.blocked").count() == 9
    assert AuditEvent.objects.filter(action="mail.sent").count() == 7


def test_connections_the_server_refuses_are_given_up_and_nothing_is_sent_twice(cast, inbox, settings) -> None:
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from registru.core.context import service_scope

    settings.MAIL_CONNECTIONS = 16
    inbox.max_connections = 3
    messages = [queue(cast.alice_person, f"limit-{n}", MessageKind.SERVICE, "") for n in range(40)]
    first = deliver_due()
    # The first group met the limit: 13 of its 16 connections were turned away, their messages
    # deferred; every later group went over the three connections the server allowed.
    assert (first.sent, first.deferred, inbox.turned_away) == (27, 13, 13)
    for _ in range(10):
        with transaction.atomic(), service_scope():
            OutboundMessage.objects.filter(status=MessageStatus.DEFERRED).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )
        if deliver_due().sent == 0:
            break
    ids = inbox.message_ids()
    assert sorted(ids) == sorted(message.message_id for message in messages)
    assert OutboundMessage.objects.filter(status=MessageStatus.SENT).count() == 40


def test_erased_people_receive_nothing(cast, inbox) -> None:
    from registru.people import services as people

    person = PersonFactory(owner=cast.alice, emails=["cineva@firma.ro"])
    message = queue(person, "svc-3", MessageKind.SERVICE, "")
    people.erase_person(person, actor=cast.dora, reason="art. 17")
    deliver_due()
    assert inbox.messages == []
    # The outbox keeps that a message existed, not who it was for nor what it said.
    kept = OutboundMessage.objects.get(pk=message.pk)
    assert (kept.status, kept.recipient, kept.subject, kept.body_text, kept.headers) == (
        MessageStatus.BLOCKED,
        "",
        "",
        "",
        {},
    )
    assert AuditEvent.objects.filter(action="mail.erased", subject_id=person.pk).count() == 1


def test_a_marketing_message_queued_before_a_restriction_does_not_leave_after_it(cast, inbox, offers) -> None:
    from registru.people import services as people

    person = cast.alice_person
    consent.grant_consent(
        person, offers, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=offers.notices.get()
    )
    message = queue(person, "m-restricted")  # consented and active when queued
    people.restrict_processing(person, actor=cast.dora, ground="objection_pending", reason="opoziție art. 21")
    report = deliver_due()
    assert (report.sent, inbox.messages) == (0, [])
    stored = OutboundMessage.objects.get(pk=message.pk)
    assert (stored.status, stored.last_error) == (MessageStatus.BLOCKED, "the person is restricted")
