"""Database-level guards: personal data and the audit trail refuse writes that bypass Registru.

Every table of a model in the PII registry refuses INSERT, UPDATE and DELETE unless the writing
transaction runs inside a Registru service; the audit tables also refuse every UPDATE, and every
DELETE outside the documented retention path. A ``QuerySet.update()`` from a shell, raw SQL, or
another program connected to the database fails instead of changing data unseen.

PostgreSQL: row triggers check a transaction-local setting that services set
(``registru.audit_context``), and ``registru.audit_retention`` for the retention path.
SQLite has no session settings: Registru registers SQL functions on its own connections that
answer from the same Python state; a connection that is not Registru's (the ``sqlite3`` shell)
does not have the functions, so its writes fail as well.

The triggers are (re)created after every ``migrate``: a migration that rebuilds a table on
SQLite drops its triggers, and they come back at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from registru.core import context

# Set only by the test suite, so that its database flushes (plain DELETEs on SQLite) pass.
MAINTENANCE = False
_retention: ContextVar[bool] = ContextVar("registru_retention", default=False)

PG_GUARD = """
CREATE OR REPLACE FUNCTION registru_refuse_unaudited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('registru.audit_context', true), '') <> 'on' THEN
    RAISE EXCEPTION 'registru: % on % outside a Registru service', TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION registru_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION 'registru: the audit trail is never changed (%)', TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' AND coalesce(current_setting('registru.audit_retention', true), '') <> 'on' THEN
    RAISE EXCEPTION 'registru: audit records are deleted only by the retention path (%)', TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'INSERT' AND coalesce(current_setting('registru.audit_context', true), '') <> 'on' THEN
    RAISE EXCEPTION 'registru: % written outside Registru', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
"""


def write_allowed() -> bool:
    return MAINTENANCE or context.in_service()


def retention_allowed() -> bool:
    return MAINTENANCE or _retention.get()


@receiver(connection_created)
def install_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        raw = connection.connection
        raw.create_function("registru_write_allowed", 0, lambda: int(write_allowed()))
        raw.create_function("registru_retention_allowed", 0, lambda: int(retention_allowed()))


MARK = "SELECT set_config('registru.audit_context', 'on', true)"


def mark_transaction(connection: BaseDatabaseWrapper = default_connection) -> None:
    """Tell PostgreSQL's triggers that this transaction is a Registru service's."""
    if connection.vendor == "postgresql" and connection.in_atomic_block and not _begin_marked(connection):
        with connection.cursor() as cursor:
            cursor.execute(MARK)


def _begin_marked(connection: BaseDatabaseWrapper) -> bool:
    """Begin the transaction and mark it in one round trip, if it has not begun yet.

    Django's ``atomic()`` only turns autocommit off; psycopg sends ``BEGIN`` on its own before
    the first statement, so a service would pay one round trip for ``BEGIN`` and another for
    the mark. When nothing has been sent in this transaction yet (the usual case: a service is
    the outermost ``atomic``), both go together as one simple query, and psycopg, which reads
    the transaction status from the server, then sends no ``BEGIN`` of its own. Otherwise
    (a savepoint, a transaction with other settings) the mark goes alone. Django's query log
    does not list this statement.
    """
    from psycopg import errors
    from psycopg.pq import ExecStatus, TransactionStatus

    raw = connection.connection
    if (
        raw is None
        or raw.autocommit
        or raw.info.transaction_status != TransactionStatus.IDLE
        or (raw.isolation_level, raw.read_only, raw.deferrable) != (None, None, None)
    ):
        return False
    with connection.wrap_database_errors:
        result = raw.pgconn.exec_(f"BEGIN; {MARK}".encode())
        if result.status != ExecStatus.TUPLES_OK:
            raise errors.error_from_result(result, encoding=raw.info.encoding)
    return True


def unmark_transaction(connection: BaseDatabaseWrapper = default_connection) -> None:
    """Undo ``mark_transaction`` when a service ends inside an outer transaction."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('registru.audit_context', '', true)")


@contextmanager
def retention_path() -> Iterator[None]:
    """The one way to delete audit records (whole pruned batches; see docs/audit.md)."""
    token = _retention.set(True)
    try:
        if default_connection.vendor == "postgresql":
            with default_connection.cursor() as cursor:
                cursor.execute("SELECT set_config('registru.audit_retention', 'on', true)")
        yield
    finally:
        _retention.reset(token)


def guarded_tables() -> tuple[list[str], list[str]]:
    """(personal-data tables, audit tables), from the PII registry and the audit app."""
    from django.apps import apps

    from registru.core.pii import personal_data_models

    personal = sorted({model._meta.db_table for model in personal_data_models()})
    audit = sorted(model._meta.db_table for model in apps.get_app_config("audit").get_models())
    return personal, audit


def install_triggers(connection: BaseDatabaseWrapper = default_connection) -> None:
    personal, audit = guarded_tables()
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, personal, audit):
            cursor.execute(statement)


def _statements(vendor: str, personal: list[str], audit: list[str]) -> Iterator[str]:
    if vendor == "postgresql":
        yield PG_GUARD
        for table, function in [(t, "registru_refuse_unaudited") for t in personal] + [
            (t, "registru_append_only") for t in audit
        ]:
            yield f'DROP TRIGGER IF EXISTS registru_guard ON "{table}"'
            yield (
                f'CREATE TRIGGER registru_guard BEFORE INSERT OR UPDATE OR DELETE ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
    elif vendor == "sqlite":
        refuse = "BEGIN SELECT RAISE(ABORT, 'registru: {what}'); END"
        for table in personal:
            for operation in ("INSERT", "UPDATE", "DELETE"):
                yield (
                    f'CREATE TRIGGER IF NOT EXISTS "registru_guard_{table}_{operation.lower()}" BEFORE {operation} '
                    f'ON "{table}" WHEN registru_write_allowed() = 0 '
                    + refuse.format(what=f"{operation} on {table} outside a Registru service")
                )
        for table in audit:
            yield (
                f'CREATE TRIGGER IF NOT EXISTS "registru_guard_{table}_update" BEFORE UPDATE ON "{table}" '
                + refuse.format(what="the audit trail is never changed")
            )
            yield (
                f'CREATE TRIGGER IF NOT EXISTS "registru_guard_{table}_delete" BEFORE DELETE ON "{table}" '
                "WHEN registru_retention_allowed() = 0 "
                + refuse.format(what="audit records are deleted only by the retention path")
            )
            yield (
                f'CREATE TRIGGER IF NOT EXISTS "registru_guard_{table}_insert" BEFORE INSERT ON "{table}" '
                "WHEN registru_write_allowed() = 0 " + refuse.format(what="audit records written outside Registru")
            )
