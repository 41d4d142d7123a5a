"""An export file that holds a person who is erased is deleted at the erasure, not when its link
expires, and the register says so."""

from __future__ import annotations

import io
from typing import Any

import pytest

from registru.audit.models import AuditEvent
from registru.exports import services
from registru.exports.models import ExportStatus
from registru.exports.selectors import RegisterFilter
from registru.exports.services import generation
from registru.exports.services.requests import file_path
from registru.exports.tests.conftest import ask, made
from registru.people import services as people
from registru.people.models import Person
from registru.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def erase(cast: Any, person: Person, capture: Any) -> None:
    with capture(execute=True):
        people.erase_person(Person.objects.get(pk=person.pk), actor=cast.dora, reason="cerere art. 17")


def test_erasing_a_person_deletes_the_files_that_hold_them(cast, django_capture_on_commit_callbacks) -> None:
    export = made(ask(cast.alice))
    assert file_path(export).exists()
    erase(cast, cast.alice_person, django_capture_on_commit_callbacks)
    export.refresh_from_db()
    assert (export.status, file_path(export).exists()) == (ExportStatus.ERASED, False)


def test_the_deletion_is_an_event_of_the_export_and_a_line_of_the_register(
    cast, django_capture_on_commit_callbacks
) -> None:
    export = made(ask(cast.alice))
    erase(cast, cast.alice_person, django_capture_on_commit_callbacks)
    event = AuditEvent.objects.filter(target_type="exports.exportrequest", target_id=export.pk).latest("id")
    assert (event.action, event.changes["status"]) == ("export.expired", ["ready", "erased"])
    out = io.StringIO()
    services.write_register_csv(out, actor=cast.dora, criteria=RegisterFilter())
    line = next(line for line in out.getvalue().splitlines() if line.startswith(f"{export.pk},"))
    assert ",erased," in line


def test_a_file_without_the_person_is_kept(cast, django_capture_on_commit_callbacks) -> None:
    export = made(ask(cast.alice))
    erase(cast, cast.carol_person, django_capture_on_commit_callbacks)
    export.refresh_from_db()
    assert (export.status, file_path(export).exists()) == (ExportStatus.READY, True)


def test_a_file_being_made_while_the_person_is_erased_is_deleted_when_finished(
    cast, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    PersonFactory(owner=cast.alice)  # someone else in the file
    export = ask(cast.alice)
    write = generation._rows

    def erased_meanwhile(*args: Any) -> int:
        written = write(*args)
        erase(cast, cast.alice_person, django_capture_on_commit_callbacks)
        return written

    monkeypatch.setattr(generation, "_rows", erased_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        finished = services.generate_export(export.pk)
    assert finished is not None
    assert (finished.status, file_path(finished).exists()) == (ExportStatus.ERASED, False)
