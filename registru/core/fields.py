"""Model fields whose columns differ by database.

A table whose primary key is a 64-bit integer we assign ourselves (an audit event's position,
a person's id on their key or search document) is declared ``bigint PRIMARY KEY`` by Django.
On SQLite only a column declared exactly ``INTEGER PRIMARY KEY`` is the table's rowid; any
other primary key is a second b-tree (``sqlite_autoindex_…``) beside the table. Every insert
then writes two b-trees instead of one, and every lookup by key reads the index, then the
table. On the write path of a person's create that was three more pages in the WAL, each one
written and fsync'd at commit. SQLite's ``INTEGER`` holds 64 bits, as ``bigint`` does;
PostgreSQL keeps ``bigint``.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def _rowid_type(connection: Any, default: str | None) -> str | None:
    return "integer" if connection.vendor == "sqlite" else default


class RowidBigIntegerField(models.BigIntegerField):
    """A 64-bit integer primary key that is the rowid on SQLite."""

    def db_type(self, connection: Any) -> str | None:
        return _rowid_type(connection, super().db_type(connection))


class RowidOneToOneField(models.OneToOneField):
    """A one-to-one primary key (a row that extends another table's) that is the rowid on SQLite."""

    def db_type(self, connection: Any) -> str | None:
        return _rowid_type(connection, super().db_type(connection))
