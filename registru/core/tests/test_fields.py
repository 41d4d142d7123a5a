"""The write path's tables keep one b-tree per key, as registru.core.fields says."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Model

from registru.audit.models import AuditEvent
from registru.people.models import Person, PersonSearchDocument
from registru.vault.models import PersonKey

pytestmark = pytest.mark.django_db

ROWID_KEYED = [AuditEvent, PersonKey, PersonSearchDocument]


def _sqlite_indexes(table: str) -> list[tuple[str, str]]:
    """(name, origin) of each index: origin "pk" is a primary key kept apart from the rowid."""
    with connection.cursor() as cursor:
        cursor.execute(f'PRAGMA index_list("{table}")')
        return [(row[1], row[3]) for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the rowid is SQLite's")
@pytest.mark.parametrize("model", ROWID_KEYED, ids=lambda model: model._meta.db_table)
def test_it_keys_the_write_path_tables_by_rowid_on_sqlite(model: type[Model]) -> None:
    assert [name for name, origin in _sqlite_indexes(model._meta.db_table) if origin == "pk"] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL keeps its column types")
@pytest.mark.parametrize("model", ROWID_KEYED, ids=lambda model: model._meta.db_table)
def test_it_keeps_64_bit_keys_on_postgresql(model: type[Model]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            [model._meta.db_table, model._meta.pk.column],
        )
        assert cursor.fetchone() == ("bigint",)


def test_it_indexes_the_sort_key_once() -> None:
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, table)
    on_sort_key = sorted(
        name for name, index in indexes.items() if index["index"] and index["columns"][:1] == ["sort_key"]
    )
    assert on_sort_key == ["person_sort_idx"]


def test_it_indexes_merged_into_only_where_set() -> None:
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, table)
    on_merged_into = sorted(
        name for name, index in indexes.items() if index["index"] and index["columns"] == ["merged_into_id"]
    )
    assert on_merged_into == ["person_merged_idx"]  # the partial one (models.py); no full index beside it
