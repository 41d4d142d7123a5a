"""The people's data keys refuse every change but erasure's and rotation's, on both databases."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from registru.core import dbguard
from registru.people import services
from registru.vault import keys
from registru.vault import services as vault
from registru.vault.models import PersonKey

pytestmark = pytest.mark.django_db
REGISTRU = str(Path(sys.executable).with_name("registru"))


@pytest.fixture
def attacker() -> Iterator[None]:
    """No maintenance allowance and no service transaction: a plain session, as an intruder's."""
    dbguard.MAINTENANCE = False
    yield
    dbguard.MAINTENANCE = True


def refused(statement: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except DatabaseError as exc:
        return "registru" in str(exc)
    return False


def wrapped(person_id: int) -> bytes | None:
    value = PersonKey.objects.get(person_id=person_id).wrapped
    return None if value is None else bytes(value)


def test_a_data_key_is_never_deleted_cleared_moved_or_replaced_by_raw_sql(cast, attacker) -> None:
    person, other = cast.andrei_person.pk, cast.alice_person.pk
    before = wrapped(person)
    assert refused("DELETE FROM vault_personkey WHERE person_id = %s", [person])
    assert refused("UPDATE vault_personkey SET wrapped = NULL WHERE person_id = %s", [person])
    assert refused("UPDATE vault_personkey SET person_id = %s WHERE person_id = %s", [-person, person])
    assert refused(
        "UPDATE vault_personkey SET wrapped = (SELECT wrapped FROM vault_personkey WHERE person_id = %s) "
        "WHERE person_id = %s",
        [other, person],
    )
    assert wrapped(person) == before
    assert vault.data_key(person) is not None


def test_a_shredded_key_never_comes_back(cast, attacker) -> None:
    person = cast.andrei_person
    services.erase_person(person, actor=cast.dora, reason="Art. 17")
    with dbguard.rotation_path():  # even on the rotation's path
        assert refused("UPDATE vault_personkey SET wrapped = %s WHERE person_id = %s", [b"\x01" * 61, person.pk])
    assert wrapped(person.pk) is None


def test_erasure_shreds_the_key_through_the_guard(cast, attacker) -> None:
    person = cast.andrei_person
    services.erase_person(person, actor=cast.dora, reason="Art. 17")
    assert wrapped(person.pk) is None


def test_a_rotation_rewraps_the_keys_through_the_guard(cast, attacker) -> None:
    person = cast.andrei_person.pk
    key = vault.data_key(person)
    new = keys.generate()
    assert vault.rotate_master(new) >= 3
    assert vault.unwrap_key(new, person, wrapped(person) or b"") == key


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres')")
def test_another_program_opening_the_sqlite_file_cannot_delete_or_change_a_key(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_URL")}
    env |= {"REGISTRU_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("REGISTRU_MASTER_KEY_FILE", None)
    subprocess.run([REGISTRU, "migrate", "-v0"], env=env, check=True, timeout=120)
    subprocess.run([REGISTRU, "demo", "--people", "3"], env=env, check=True, timeout=120, capture_output=True)
    outsider = sqlite3.connect(tmp_path / "db.sqlite3")
    before = outsider.execute("SELECT person_id, wrapped FROM vault_personkey ORDER BY 1").fetchall()
    for statement in ("DELETE FROM vault_personkey", "UPDATE vault_personkey SET wrapped = NULL"):
        with pytest.raises(sqlite3.OperationalError):
            outsider.execute(statement)
    assert before
    assert outsider.execute("SELECT person_id, wrapped FROM vault_personkey ORDER BY 1").fetchall() == before
