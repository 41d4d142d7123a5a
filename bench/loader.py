"""Fill a benchmark database with generated people, straight into the tables.

Creating a million people through the services (one audited transaction each) would take
hours, so the loader writes the rows with COPY (PostgreSQL) or one ``executemany``
transaction (SQLite), secondary indexes dropped during the load and rebuilt after, exactly as
the migrations define them. Search documents, the FTS table and the vocabulary are computed
with ``registru.people.search`` itself, so they are what ``reindex()`` would have written.

The schema comes from ``registru migrate``; staff users and API tokens are made through the
services. A marker table remembers which data set a database holds, so later runs skip the
load (``--reload`` forces it).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import psycopg

from bench.dataset import (
    AFFILIATION_COLUMNS,
    DOCUMENT_COLUMNS,
    ORGANIZATION_COLUMNS,
    PERSON_COLUMNS,
    PeopleGenerator,
    Spec,
    make_organizations,
)
from bench.env import PG_SERVER, VAR, Target

LOADER_VERSION = 4
MARKER_TABLE = "bench_dataset"
LOADED_TABLES = (
    "people_person", "people_organization", "people_affiliation", "people_personsearchdocument",
    "people_searchword",
)  # fmt: skip
AGENT_PREFIX = "agent"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fingerprint(spec: Spec) -> str:
    return f"loader={LOADER_VERSION} {spec.fingerprint()}"


def ensure_loaded(target: Target, spec: Spec, *, reload: bool = False) -> None:
    """Make sure ``target`` holds ``spec``'s data; load it if not (Django set up on ``target``)."""
    from django.core.management import call_command
    from django.db import connection

    if not reload and read_marker(target) == fingerprint(spec):
        call_command("migrate", verbosity=0)  # a no-op unless the code has new migrations
        return
    started = time.perf_counter()
    log(f"loading {spec.people:,} people into {target.label} (cached for later runs)")
    connection.close()
    create_empty(target)
    call_command("migrate", verbosity=0)
    agent_ids = create_users(spec)
    connection.close()
    if target.db == "sqlite":
        SqliteLoader(target).load(spec, agent_ids)
    else:
        PostgresLoader(target).load(spec, agent_ids)
    log(f"loaded {target.label} in {time.perf_counter() - started:.0f} s")


def read_marker(target: Target) -> str | None:
    try:
        if target.db == "sqlite":
            if not target.sqlite_path.exists():
                return None
            with sqlite3.connect(target.sqlite_path) as con:
                row = con.execute(f"SELECT fingerprint FROM {MARKER_TABLE}").fetchone()
        else:
            with psycopg.connect(target.database_url, connect_timeout=5) as con:
                row = con.execute(f"SELECT fingerprint FROM {MARKER_TABLE}").fetchone()
    except (sqlite3.Error, psycopg.Error):
        return None
    return row[0] if row else None


