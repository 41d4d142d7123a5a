"""Erasure reaches the local mailbox: the ``.eml`` copies of the person's messages are deleted,
and the outbox rows keep no address, subject, body or delivery error of theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction

from registru.core.context import service_scope
from registru.mail.models import MessageKind, MessageStatus, OutboundMessage
from registru.mail.services import deliver_due, queue_message
from registru.people import services as people
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(settings, tmp_path: Path) -> Path:
    settings.MAIL_TRANSPORT = "mailbox"
    settings.DATA_DIR = tmp_path
    return tmp_path / "mailbox"


def letter_to(person, key: str) -> OutboundMessage:
    return queue_message(actor=SETUP, key=key, person=person, recipient=person.primary_email,
                         subject="Datele dumneavoastră", body=f"Bună ziua, {person.full_name}!",
                         kind=MessageKind.SERVICE)  # fmt: skip


def test_erasing_a_person_deletes_their_messages_from_the_mailbox(
    cast, mailbox, django_capture_on_commit_callbacks
) -> None:
    person = PersonFactory(given_name="Filofteia", family_name="Bârzoi", emails=["filo.barzoi@exemplu.ro"])
    letter_to(person, "erase-1")
    letter_to(cast.andrei_person, "erase-2")
    assert deliver_due().sent == 2
    with django_capture_on_commit_callbacks(execute=True):
        people.erase_person(person, actor=cast.dora, reason="art. 17")
    kept = [path.read_text(errors="replace") for path in mailbox.iterdir()]
    assert (len(kept), any("Bârzoi" in text or "barzoi" in text for text in kept)) == (1, False)


def test_an_erased_persons_delivery_errors_are_blanked(cast, mailbox) -> None:
    person = PersonFactory(emails=["filo.barzoi@exemplu.ro"])
    message = letter_to(person, "erase-3")
    with transaction.atomic(), service_scope():  # a server refused it, quoting the address
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED, last_error="550 <filo.barzoi@exemplu.ro>: no such user"
        )
    people.erase_person(person, actor=cast.dora, reason="art. 17")
    kept = OutboundMessage.objects.get(pk=message.pk)
    assert (kept.status, kept.recipient, kept.last_error) == (MessageStatus.FAILED, "", "")
