"""PostgreSQL: the privileges of the application's role, generated from the tables that exist.

Two roles (docs/deployment.md): the owner owns the tables, runs ``migrate`` and owns the
guard functions; the application's role (gunicorn, the workers, the ``registru`` command in
daily use) owns nothing, so it can neither disable nor drop a trigger. It gets:

- the audit tables: SELECT and INSERT only (never UPDATE, DELETE or TRUNCATE); the retention
  path and the sealer's lock go through the owner's functions (``core.dbguard``);
- the data keys (``vault_personkey``) and the keyring: SELECT, INSERT and UPDATE (a rotation of
  the master key re-wraps keys), never DELETE; a key is cleared through ``registru_shred_key``;
- Django's migration record: SELECT;
- every other table: SELECT, INSERT, UPDATE, DELETE (personal data is still checked by its
  triggers, as a guard against mistakes; a session holding this role's credentials can set
  what they check, and that is found by verification, not prevented);
- every sequence: USAGE and SELECT; the three guard functions: EXECUTE.

Run by the owner after every ``migrate`` (``registru db grant-app-role ROLE``): each table's
privileges are revoked and granted again, so a new table is covered and a table that became
an audit table loses what it no longer needs.
"""

from __future__ import annotations

import re

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

from registru.core.dbguard import DEFINER_FUNCTIONS, KEY_TABLE, guarded_tables

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,62}")
APPEND_ONLY = "SELECT, INSERT"
KEYS = "SELECT, INSERT, UPDATE"
READ = "SELECT"
READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"


class RoleError(ValueError):
    """The role cannot be made the application's role (missing, or it could act as the owner)."""


def privileges(tables: list[str]) -> dict[str, str]:
    """What the application's role may do on each of these tables."""
    _personal, audit = guarded_tables()
    special = dict.fromkeys(audit, APPEND_ONLY) | {
        KEY_TABLE: KEYS,
        "vault_keyring": KEYS,
        "django_migrations": READ,
    }
    return {table: special.get(table, READ_WRITE) for table in sorted(tables)}


def grant_app_role(role: str, connection: BaseDatabaseWrapper = default_connection) -> list[str]:
    """Give ``role`` exactly the application's privileges on this database; the statements run."""
    if connection.vendor != "postgresql":
        raise RoleError("SQLite has no roles: nothing to grant (see docs/audit.md).")
    _check_role(role, connection)
    statements = list(_statements(role, connection))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements


def _check_role(role: str, connection: BaseDatabaseWrapper) -> None:
    if not ROLE_NAME.fullmatch(role):
        raise RoleError(f"{role!r} is not a plain role name (lower-case letters, digits, _).")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            raise RoleError(f"There is no role {role}: create it first (CREATE ROLE {role} LOGIN PASSWORD '…').")
        # A superuser, or a member of the owner's role, may disable the triggers: the guards
        # would then hold nothing back.
        cursor.execute(
            "SELECT pg_has_role(%s, relowner, 'USAGE') FROM pg_catalog.pg_class WHERE oid = %s::regclass",
            [role, KEY_TABLE],
        )
        acts_as_owner = cursor.fetchone()[0]
    if found[0] or acts_as_owner:
        raise RoleError(f"{role} is a superuser or may act as the tables' owner: it would get past every guard.")


def _statements(role: str, connection: BaseDatabaseWrapper) -> list[str]:
    quoted = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        cursor.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cursor.fetchone()[0])
    statements = [f"GRANT USAGE ON SCHEMA {schema} TO {quoted}"]
    for table, allowed in privileges(tables).items():
        name = connection.ops.quote_name(table)
        statements += [f"REVOKE ALL ON TABLE {name} FROM {quoted}", f"GRANT {allowed} ON TABLE {name} TO {quoted}"]
    statements += [
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
        f"GRANT EXECUTE ON FUNCTION {', '.join(DEFINER_FUNCTIONS)} TO {quoted}",
    ]
    return statements
