"""PostgreSQL: the application's role cannot open the guards, and Registru works with it.

The suite connects as a superuser; ``SET ROLE`` to the application's role (granted by
``registru db grant-app-role``) makes that role's privileges apply, as for gunicorn or a worker
connected with it, or an intruder holding its credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from registru.audit.models import AuditBatch, AuditEvent
from registru.audit.services.checkpoints import create_checkpoint
from registru.audit.services.retention import prune
from registru.audit.services.sealing import seal
from registru.audit.verify import verify
from registru.core import dbguard
from registru.people import services
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.testing.factories import SETUP, PersonFactory
from registru.vault import services as vault
from registru.vault.models import PersonKey

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="roles and privileges are PostgreSQL's"),
]
ROLE = "registru_app_test"
AUDIT_TABLES = {  # table: a column to write
    "audit_auditevent": "actor_label", "audit_auditbatch": "sealed_at", "audit_auditprune": "reason",
    "audit_auditcheckpoint": "created_at",
}  # fmt: skip
FORGED = [
    "SELECT set_config('registru.audit_context', 'on', true)",
    "SELECT set_config('registru.audit_retention', 'on', true)",
    "SELECT set_config('registru.shredding', 'on', true)",
    "SELECT set_config('registru.key_rotation', 'on', true)",
]


@pytest.fixture
def app_role(db: None) -> str:
    """The application's role, made once per cluster and granted on this test database."""
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN CREATE ROLE {ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    call_command("db", "grant-app-role", ROLE, verbosity=0)
    return ROLE


@contextmanager
def as_app(role: str) -> Iterator[None]:
    """Run the block with the application's role's privileges (the rest of the test as before)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def refused(*statements: str) -> bool:
    """Run the statements in a savepoint, after forging every setting the triggers check."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in [*FORGED, *statements]:
                cursor.execute(statement)
    except DatabaseError as exc:
        return "permission denied" in str(exc) or "must be owner" in str(exc) or "registru" in str(exc)
    return False


@pytest.fixture
def trail(cast, settings, app_role) -> dict[str, list[tuple]]:
    """One of every kind of audit record, and what they hold before the attack."""
    settings.AUDIT_BATCH_SIZE = 5
    for index in range(6):
        services.update_person(PersonFactory(), {"job_title": f"F{index}"}, actor=SETUP)
    seal()
    prune(before_event=AuditBatch.objects.order_by("seq")[1].last_id + 1, actor=SETUP, reason="retenție")
    create_checkpoint()
    return snapshot()


def snapshot() -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        found = {}
        for table in [*AUDIT_TABLES, "vault_personkey"]:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
            found[table] = cursor.fetchall()
    return found


def test_it_refuses_the_app_role_every_change_to_audit_records_even_with_forged_settings(trail) -> None:
    with as_app(ROLE):
        for table, column in AUDIT_TABLES.items():
            assert refused(f"UPDATE {table} SET {column} = {column}"), table
            assert refused(f"DELETE FROM {table}"), table
            assert refused(f"TRUNCATE {table}"), table
        assert refused("LOCK TABLE audit_auditevent IN EXCLUSIVE MODE")
    assert all(trail[table] for table in AUDIT_TABLES)  # there was something to attack
    assert snapshot() == trail


def test_it_refuses_the_app_role_deleting_clearing_or_moving_a_data_key(trail, cast) -> None:
    person = cast.andrei_person.pk
    with as_app(ROLE):
        assert refused(f"DELETE FROM vault_personkey WHERE person_id = {person}")
        assert refused(f"UPDATE vault_personkey SET wrapped = NULL WHERE person_id = {person}")
        assert refused(f"UPDATE vault_personkey SET person_id = -1 WHERE person_id = {person}")
        assert refused(f"SELECT registru_shred_key({person})")  # not erased: the function refuses too
    assert snapshot() == trail
    assert vault.data_key(person) is not None


def test_it_refuses_the_app_role_disabling_or_dropping_a_trigger(trail) -> None:
    with as_app(ROLE):
        assert refused("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
        assert refused("ALTER TABLE audit_auditevent DISABLE TRIGGER registru_guard")
        assert refused("ALTER TABLE people_person DISABLE TRIGGER registru_guard")
        assert refused("DROP TRIGGER registru_guard ON vault_personkey")
        assert refused("DROP TRIGGER registru_guard ON audit_auditevent")
        assert refused("CREATE OR REPLACE FUNCTION registru_key_guard() RETURNS trigger LANGUAGE sql AS 'SELECT NULL'")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'registru_guard' "
            "AND c.relname IN ('audit_auditevent', 'people_person', 'vault_personkey')"
        )
        assert sorted(cursor.fetchall()) == [
            ("audit_auditevent", "O"),
            ("people_person", "O"),
            ("vault_personkey", "O"),
        ]


def test_registru_works_as_the_app_role(cast, settings, app_role) -> None:
    """Create, update, erase (the key shredded by the owner's function), seal, prune."""
    settings.AUDIT_BATCH_SIZE = 5
    with as_app(ROLE):
        assert not dbguard.owns_table("vault_personkey")  # the role really applies
        person = services.create_person({"given_name": "Ana", "family_name": "Pop"}, actor=cast.alice)
        services.update_person(person, {"job_title": "Contabilă"}, actor=cast.alice)
        services.erase_person(Person.objects.get(pk=person.pk), actor=cast.dora, reason="Art. 17")
        sealed = seal()
        pruned = prune(before_event=AuditBatch.objects.order_by("seq")[0].last_id + 1, actor=SETUP, reason="retenție")
        assert verify().intact
    assert Person.objects.get(pk=person.pk).status == PersonStatus.ERASED
    assert PersonKey.objects.get(person_id=person.pk).wrapped is None
    assert sealed > 0
    assert pruned.events == 5
    assert not AuditEvent.objects.filter(id__lte=AuditBatch.objects.get(seq=1).last_id).exists()


@pytest.mark.django_db(transaction=True)
def test_the_app_role_shreds_no_key_of_a_person_this_transaction_did_not_erase(cast, app_role) -> None:
    """The person's row says erased, written by an earlier, committed transaction (forged, the
    trail has no erasure): the key is not this transaction's to destroy, and it stays."""
    person = cast.andrei_person.pk
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('registru.audit_context', 'on', true)")
        cursor.execute("UPDATE people_person SET status = 'erased' WHERE id = %s", [person])
    with as_app(ROLE):
        assert refused(f"SELECT registru_shred_key({person})")
    assert PersonKey.objects.get(person_id=person).wrapped is not None


def test_it_refuses_to_grant_a_role_that_could_act_as_the_owner(db) -> None:
    with pytest.raises(CommandError, match="superuser"):
        call_command("db", "grant-app-role", "postgres", verbosity=0)
    with pytest.raises(CommandError, match="no role"):
        call_command("db", "grant-app-role", "registru_nobody_by_this_name", verbosity=0)
    with pytest.raises(CommandError, match="plain role name"):
        call_command("db", "grant-app-role", 'x"; DROP TABLE people_person; --', verbosity=0)


def expected(table: str) -> set[str]:
    if table.startswith("audit_"):
        return {"SELECT", "INSERT"}
    if table in {"vault_personkey", "vault_keyring"}:
        return {"SELECT", "INSERT", "UPDATE"}
    if table == "django_migrations":
        return {"SELECT"}
    return {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_every_table_is_granted_what_the_app_needs_and_the_trail_is_append_only(app_role) -> None:
    """A table added by a later migration is covered by running the command again."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE registru_new_feature (id bigint)")
        call_command("db", "grant-app-role", ROLE, verbosity=0)
        tables = connection.introspection.table_names(cursor)
        granted = {}
        for table in tables:
            cursor.execute(
                "SELECT array_agg(p) FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', "
                "'REFERENCES', 'TRIGGER']) p WHERE has_table_privilege(%s, %s, p)",
                [ROLE, table],
            )
            granted[table] = set(cursor.fetchone()[0] or [])
    assert "registru_new_feature" in tables
    assert {"audit_auditevent", "vault_personkey", "people_person", "django_session"} <= set(tables)
    assert granted == {table: expected(table) for table in tables}


def test_only_the_owner_and_the_app_role_may_call_the_guard_functions(app_role) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, r.rolname FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE p.proname = ANY(%s) AND a.privilege_type = 'EXECUTE' "
            "AND a.grantee <> p.proowner",
            [["registru_prune_events", "registru_seal_boundary", "registru_shred_key"]],
        )
        callers = sorted(cursor.fetchall())
    assert callers == [("registru_prune_events", ROLE), ("registru_seal_boundary", ROLE), ("registru_shred_key", ROLE)]


def test_the_deploy_checks_warn_when_registru_connects_as_the_tables_owner(app_role) -> None:
    assert [warning.id for warning in dbguard.check_not_the_owner()] == ["core.W001"]
    with as_app(ROLE):
        assert dbguard.check_not_the_owner() == []
