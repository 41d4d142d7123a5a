"""Writes that bypass Registru are refused by the database itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from registru.audit.models import AuditEvent
from registru.core import dbguard
from registru.people.models import Person
from registru.testing.factories import note_about

pytestmark = pytest.mark.django_db
REGISTRU = str(Path(sys.executable).with_name("registru"))


@pytest.fixture
def attacker() -> Iterator[None]:
    """No maintenance allowance and no service transaction: a plain session, as an intruder's."""
    dbguard.MAINTENANCE = False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('registru.audit_context', '', true)")
    yield
    dbguard.MAINTENANCE = True


def refused(statement: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except DatabaseError as exc:
        return "registru" in str(exc)
    return False


@pytest.fixture
def noted(cast):
    note_about(cast.andrei_person, "O notă")
    return cast


def test_raw_sql_on_personal_data_is_refused_and_changes_nothing(noted, attacker) -> None:
    cast = noted
    person = cast.andrei_person
    assert refused("UPDATE people_person SET family_name = %s WHERE id = %s", ["Falsificat", person.pk])
    assert refused("DELETE FROM people_note WHERE person_id = %s", [person.pk])
    assert refused(
        "INSERT INTO people_affiliation (person_id, organization_id, role, created_at, updated_at) "
        "VALUES (%s, %s, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        [person.pk, cast.alice_org.pk],
    )
    assert Person.objects.get(pk=person.pk).family_name == "Rădulescu"
    assert person.notes.count() == 1


def test_the_audit_trail_refuses_updates_deletes_and_foreign_inserts(cast, attacker) -> None:
    event = AuditEvent.objects.latest("id")
    assert refused("UPDATE audit_auditevent SET actor_label = %s WHERE id = %s", ["altcineva", event.pk])
    assert refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert refused(
        "INSERT INTO audit_auditevent (id, occurred_at, actor_label, channel, request_id, action, target_type, "
        "fields, canonical, leaf) VALUES (%s, CURRENT_TIMESTAMP, 'x', 'cli', 'x', 'x', 'x', '', '{}', %s)",
        [event.pk + 1000, b"x"],
    )
    assert AuditEvent.objects.get(pk=event.pk).actor_label == event.actor_label


def test_services_still_write_through_the_guards(cast, attacker) -> None:
    from registru.people import services
    from registru.testing.factories import SETUP

    services.update_person(cast.andrei_person, {"job_title": "Permis"}, actor=SETUP)
    assert Person.objects.get(pk=cast.andrei_person.pk).job_title == "Permis"


def test_every_guarded_table_has_its_triggers(cast) -> None:
    personal, audit = dbguard.guarded_tables()
    assert {"people_person", "people_organization", "people_note", "people_affiliation"} <= set(personal)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = 'registru_guard'"
            )
            guarded = {row[0] for row in cursor.fetchall()}
        else:
            cursor.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'registru_guard_%'")
            guarded = {row[0] for row in cursor.fetchall()}
    assert set(personal) | set(audit) <= guarded


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres')")
def test_another_program_opening_the_sqlite_file_cannot_write(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_URL")}
    env |= {"REGISTRU_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    subprocess.run([REGISTRU, "migrate", "-v0"], env=env, check=True, timeout=120)
    subprocess.run([REGISTRU, "demo", "--people", "3"], env=env, check=True, timeout=120, capture_output=True)
    outsider = sqlite3.connect(tmp_path / "db.sqlite3")
    with pytest.raises(sqlite3.OperationalError):
        outsider.execute("UPDATE people_person SET family_name = 'Falsificat'")
    assert outsider.execute("SELECT count(*) FROM people_person WHERE family_name = 'Falsificat'").fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_another_postgresql_session_cannot_write(cast) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL variant of the outsider test")
    import psycopg

    settings_dict = connection.settings_dict
    outsider = psycopg.connect(
        dbname=settings_dict["NAME"], user=settings_dict["USER"], host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432, password=settings_dict["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        outsider.execute("UPDATE people_person SET family_name = 'Falsificat'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        outsider.execute("DELETE FROM audit_auditevent")
    assert not Person.objects.filter(family_name="Falsificat").exists()
    outsider.close()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite's guard reads Python state, not the transaction")
def test_a_service_inside_a_callers_transaction_does_not_leave_it_open_to_other_writes(cast, attacker) -> None:
    """After a service returns, the caller's own transaction is no longer a service's: a write
    the caller makes next, outside any service, is refused by the database."""
    from registru.people.services import update_person
    from registru.testing.factories import SETUP

    person = cast.andrei_person

    def service_then_raw_write() -> None:
        with transaction.atomic():
            update_person(person, {"job_title": "Director"}, actor=SETUP)
            with connection.cursor() as cursor:
                cursor.execute("UPDATE people_person SET family_name = %s WHERE id = %s", ["Falsificat", person.pk])

    with pytest.raises(DatabaseError, match="registru"):
        service_then_raw_write()
    assert Person.objects.get(pk=person.pk).family_name == "Rădulescu"


@pytest.mark.django_db(transaction=True)
def test_a_service_begins_and_marks_its_own_transaction_together_and_the_mark_ends_with_it(cast) -> None:
    """A service that is the outermost transaction sends ``BEGIN`` and the triggers' mark as one
    query (not in Django's query log); its writes pass the triggers, and the next transaction on
    the same connection is unmarked again."""
    if connection.vendor != "postgresql":
        pytest.skip("the mark is PostgreSQL's")
    from django.test.utils import CaptureQueriesContext

    from registru.people.services import update_person
    from registru.testing.factories import SETUP

    person = cast.andrei_person
    with CaptureQueriesContext(connection) as captured:
        update_person(person, {"job_title": "Director"}, actor=SETUP)
    assert not [query for query in captured.captured_queries if "set_config" in query["sql"]]
    assert Person.objects.get(pk=person.pk).job_title == "Director"
    assert refused("UPDATE people_person SET family_name = %s WHERE id = %s", ["Falsificat", person.pk])
    assert Person.objects.get(pk=person.pk).family_name == "Rădulescu"


@pytest.mark.django_db(transaction=True)
def test_a_service_inside_a_transaction_already_begun_marks_it_with_its_own_statement(cast) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the mark is PostgreSQL's")
    from django.test.utils import CaptureQueriesContext

    from registru.people.services import update_person
    from registru.testing.factories import SETUP

    person = cast.andrei_person
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        Person.objects.filter(pk=person.pk).exists()  # the caller's transaction has begun
        update_person(person, {"job_title": "Director"}, actor=SETUP)
    assert [query["sql"] for query in captured.captured_queries if "set_config" in query["sql"]][:1] == [dbguard.MARK]
    assert Person.objects.get(pk=person.pk).job_title == "Director"


@pytest.mark.django_db(transaction=True)
def test_a_data_migration_run_on_another_database_marks_that_databases_transaction(cast, attacker) -> None:
    """``migrate --database OTHER``: the search documents' sort keys are copied on the
    migration's own connection, and it is that connection's transaction the triggers see
    marked (marking the default connection's would leave the copy refused)."""
    if connection.vendor != "postgresql":
        pytest.skip("the mark is PostgreSQL's")
    import importlib
    from types import SimpleNamespace

    from django.db import connections

    from registru.core.context import service_scope
    from registru.people.models import PersonSearchDocument

    migration = importlib.import_module("registru.people.migrations.0006_search_document_sort_key")
    with transaction.atomic(), service_scope():
        PersonSearchDocument.objects.update(sort_key="")
    other = connections.create_connection("default")
    connections["other"] = other
    try:
        with transaction.atomic(using="other"):
            migration.copy_sort_keys(None, SimpleNamespace(connection=other))
    finally:
        other.close()
        del connections["other"]
    documents = PersonSearchDocument.objects.select_related("person")
    assert documents.exists()
    assert all(document.sort_key == document.person.sort_key != "" for document in documents)
