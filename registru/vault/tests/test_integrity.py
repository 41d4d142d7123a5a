"""A data key lost, cleared or swapped for a person who is not erased is found and reported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from registru.people import services
from registru.vault.integrity import KeyDamage, KeyFinding, find_key_damage

pytestmark = pytest.mark.django_db


@contextmanager
def guards_disabled() -> Iterator[None]:
    """As the owner of the database could: the key table's triggers off (the test's
    transaction is rolled back afterwards, triggers included)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE vault_personkey DISABLE TRIGGER registru_guard")
        else:
            for operation in ("update", "delete"):
                cursor.execute(f'DROP TRIGGER "registru_guard_vault_personkey_{operation}"')
    yield
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE vault_personkey ENABLE TRIGGER registru_guard")


def tamper(statement: str, params: list) -> None:
    with guards_disabled(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def check() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("vault", "check", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_intact_keys_pass_and_an_erased_persons_shredded_key_is_no_damage(cast) -> None:
    services.erase_person(cast.andrei_person, actor=cast.dora, reason="Art. 17")
    assert find_key_damage() == []
    assert check() == (0, "The data keys are intact.\n")


@pytest.mark.parametrize(
    "attack",
    [
        "DELETE FROM vault_personkey WHERE person_id = %s",
        "UPDATE vault_personkey SET wrapped = NULL WHERE person_id = %s",
    ],
)
def test_it_finds_a_deleted_or_cleared_key_of_a_person_who_is_not_erased(cast, attack: str) -> None:
    tamper(attack, [cast.andrei_person.pk])
    assert find_key_damage() == [KeyFinding(cast.andrei_person.pk, KeyDamage.MISSING)]
    code, output = check()
    assert code == 1
    assert f"person {cast.andrei_person.pk}: data key missing" in output


def test_it_finds_a_key_copied_from_another_person(cast) -> None:
    tamper(
        "UPDATE vault_personkey SET wrapped = (SELECT wrapped FROM vault_personkey WHERE person_id = %s) "
        "WHERE person_id = %s",
        [cast.alice_person.pk, cast.andrei_person.pk],
    )
    assert find_key_damage() == [KeyFinding(cast.andrei_person.pk, KeyDamage.UNREADABLE)]


def test_it_finds_a_key_row_of_a_person_who_does_not_exist(cast) -> None:
    ghost = cast.carol_person.pk + 1000
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO vault_personkey (person_id, wrapped, created_at) "
            "SELECT %s, wrapped, created_at FROM vault_personkey WHERE person_id = %s",
            [ghost, cast.carol_person.pk],
        )
    assert find_key_damage() == [KeyFinding(ghost, KeyDamage.ORPHANED)]


def test_it_finds_the_key_of_an_erased_person_put_back(cast) -> None:
    person = cast.andrei_person
    with connection.cursor() as cursor:
        cursor.execute("SELECT wrapped FROM vault_personkey WHERE person_id = %s", [person.pk])
        (kept,) = cursor.fetchone()
    services.erase_person(person, actor=cast.dora, reason="Art. 17")
    tamper("UPDATE vault_personkey SET wrapped = %s WHERE person_id = %s", [kept, person.pk])
    assert find_key_damage() == [KeyFinding(person.pk, KeyDamage.NOT_SHREDDED)]


def test_the_systems_own_key_is_no_orphan_but_must_unwrap(cast) -> None:
    from registru.vault.services import SYSTEM_KEY_ID, system_state_key

    system_state_key(create=True)
    assert find_key_damage() == []
    tamper("UPDATE vault_personkey SET wrapped = (SELECT wrapped FROM vault_personkey WHERE person_id = %s) "
           "WHERE person_id = %s", [cast.alice_person.pk, SYSTEM_KEY_ID])  # fmt: skip
    assert [finding.person_id for finding in find_key_damage()] == [SYSTEM_KEY_ID]
