"""Data keys kept for one service call: read and unwrapped once, never served once shredded,
never served after their savepoint was rolled back, never kept beyond the call."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from registru.core.actors import SystemActor
from registru.core.services import service
from registru.vault import services as vault
from registru.vault.models import PersonKey

pytestmark = pytest.mark.django_db


def key_statements(captured: CaptureQueriesContext) -> list[str]:
    """The kind of each statement on the key table (an executemany is logged "7 times: INSERT")."""
    sqls = [query["sql"].partition("times: ")[2] or query["sql"] for query in captured.captured_queries]
    return [sql.split()[0].upper() for sql in sqls if "vault_personkey" in sql]


def stored_key(person_id: int) -> bytes | None:
    wrapped = PersonKey.objects.get(person_id=person_id).wrapped
    return None if wrapped is None else vault.unwrap_key(vault.master_key(), person_id, bytes(wrapped))


@service
def encrypt_for(person_id: int, fields: list[str], *, actor: Any) -> list[dict[str, str]]:
    return [vault.encrypt(person_id, field, "x") for field in fields]


def test_a_service_reads_and_unwraps_a_key_once_however_many_values_it_encrypts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault.data_key(7, create=True)
    unwraps: list[int] = []
    real_unwrap = vault.unwrap_key

    def counted_unwrap(*args: Any) -> bytes:
        unwraps.append(1)
        return real_unwrap(*args)

    monkeypatch.setattr(vault, "unwrap_key", counted_unwrap)
    with CaptureQueriesContext(connection) as captured:
        encrypt_for(7, ["given_name", "family_name", "emails", "phones", "city"], actor=SystemActor("test"))
    assert key_statements(captured) == ["SELECT"]
    assert len(unwraps) == 1


def test_a_shredded_key_is_never_served_from_the_scope_that_held_it() -> None:
    with vault.key_scope():
        sealed = vault.encrypt(7, "given_name", "Ioana")
        assert vault.data_key(7) is not None  # kept in the scope from here on
        assert vault.shred(7)
        assert vault.data_key(7) is None
        with pytest.raises(vault.VaultError):
            vault.encrypt(7, "given_name", "Ioana")
        assert vault.decrypt(7, "given_name", sealed, vault.data_key(7)) == vault.ERASED


def test_a_shred_inside_a_nested_scope_reaches_the_outer_ones() -> None:
    with vault.key_scope():
        vault.encrypt(7, "given_name", "Ioana")
        with vault.key_scope():
            vault.shred(7)
        assert vault.data_key(7) is None


def test_nothing_is_kept_once_a_service_call_ends() -> None:
    actor = SystemActor("test")
    encrypt_for(7, ["given_name"], actor=actor)
    assert vault._scope.get() is None
    vault.shred(7)  # as another process would, with no scope of ours open
    with pytest.raises(vault.VaultError):
        encrypt_for(7, ["given_name"], actor=actor)


def make_key_then_fail(person_id: int) -> None:
    with transaction.atomic():
        vault.data_key(person_id, create=True)
        raise RuntimeError("the savepoint, and the key made in it, are rolled back")


def test_a_key_made_in_a_savepoint_that_was_rolled_back_is_not_served() -> None:
    with transaction.atomic(), vault.key_scope():
        with pytest.raises(RuntimeError):
            make_key_then_fail(7)
        assert not PersonKey.objects.filter(person_id=7).exists()
        key = vault.data_key(7, create=True)
        # The key served is the one the database keeps, so what it encrypts stays readable.
        assert key == stored_key(7)


def test_a_new_persons_key_is_stored_and_used_without_being_read_back() -> None:
    with vault.key_scope(), CaptureQueriesContext(connection) as captured:
        key = vault.new_key(7)
        sealed = vault.encrypt(7, "given_name", "Ana")
    assert key_statements(captured) == ["INSERT"]
    assert stored_key(7) == key
    assert vault.decrypt(7, "given_name", sealed, vault.data_key(7)) == "Ana"


def test_a_new_key_for_an_id_that_has_one_is_the_stored_one_and_a_shredded_one_is_refused() -> None:
    existing = vault.data_key(7, create=True)
    with vault.key_scope():
        assert vault.new_key(7) == existing
    vault.shred(8)
    with vault.key_scope(), pytest.raises(vault.VaultError):
        vault.new_key(8)


def test_keys_for_many_people_take_one_query_and_one_insert() -> None:
    for person_id in (1, 2, 3):
        vault.data_key(person_id, create=True)
    with CaptureQueriesContext(connection) as captured, vault.keys_for(range(1, 11)):
        for person_id in range(1, 11):
            vault.encrypt(person_id, "city", "Iași")
    assert key_statements(captured) == ["SELECT", "INSERT"]
    assert all(vault.data_key(person_id) == stored_key(person_id) for person_id in range(1, 11))


@service
def record_for_new_subject(person: Any, *, actor: Any) -> Any:
    """What a service that creates a person does: one event, the person's key made with it."""
    from registru.audit.actions import AuditAction
    from registru.audit.services import record

    return record(AuditAction.PERSON_CREATED, actor=actor, target=person, changes={"given_name": (None, "Ana")},
                  subject_id=person.pk, new_subject=True)  # fmt: skip


def test_a_created_persons_key_is_stored_with_the_event_and_never_read_back() -> None:
    from registru.audit.reading import KeyCache, readable_changes
    from registru.people.services.people import create_person

    with CaptureQueriesContext(connection) as captured:
        person = create_person({"given_name": "Ana", "family_name": "Pop"}, actor=SystemActor("test"))
    on_keys = [query["sql"] for query in captured.captured_queries if "vault_personkey" in query["sql"]]
    assert len(on_keys) == 1
    assert "INSERT INTO vault_personkey" in on_keys[0]
    assert "SELECT person_id, wrapped" not in on_keys[0]  # made here: nothing to read
    if connection.vendor == "postgresql":  # sent in the round trip that takes the position
        assert "nextval('audit_event_position')" in on_keys[0]
    assert stored_key(person.pk) is not None
    event = person_events(person.pk)[0]
    assert readable_changes(event, KeyCache())["family_name"] == (None, "Pop")


def test_an_event_for_a_new_subject_whose_key_was_stored_meanwhile_uses_the_stored_key() -> None:
    """Another transaction won the race to make this person's key: the event's values are
    encrypted under the stored key, never under the one made here and not stored."""
    from registru.audit.reading import KeyCache, readable_changes
    from registru.people.services.people import create_person

    person = create_person({"given_name": "Ana", "family_name": "Pop"}, actor=SystemActor("test"))
    stored = stored_key(person.pk)
    event = record_for_new_subject(person, actor=SystemActor("test"))
    assert stored_key(person.pk) == stored
    assert readable_changes(event, KeyCache())["given_name"] == (None, "Ana")


def test_an_event_for_a_new_subject_already_shredded_is_refused_and_writes_nothing() -> None:
    from registru.audit.models import AuditEvent
    from registru.people.services.people import create_person

    person = create_person({"given_name": "Ana", "family_name": "Pop"}, actor=SystemActor("test"))
    vault.shred(person.pk)
    before = AuditEvent.objects.count()
    with pytest.raises(vault.VaultError):
        record_for_new_subject(person, actor=SystemActor("test"))
    assert AuditEvent.objects.count() == before
    assert stored_key(person.pk) is None


def person_events(person_id: int) -> list[Any]:
    from registru.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(subject_id=person_id).order_by("id"))
