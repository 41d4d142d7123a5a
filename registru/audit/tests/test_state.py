"""The live records are bound to the trail: a change made around Registru, by an attacker who
opened the database's guard, is named by `registru audit verify --state` (record and field)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from django.core.management import call_command
from django.db import connection

from registru.audit import state
from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.audit.state import StateDamage, verify_state
from registru.core.dbguard import guarded_tables
from registru.people import services
from registru.people.models import Affiliation, Note, Person
from registru.testing.factories import SETUP, OrganizationFactory, PersonFactory, note_about
from registru.vault import services as vault

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(cast) -> Any:
    """People, organizations, an affiliation and notes written through the services; one
    person erased."""
    services.update_person(cast.alice_person, {"phones": ["+40722111222"], "city": "Cluj"}, actor=SETUP)
    note_about(cast.andrei_person, "Vrea ofertă la toamnă.")
    services.create_note({"body": "Întâlnire anuală", "kind": "meeting"}, actor=SETUP, organization=cast.alice_org)
    # A time on the second (no microseconds: written without a fraction) and a date.
    services.create_note(
        {"body": "Apel", "kind": "call", "occurred_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC)},
        actor=SETUP, person=cast.alice_person,
    )  # fmt: skip
    services.update_affiliation(Affiliation.objects.get(person=cast.alice_person), {"since": date(2020, 5, 1)},
                                actor=SETUP)  # fmt: skip
    erased = PersonFactory(given_name="Elena", family_name="Vasilescu", employer=cast.carol_org)
    note_about(erased, "De șters")
    services.erase_person(erased, actor=cast.dora, reason="Art. 17 request")
    services.bulk_update_people([cast.andrei_person.pk, cast.carol_person.pk], {"lawful_basis": "consent"}, actor=SETUP)
    return cast


@pytest.fixture
def guard_open() -> None:
    """The attacker's first move: the personal-data tables' guard opened (undone at rollback)."""
    personal, _audit = guarded_tables()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('registru.audit_context', 'on', true)")
        else:
            for table in personal:
                for operation in ("insert", "update", "delete"):
                    cursor.execute(f'DROP TRIGGER IF EXISTS "registru_guard_{table}_{operation}"')


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # again: a service call in between closed it
            cursor.execute("SELECT set_config('registru.audit_context', 'on', true)")
        cursor.execute(statement, params or [])


def found() -> list[tuple[str, int, StateDamage, tuple[str, ...]]]:
    report = verify_state()
    return [(f.model, f.pk, f.damage, f.fields) for f in report.findings]


def test_it_passes_an_untouched_database_with_every_record_committed(records) -> None:
    report = verify_state()
    assert report.intact, [str(f) for f in report.findings]
    assert report.uncommitted == 0
    assert (
        report.committed
        == report.checked
        == (Person.objects.count() + Note.objects.count() + Affiliation.objects.count() + 2)
    )


def test_it_passes_an_erased_person_whose_key_is_gone(records) -> None:
    erased = Person.objects.get(status="erased")
    assert vault.data_key(erased.pk) is None
    report = verify_state()
    assert report.intact
    latest = AuditEvent.objects.filter(target_type="people.person", target_id=erased.pk).first()
    assert latest is not None
    assert latest.payload["state"].startswith("s1:")  # the blanked record, under the system key


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("phones", '["+40799999999"]', "phones"),
        ("emails", '["altcineva@exemplu.ro"]', "emails"),
        ("family_name", "Ionescu", "family_name"),
    ],
)
def test_it_names_a_persons_column_changed_in_sql(records, guard_open, column, value, field) -> None:
    person = records.alice_person
    sql(f"UPDATE people_person SET {column} = %s WHERE id = %s", [value, person.pk])
    assert found() == [("people.person", person.pk, StateDamage.CHANGED, (field,))]


def test_it_names_a_person_inserted_in_sql(records, guard_open) -> None:
    sql(
        "INSERT INTO people_person (id, created_at, updated_at, given_name, family_name, emails, phones, job_title, "
        "preferred_language, source, lawful_basis, status, version, sort_key, street, city, county, postal_code, "
        "country) VALUES (9999, %s, %s, 'Fals', 'Nou', '[]', '[]', '', 'ro', 'other', 'consent', 'active', 1, "
        "'fals nou', '', '', '', '', 'RO')",
        ["2026-01-01 00:00:00", "2026-01-01 00:00:00"],
    )
    assert found() == [("people.person", 9999, StateDamage.INSERTED, ())]


def test_it_names_a_person_deleted_in_sql(records, guard_open) -> None:
    person = records.andrei_person
    for table in ("people_note", "people_personsearchdocument"):
        sql(f"DELETE FROM {table} WHERE person_id = %s", [person.pk])
    sql("DELETE FROM people_person WHERE id = %s", [person.pk])
    findings = found()
    assert ("people.person", person.pk, StateDamage.DELETED, ()) in findings
    note = Note.objects.filter(person=person).values_list("pk", flat=True)
    assert not note  # the note went too, and is named as well
    assert {f[2] for f in findings} == {StateDamage.DELETED}


def test_it_names_an_organization_an_affiliation_and_a_note_changed_in_sql(records, guard_open) -> None:
    organization = records.alice_org
    affiliation = Affiliation.objects.get(person=records.alice_person)
    note = Note.objects.get(person=records.andrei_person)
    sql("UPDATE people_organization SET name = 'Altă firmă SRL' WHERE id = %s", [organization.pk])
    sql("UPDATE people_affiliation SET role = 'Portar' WHERE id = %s", [affiliation.pk])
    sql("UPDATE people_note SET body = 'Nu vrea nimic.' WHERE id = %s", [note.pk])
    assert sorted(found()) == [
        ("people.affiliation", affiliation.pk, StateDamage.CHANGED, ("role",)),
        ("people.note", note.pk, StateDamage.CHANGED, ("body",)),
        ("people.organization", organization.pk, StateDamage.CHANGED, ("name",)),
    ]


def test_it_finds_a_record_put_back_to_an_older_state_with_its_old_row(records, guard_open) -> None:
    person = records.alice_person
    columns = [c.column for c in state.columns_of(Person)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM people_person WHERE id = %s", [person.pk])
        old_row = cursor.fetchone()
    services.update_person(Person.objects.get(pk=person.pk), {"job_title": "Director general"}, actor=SETUP)
    assignments = ", ".join(f"{column} = %s" for column in columns if column != "id")
    sql(f"UPDATE people_person SET {assignments} WHERE id = %s",
        [value for column, value in zip(columns, old_row, strict=True) if column != "id"] + [person.pk])  # fmt: skip
    assert found() == [("people.person", person.pk, StateDamage.CHANGED, ("job_title",))]


def test_it_names_the_change_without_decrypting_anything_on_the_fast_path(records, guard_open, monkeypatch) -> None:
    sql("UPDATE people_person SET city = 'Iași' WHERE id = %s", [records.alice_person.pk])

    def no_decryption(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the fast path decrypted a value")

    monkeypatch.setattr(vault, "decrypt", no_decryption)
    report = verify_state(name_fields=False)
    assert [(f.pk, f.damage) for f in report.findings] == [(records.alice_person.pk, StateDamage.CHANGED)]


def test_the_command_names_the_record_and_field_and_exits_1(records, guard_open) -> None:
    sql("UPDATE people_person SET phones = '[\"+40799999999\"]' WHERE id = %s", [records.alice_person.pk])
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("audit", "verify", "--state", stdout=out)
    assert exit_.value.code == 1
    assert f"people.person {records.alice_person.pk}: changed outside Registru (fields: phones)" in out.getvalue()


def test_the_command_exits_0_on_an_untouched_database(records) -> None:
    out = io.StringIO()
    call_command("audit", "verify", "--state", stdout=out)
    assert "The live records are the state the trail committed to." in out.getvalue()


# The commitment reveals nothing -------------------------------------------------------------------


def test_the_canonical_bytes_hold_no_plaintext_personal_value(records) -> None:
    person = records.alice_person
    for event in AuditEvent.objects.filter(subject_id=person.pk):
        for value in ("+40722111222", "Cluj", "Ioana", "Ștefănescu", person.primary_email):
            assert value not in event.canonical


def test_the_state_mac_key_is_hkdf_of_the_data_key_and_a_guess_needs_that_key(records) -> None:
    person = Person.objects.get(pk=records.alice_person.pk)
    key = vault.data_key(person.pk)
    assert key is not None
    derived = HKDFExpand(hashes.SHA256(), 32, vault.STATE_MAC_INFO).derive(key)
    assert vault.state_mac_key(key) == derived
    latest = AuditEvent.objects.filter(target_type="people.person", target_id=person.pk).first()
    assert latest is not None
    committed = latest.payload["state"]
    # With the data key, a guess of the phone can be tested against the commitment...
    guess = state.instance_values(person) | {"phones": ["+40722111222"]}
    assert committed == f"p1:{state.mac(derived, Person, person.pk, guess)}"
    # ...without it (the system key, the master key itself), it cannot.
    for other in (vault.system_state_key(create=True) or b"", vault.master_key().material):
        assert committed != f"p1:{state.mac(other, Person, person.pk, guess)}"
    vault.shred(person.pk)
    assert vault.data_key(person.pk) is None


def test_a_state_under_a_shredded_key_is_named_not_passed(records, guard_open) -> None:
    from registru.vault.tests.test_integrity import tamper

    person = records.alice_person
    tamper("UPDATE vault_personkey SET wrapped = NULL WHERE person_id = %s", [person.pk])  # the key guard off too
    assert ("people.person", person.pk, StateDamage.KEY_GONE, ()) in found()


# Upgrading: events written before states existed ----------------------------------------------------


@pytest.fixture
def upgraded(db, monkeypatch) -> Person:
    """Records written by a Registru that did not commit states; one of the people."""
    monkeypatch.setattr(state, "commitments", lambda drafts: [None] * len(drafts))
    person = PersonFactory(employer=OrganizationFactory())
    services.update_person(person, {"job_title": "Contabil"}, actor=SETUP)
    note_about(PersonFactory(), "Veche")
    monkeypatch.undo()
    return person


def test_records_written_before_are_not_yet_committed_and_not_damage(upgraded) -> None:
    report = verify_state()
    assert report.intact
    assert report.uncommitted == report.checked > 0
    out = io.StringIO()
    call_command("audit", "verify", "--state", stdout=out)  # exit 0
    assert f"{report.uncommitted} not yet committed" in out.getvalue()


def test_commit_state_binds_every_record_and_then_finds_a_change(upgraded, guard_open) -> None:
    out = io.StringIO()
    call_command("audit", "commit-state", stdout=out)
    report = verify_state()
    assert report.intact
    assert report.uncommitted == 0
    assert report.committed == report.checked
    baseline = AuditEvent.objects.filter(action=AuditAction.STATE_COMMITTED).first()
    assert baseline is not None
    assert baseline.channel == "cli"
    sql("UPDATE people_person SET job_title = 'Altceva' WHERE id = %s", [upgraded.pk])
    assert found() == [("people.person", upgraded.pk, StateDamage.CHANGED, ("job_title",))]


def test_a_records_next_write_commits_it(upgraded) -> None:
    services.update_person(Person.objects.get(pk=upgraded.pk), {"city": "Arad"}, actor=SETUP)
    assert verify_state().uncommitted == verify_state().checked - 1


# The reader of the canonical bytes ---------------------------------------------------------------


def test_the_summary_of_an_event_is_what_its_json_says(records) -> None:
    for event in AuditEvent.objects.all():
        document = json.loads(event.canonical)
        summary = state.summary(event.pk, event.canonical)
        assert summary is not None
        assert summary.state == document.get("state")
        assert summary.subject == document["subject"]
        assert list(summary.target) == document["target"]
        assert summary.writes == bool(document["changes"] or "state" in document)


# Several processes ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_several_processes_find_what_one_finds(cast, monkeypatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database lives in memory: one process checks it")
    monkeypatch.setattr(state, "CHUNK", 2)  # many ranges, so that each process takes several
    note_about(cast.andrei_person, "Sunat")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('registru.audit_context', 'on', false)")  # for the session
        try:
            cursor.execute("UPDATE people_person SET city = 'Brașov' WHERE id = %s", [cast.carol_person.pk])
            cursor.execute("UPDATE people_note SET body = 'Altceva' WHERE person_id = %s", [cast.andrei_person.pk])
        finally:
            cursor.execute("SELECT set_config('registru.audit_context', '', false)")
    alone, side_by_side = verify_state(), verify_state(workers=2)
    assert [str(f) for f in side_by_side.findings] == [str(f) for f in alone.findings]
    assert (side_by_side.checked, side_by_side.committed) == (alone.checked, alone.committed)
    assert [(f.model, f.fields) for f in alone.findings] == [("people.note", ("body",)), ("people.person", ("city",))]


# Every service that writes an audited record commits the row it leaves -----------------------------


def test_every_people_service_commits_the_row_it_leaves(cast) -> None:
    alice, andrei, carol = cast.alice_person, cast.andrei_person, cast.carol_person
    services.confirm_person(alice, actor=SETUP)
    services.mark_person_stale(andrei, actor=SETUP)
    services.archive_person(andrei, actor=SETUP)
    services.restore_person(andrei, actor=SETUP)
    services.restrict_processing(carol, actor=cast.dora, ground="accuracy_contested", reason="contested")
    services.lift_restriction(carol, actor=cast.dora, reason="settled", person_informed=True)
    changed = services.update_person(alice, {"job_title": "Șef"}, actor=SETUP)
    last = AuditEvent.objects.filter(target_type="people.person", target_id=alice.pk).first()
    assert last is not None
    services.revert_person_change(changed, last.pk, actor=SETUP)
    duplicate = PersonFactory(given_name="Ioana", family_name="Ștefănescu", employer=cast.carol_org)
    note_about(duplicate, "Dublură")
    services.merge_people(Person.objects.get(pk=alice.pk), duplicate, actor=SETUP)
    services.set_access_procedure(cast.alice_org, required=True, actor=SETUP, reason="key account")
    services.update_organization(cast.alice_org, {"industry": "textile"}, actor=SETUP)
    other = OrganizationFactory(name="Țesătoria Mureșul 2 SRL")
    services.merge_organizations(cast.alice_org, other, actor=SETUP)
    services.archive_organization(cast.carol_org, actor=SETUP)
    note = note_about(andrei, "Prima")
    services.update_note(note, {"body": "A doua"}, actor=SETUP)
    services.delete_note(note, actor=SETUP)
    affiliation = Affiliation.objects.filter(person=carol).first()
    assert affiliation is not None
    services.update_affiliation(affiliation, {"role": "Contabil"}, actor=SETUP)
    services.delete_affiliation(affiliation, actor=SETUP)
    report = verify_state()
    assert report.intact, [str(f) for f in report.findings]
    assert report.uncommitted == 0
