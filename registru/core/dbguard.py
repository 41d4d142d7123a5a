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

The people's data keys (``vault_personkey``) are guarded too: a key row is never deleted, a
key is cleared only on the shredding path (erasure) and re-wrapped only on the rotation path.

On PostgreSQL a setting is only a guard against mistakes: any session may set it. What stops
a session that is not Registru's own is the privilege: the application connects with a role
that does not own the tables (``core.dbroles``), so it can neither disable nor drop the
triggers, and it holds no UPDATE or DELETE on the audit tables and no DELETE on the data keys.
The three things it must still do there go through functions owned by the tables' owner
(SECURITY DEFINER), each doing one narrow thing: ``registru_prune_events`` (the events of
whole sealed batches), ``registru_seal_boundary`` (the sealer's lock) and ``registru_shred_key``
(the key of a person erased in the same transaction).

The triggers and functions are (re)created after every ``migrate``: a migration that rebuilds a
table on SQLite drops its triggers, and they come back at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.checks import Warning as CheckWarning
from django.core.checks import register
from django.db import DatabaseError
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from registru.core import context

# Set only by the test suite, so that its database flushes (plain DELETEs on SQLite) pass.
MAINTENANCE = False
_retention: ContextVar[bool] = ContextVar("registru_retention", default=False)
_shredding: ContextVar[bool] = ContextVar("registru_shredding", default=False)
_rotation: ContextVar[bool] = ContextVar("registru_key_rotation", default=False)
KEY_TABLE = "vault_personkey"  # the vault's PersonKey (core knows no app, only its table)

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
CREATE OR REPLACE FUNCTION registru_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN RETURN NEW; END IF;  -- a new key (or a shredded marker) is made at will
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'registru: data keys are never deleted (a shredded key stays, as a marker)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.person_id IS DISTINCT FROM OLD.person_id OR OLD.wrapped IS NULL THEN
    RAISE EXCEPTION 'registru: a data key never changes person, and a shredded key never comes back'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.wrapped IS NULL THEN
    -- The setting alone any session could set: the role must also be the tables' owner, as it
    -- is inside registru_shred_key (or when Registru itself runs as the owner).
    IF coalesce(current_setting('registru.shredding', true), '') <> 'on'
       OR NOT pg_has_role((SELECT relowner FROM pg_catalog.pg_class WHERE oid = TG_RELID), 'USAGE') THEN
      RAISE EXCEPTION 'registru: data keys are destroyed only by erasure' USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSIF coalesce(current_setting('registru.key_rotation', true), '') <> 'on' THEN
    RAISE EXCEPTION 'registru: data keys are re-wrapped only by a rotation of the master key'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
"""

# Owned by the tables' owner (whoever runs ``migrate``), run with its privileges, so that the
# application's role can do these three things and nothing more. Each sets its search path to
# the tables' schema with pg_temp last: a temporary table of the caller's named like one of
# ours must not be read in its place.
PG_DEFINER = """
CREATE OR REPLACE FUNCTION registru_prune_events(up_to_batch bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
  last_event bigint;
  deleted bigint;
  previous text := coalesce(current_setting('registru.audit_retention', true), '');
BEGIN
  SELECT last_id INTO last_event FROM audit_auditbatch WHERE seq = up_to_batch;
  IF last_event IS NULL THEN
    RAISE EXCEPTION 'registru: there is no sealed batch %', up_to_batch USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('registru.audit_retention', 'on', true);
  DELETE FROM audit_auditevent WHERE id <= last_event;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('registru.audit_retention', previous, true);
  RETURN deleted;
END $$;
CREATE OR REPLACE FUNCTION registru_seal_boundary() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
BEGIN
  -- Held until the caller's transaction ends: waits for every writer holding a position.
  LOCK TABLE audit_auditevent IN EXCLUSIVE MODE;
  RETURN (SELECT coalesce(max(id), 0) FROM audit_auditevent);
END $$;
CREATE OR REPLACE FUNCTION registru_shred_key(person bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
  written xid;
  top bigint := pg_current_xact_id()::text::bigint;
  writer bigint;
  shredded boolean;
  previous text := coalesce(current_setting('registru.shredding', true), '');
BEGIN
  -- Erased in this transaction: the row we see says so and was written by this transaction
  -- or one of its subtransactions (a row written by another transaction still in progress is
  -- not visible to us, so "in progress" can only be ours). xmin has 32 bits: it names the
  -- transaction nearest to ours with those bits, as PostgreSQL compares them.
  SELECT xmin INTO written FROM people_person WHERE id = person AND status = 'erased';
  IF written IS NOT NULL THEN
    writer := (top >> 32 << 32) | written::text::bigint;
    IF writer > top + 2147483648 THEN
      writer := writer - 4294967296;
    ELSIF writer < top - 2147483648 THEN
      writer := writer + 4294967296;
    END IF;
  END IF;
  IF written IS NULL OR writer < 0 OR pg_xact_status(writer::text::xid8) IS DISTINCT FROM 'in progress' THEN
    RAISE EXCEPTION 'registru: person % is not erased in this transaction, so their data key stays', person
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('registru.shredding', 'on', true);
  UPDATE vault_personkey SET wrapped = NULL, shredded_at = now() WHERE person_id = person AND wrapped IS NOT NULL;
  shredded := FOUND;
  IF NOT shredded THEN  -- no key yet: a marker, so that none is ever made for them
    INSERT INTO vault_personkey (person_id, wrapped, created_at, shredded_at) VALUES (person, NULL, now(), now())
      ON CONFLICT (person_id) DO NOTHING;
  END IF;
  PERFORM set_config('registru.shredding', previous, true);
  RETURN shredded;
END $$;
REVOKE ALL ON FUNCTION registru_prune_events(bigint), registru_seal_boundary(), registru_shred_key(bigint) FROM PUBLIC;
"""
DEFINER_FUNCTIONS = ("registru_prune_events(bigint)", "registru_seal_boundary()", "registru_shred_key(bigint)")


def write_allowed() -> bool:
    return MAINTENANCE or context.in_service()


def retention_allowed() -> bool:
    return MAINTENANCE or _retention.get()


def shredding_allowed() -> bool:
    return MAINTENANCE or _shredding.get()


def rotation_allowed() -> bool:
    return MAINTENANCE or _rotation.get()


@receiver(connection_created)
def install_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        raw = connection.connection
        raw.create_function("registru_write_allowed", 0, lambda: int(write_allowed()))
        raw.create_function("registru_retention_allowed", 0, lambda: int(retention_allowed()))
        raw.create_function("registru_shredding_allowed", 0, lambda: int(shredding_allowed()))
        raw.create_function("registru_rotation_allowed", 0, lambda: int(rotation_allowed()))
        raw.create_function("registru_maintenance", 0, lambda: int(MAINTENANCE))


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


@contextmanager
def shredding_path() -> Iterator[None]:
    """The one way to clear a person's data key (``vault.shred``, called by erasure)."""
    with _path(_shredding, "registru.shredding"):
        yield


@contextmanager
def rotation_path() -> Iterator[None]:
    """The one way to re-wrap data keys (``vault.rotate_master``)."""
    with _path(_rotation, "registru.key_rotation"):
        yield


@contextmanager
def _path(flag: ContextVar[bool], setting: str) -> Iterator[None]:
    token = flag.set(True)
    try:
        _set_local(setting, "on")
        yield
        _set_local(setting, "")  # the rest of the transaction is not on this path
    finally:
        flag.reset(token)


def _set_local(setting: str, value: str) -> None:
    if default_connection.vendor == "postgresql":
        with default_connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])


def owns_table(table: str, connection: BaseDatabaseWrapper = default_connection) -> bool:
    """Whether this connection's role owns ``table`` (or may act as its owner): PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(relowner, 'USAGE') FROM pg_catalog.pg_class WHERE oid = %s::regclass", [table]
        )
        return bool(cursor.fetchone()[0])


@register("database_roles", deploy=True)
def check_not_the_owner(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """Warn when Registru connects as a role that could switch the database guards off."""
    if default_connection.vendor != "postgresql":
        return []
    try:
        owner = owns_table(KEY_TABLE)
    except DatabaseError:
        return []  # not migrated yet: nothing to own
    if not owner:
        return []
    return [
        CheckWarning(
            "Registru connects to PostgreSQL as a role that owns its tables (or a superuser): "
            "it could disable the triggers that guard the audit trail, personal data and data keys.",
            hint="Connect as the application's role, granted with `registru db grant-app-role` (docs/deployment.md).",
            id="core.W001",
        )
    ]


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
        for statement in _statements(connection, personal, audit):
            cursor.execute(statement)


def _statements(connection: BaseDatabaseWrapper, personal: list[str], audit: list[str]) -> Iterator[str]:
    if connection.vendor == "postgresql":
        yield PG_GUARD
        yield PG_DEFINER.format(schema=_schema(connection))
        for table, function in (
            [(t, "registru_refuse_unaudited") for t in personal]
            + [(t, "registru_append_only") for t in audit]
            + [(KEY_TABLE, "registru_key_guard")]
        ):
            yield f'DROP TRIGGER IF EXISTS registru_guard ON "{table}"'
            yield (
                f'CREATE TRIGGER registru_guard BEFORE INSERT OR UPDATE OR DELETE ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
    elif connection.vendor == "sqlite":
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
        yield from _sqlite_key_guards(refuse)


def _sqlite_key_guards(refuse: str) -> Iterator[str]:
    yield (
        f'CREATE TRIGGER IF NOT EXISTS "registru_guard_{KEY_TABLE}_delete" BEFORE DELETE ON "{KEY_TABLE}" '
        "WHEN registru_maintenance() = 0 "
        + refuse.format(what="data keys are never deleted (a shredded key stays, as a marker)")
    )
    # Clearing a key is shredding, putting another in its place is a rotation; nothing else.
    yield (
        f'CREATE TRIGGER IF NOT EXISTS "registru_guard_{KEY_TABLE}_update" BEFORE UPDATE ON "{KEY_TABLE}" '
        "WHEN registru_maintenance() = 0 AND NOT (NEW.person_id = OLD.person_id AND OLD.wrapped IS NOT NULL "
        "AND CASE WHEN NEW.wrapped IS NULL THEN registru_shredding_allowed() ELSE registru_rotation_allowed() END) "
        + refuse.format(what="data keys are destroyed only by erasure and re-wrapped only by a rotation")
    )


def _schema(connection: BaseDatabaseWrapper) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return str(connection.ops.quote_name(cursor.fetchone()[0]))
