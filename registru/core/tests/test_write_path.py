"""Invariant 1: one write path. Personal data is written only by services, in an audit
context, in one transaction with its audit event."""

from __future__ import annotations

import contextvars

import pytest
from django.db import transaction

from registru.audit.models import AuditEvent
from registru.core.context import AuditContextMissingError, UnauditedWriteError
from registru.core.services import service
from registru.people import services
from registru.people.models import Note, Person
from registru.people.services import people as person_services
from registru.testing.factories import SETUP, PersonFactory, note_about

pytestmark = pytest.mark.django_db


def test_it_refuses_save_outside_a_service() -> None:
    person = PersonFactory()
    person.family_name = "Altul"
    with pytest.raises(UnauditedWriteError):
        person.save()
    assert Person.objects.get(pk=person.pk).family_name != "Altul"


@pytest.mark.parametrize(
    "write",
    [
        lambda: Person.objects.update(family_name="X"),
        lambda: Person.objects.all().delete(),
        lambda: Person.objects.bulk_create([Person(given_name="A", family_name="B", sort_key="b a")]),
        lambda: Person.objects.create(given_name="A", family_name="B", sort_key="b a"),
        lambda: Note.objects.all().delete(),
    ],
    ids=["update", "delete", "bulk_create", "create", "delete-notes"],
)
def test_it_refuses_set_based_writes_outside_a_service(write) -> None:
    person = PersonFactory()
    note_about(person)
    with pytest.raises(UnauditedWriteError):
        write()
    assert Person.objects.filter(pk=person.pk, family_name=person.family_name).exists()
    assert Note.objects.count() == 1


def test_it_refuses_a_service_call_without_an_audit_context() -> None:
    person = PersonFactory()
    empty = contextvars.Context()  # what a thread or script with no entry point sees
    events_before = AuditEvent.objects.count()
    with pytest.raises(AuditContextMissingError):
        empty.run(services.update_person, person, {"job_title": "Fără context"}, actor=SETUP)
    assert Person.objects.get(pk=person.pk).job_title == ""
    assert AuditEvent.objects.count() == events_before


def test_it_requires_services_to_take_a_keyword_only_actor() -> None:
    with pytest.raises(TypeError, match="keyword-only 'actor'"):

        @service
        def positional(person: Person, actor: object) -> None:  # pragma: no cover
            pass


def test_it_rolls_back_the_change_when_the_audit_event_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    person = PersonFactory()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the trail is unavailable")

    monkeypatch.setattr(person_services, "record", broken)
    with pytest.raises(RuntimeError):
        services.update_person(person, {"job_title": "Director"}, actor=SETUP)
    assert Person.objects.get(pk=person.pk).job_title == ""


def test_it_writes_the_change_and_its_event_in_the_same_transaction() -> None:
    person = PersonFactory()
    with transaction.atomic():
        sid = transaction.savepoint_create()
        services.update_person(person, {"job_title": "Director"}, actor=SETUP)
        transaction.savepoint_rollback(sid)
    assert not AuditEvent.objects.filter(action="person.updated", target_id=person.pk).exists()
    assert Person.objects.get(pk=person.pk).job_title == ""
