"""Generated attacks on the live records and the data keys, as direct SQL by someone who opened
the guards: a column of a person, an organization, an affiliation or a note changed, a row
deleted, a data key deleted, cleared or swapped. `verify --state` (the records) or `verify` (the
keys) names every one, at its record."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, models, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registru.audit.state import verify_state
from registru.audit.tests.test_state import (
    records,  # noqa: F401  (a fixture)
    sql,
)
from registru.audit.verify import Damage, verify
from registru.people.models import Affiliation, Note, Organization, Person

pytestmark = pytest.mark.django_db

EDITS: dict[str, tuple[type[models.Model], dict[str, str]]] = {
    "people.person": (Person, {
        "given_name": "'X' || given_name", "family_name": "family_name || 'x'", "job_title": "'Forged'",
        "city": "'Forged'", "phones": "'[\"+40799999999\"]'", "emails": "'[\"forged@example.ro\"]'",
    }),
    "people.organization": (Organization, {"name": "name || ' SRL'", "city": "'Forged'"}),
    "people.affiliation": (Affiliation, {"role": "'Forged'"}),
    "people.note": (Note, {"body": "'Forged'"}),
}  # fmt: skip


def rows_of(model: Any) -> list[int]:
    manager = model._default_manager
    if model is Person:
        return list(manager.exclude(status="erased").order_by("pk").values_list("pk", flat=True))
    return list(manager.order_by("pk").values_list("pk", flat=True))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_generated_change_to_a_live_record_is_named(records, data) -> None:  # noqa: F811
    label = data.draw(st.sampled_from(sorted(EDITS)), label="model")
    model, columns = EDITS[label]
    pk = data.draw(st.sampled_from(rows_of(model)), label="record")
    delete = label in {"people.note", "people.affiliation"} and data.draw(st.booleans(), label="delete")
    column = data.draw(st.sampled_from(sorted(columns)), label="column")
    table = model._meta.db_table
    with transaction.atomic():
        _open()
        if delete:
            sql(f"DELETE FROM {table} WHERE id = %s", [pk])
        else:
            sql(f"UPDATE {table} SET {column} = {columns[column]} WHERE id = %s", [pk])
        report = verify_state(name_fields=False)
        transaction.set_rollback(True)
    assert (label, pk) in {(finding.model, finding.pk) for finding in report.findings}, report.findings


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_generated_attack_on_a_data_key_is_found(records, data) -> None:  # noqa: F811
    living = rows_of(Person)
    person = data.draw(st.sampled_from(living), label="person")
    kind = data.draw(st.sampled_from(["delete", "clear", "swap"]), label="attack")
    with transaction.atomic():
        _open_keys()
        if kind == "delete":
            sql("DELETE FROM vault_personkey WHERE person_id = %s", [person])
        elif kind == "clear":
            sql("UPDATE vault_personkey SET wrapped = NULL WHERE person_id = %s", [person])
        else:
            other = next(pk for pk in living if pk != person)
            sql("UPDATE vault_personkey SET wrapped = (SELECT wrapped FROM vault_personkey WHERE person_id = %s) "
                "WHERE person_id = %s", [other, person])  # fmt: skip
        report = verify(data_keys=True)
        transaction.set_rollback(True)
    assert any(
        finding.damage == Damage.KEY_DAMAGED and f"person {person}:" in finding.detail for finding in report.findings
    ), report.findings


def _open() -> None:
    """The personal-data guard opened, inside the example's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('registru.audit_context', 'on', true)")
        else:
            from registru.core.dbguard import guarded_tables

            for table in guarded_tables()[0]:
                for operation in ("insert", "update", "delete"):
                    cursor.execute(f'DROP TRIGGER IF EXISTS "registru_guard_{table}_{operation}"')


def _open_keys() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE vault_personkey DISABLE TRIGGER registru_guard")
        else:
            for operation in ("update", "delete"):
                cursor.execute(f'DROP TRIGGER IF EXISTS "registru_guard_vault_personkey_{operation}"')