def create_empty(target: Target) -> None:
    if target.db == "sqlite":
        VAR.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            target.sqlite_path.with_name(target.sqlite_path.name + suffix).unlink(missing_ok=True)
        return
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{target.pg_name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{target.pg_name}"')


def create_users(spec: Spec) -> list[int]:
    """The DPO ``dora`` (scope: everyone) and the agents who own people and organizations."""
    from registru.accounts import services
    from registru.accounts.roles import Role
    from registru.core.actors import SystemActor
    from registru.core.context import Channel, audit_context

    actor = SystemActor("benchmark loader")
    with audit_context(Channel.CLI):
        services.create_user("dora", actor=actor, role=Role.DPO, first_name="Dora")
        agents = [
            services.create_user(f"{AGENT_PREFIX}{number:03d}", actor=actor, role=Role.AGENT)
            for number in range(1, spec.agents + 1)
        ]
    return [agent.pk for agent in agents]


class Loader:
    """Shared steps; subclasses know how to write rows into their database."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def load(self, spec: Spec, agent_ids: list[int]) -> None:
        organizations, organization_rows = make_organizations(spec, agent_ids)
        generator = PeopleGenerator(spec, organizations, agent_ids)
        self.begin()
        indexes = self.drop_indexes()
        self.write("people_organization", ORGANIZATION_COLUMNS, organization_rows)
        loaded = 0
        for chunk in generator.chunks():
            self.write("people_person", PERSON_COLUMNS, chunk.people)
            self.write("people_affiliation", AFFILIATION_COLUMNS, chunk.affiliations)
            self.write("people_personsearchdocument", DOCUMENT_COLUMNS, chunk.documents)
            self.write_fts(chunk.documents)
            loaded += len(chunk.people)
            print(f"\r  {loaded:,} people", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        self.write("people_searchword", ("word", "people"), sorted(generator.words.items()))
        log(f"  rebuilding {len(indexes)} indexes")
        self.create_indexes(indexes)
        self.finish(fingerprint(spec))

    def begin(self) -> None:
        raise NotImplementedError

    def drop_indexes(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def write_fts(self, documents: list[tuple[int, str, str, str]]) -> None:
        """Only SQLite has an FTS table; PostgreSQL's GIN index is on the documents table."""

    def create_indexes(self, indexes: list[tuple[str, str]]) -> None:
        raise NotImplementedError

    def finish(self, marker: str) -> None:
        raise NotImplementedError


def _sqlite_value(value: Any) -> Any:
    # Django keeps SQLite datetimes as naive UTC text and dates as ISO text.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


class SqliteLoader(Loader):
    def begin(self) -> None:
        self.con = sqlite3.connect(self.target.sqlite_path, isolation_level=None)
        # Registru's guard triggers ask its connections whether a service is writing; this
        # bulk load is the benchmark's own service.
        self.con.create_function("registru_write_allowed", 0, lambda: 1)
        # A fresh file that a failed load simply deletes: no journal, no fsync while loading.
        self.con.execute("PRAGMA journal_mode=OFF")
        self.con.execute("PRAGMA synchronous=OFF")
        self.con.execute("PRAGMA cache_size=-1000000")
        self.con.execute("BEGIN")

    def drop_indexes(self) -> list[tuple[str, str]]:
        placeholders = ", ".join("?" * len(LOADED_TABLES))
        indexes = self.con.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({placeholders})",
            LOADED_TABLES,
        ).fetchall()
        for name, _sql in indexes:
            self.con.execute(f'DROP INDEX "{name}"')
        return indexes

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(f'"{column}"' for column in columns)
        placeholders = ", ".join("?" * len(columns))
        self.con.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({placeholders})",
            ([_sqlite_value(value) for value in row] for row in rows),
        )

    def write_fts(self, documents: list[tuple[int, str, str, str]]) -> None:
        self.con.executemany(
            "INSERT INTO people_search_fts (rowid, document) VALUES (?, ?)",
            ((pk, document) for pk, document, *_rest in documents),
        )

    def create_indexes(self, indexes: list[tuple[str, str]]) -> None:
        for _name, sql in indexes:
            self.con.execute(sql)

    def finish(self, marker: str) -> None:
        self.con.execute(f"CREATE TABLE {MARKER_TABLE} (fingerprint TEXT NOT NULL)")
        self.con.execute(f"INSERT INTO {MARKER_TABLE} VALUES (?)", (marker,))
        self.con.execute("COMMIT")
        log("  ANALYZE")
        self.con.execute("ANALYZE")
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.close()


class PostgresLoader(Loader):
    def begin(self) -> None:
        self.con = psycopg.connect(self.target.database_url)
        self.con.execute("SET maintenance_work_mem = '1GB'")
        self.con.execute("SET synchronous_commit = off")
        # Generated rows are consistent by construction: skip the per-row triggers (foreign
        # keys, and Registru's guards, which refuse writes from outside its services).
        self.con.execute("SET session_replication_role = replica")

    def drop_indexes(self) -> list[tuple[str, str]]:
        indexes = self.con.execute(
            "SELECT ci.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ci ON ci.oid = i.indexrelid "
            "WHERE c.relname = ANY(%s) AND NOT i.indisprimary AND NOT i.indisunique",
            [list(LOADED_TABLES)],
        ).fetchall()
        for name, _sql in indexes:
            self.con.execute(f'DROP INDEX "{name}"')
        return indexes

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(f'"{column}"' for column in columns)
        with self.con.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def create_indexes(self, indexes: list[tuple[str, str]]) -> None:
        for _name, sql in indexes:
            self.con.execute(sql)

    def finish(self, marker: str) -> None:
        for table in ("people_person", "people_organization", "people_affiliation"):
            self.con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        self.con.execute(f"CREATE TABLE {MARKER_TABLE} (fingerprint text NOT NULL)")
        self.con.execute(f"INSERT INTO {MARKER_TABLE} VALUES (%s)", [marker])
        self.con.commit()
        self.con.autocommit = True
        # What autovacuum would do soon after a load: statistics, and the visibility map that
        # index-only scans need.
        log("  VACUUM ANALYZE")
        self.con.execute("VACUUM (ANALYZE)")
        self.con.close()
