"""Where the audit benchmarks keep their databases and files, and the environment they run in.

The benchmarks have databases of their own: PostgreSQL databases named ``registru_bench_audit``
and ``registru_bench_audit_*``, SQLite files under ``var/bench-audit/``, and their own
``REGISTRU_DATA_DIR`` (``var/bench-audit/data``), so a run touches nobody else's data.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VAR = ROOT / "var" / "bench-audit"
DATA_DIR = VAR / "data"
RESULTS_DIR = VAR / "results"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
PG_PREFIX = "registru_bench_audit"
SECRET_KEY = "bench-audit-only-not-a-secret-" + "x" * 40
# A fixed, bench-only master key: every benchmark database's data keys are wrapped with it.
MASTER_KEY = base64.urlsafe_b64encode(b"bench-audit master key, 32 byte!").decode("ascii")
REGISTRU_SETTINGS = "registru.config.settings"
PEER_SETTINGS = "bench.audit.peer_settings"
ENGINES = ("postgres", "sqlite")


def pg_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def database_url(engine: str, name: str) -> str:
    """``name`` is the database's suffix: ``b1`` is ``registru_bench_audit_b1`` or ``b1.sqlite3``."""
    if engine == "postgres":
        return pg_url(f"{PG_PREFIX}_{name}")
    return sqlite_url(VAR / f"{name}.sqlite3")


def process_env(url: str, settings: str = REGISTRU_SETTINGS) -> dict[str, str]:
    """The environment of a Registru (or peer) process of the benchmark."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": settings,
            "REGISTRU_DATA_DIR": str(DATA_DIR),
            "REGISTRU_SECRET_KEY": SECRET_KEY,
            "REGISTRU_MASTER_KEY": MASTER_KEY,
            "REGISTRU_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    return env


def setup_django(url: str, settings: str = REGISTRU_SETTINGS) -> None:
    """Point this process at ``url`` and start Django (once per process, before any import)."""
    os.environ.update(process_env(url, settings))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()


# Databases -------------------------------------------------------------------------------


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(pg_url("postgres"), autocommit=True)


def _check_name(name: str) -> None:
    # Only our own databases, whatever a caller passes.
    if not name.startswith(PG_PREFIX) or not name.replace("_", "").isalnum():
        raise ValueError(f"refusing to touch database {name!r}")


def pg_exists(name: str) -> bool:
    with _admin() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def pg_drop(name: str) -> None:
    _check_name(name)
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_create(name: str, template: str | None = None) -> None:
    _check_name(name)
    pg_drop(name)
    with _admin() as conn:
        if template:
            _check_name(template)
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')


def sqlite_remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def schema_fingerprint() -> str:
    """A hash of every migration and of the peer models: a template is rebuilt when it changes."""
    digest = hashlib.sha256()
    files = sorted((ROOT / "registru").glob("*/migrations/*.py"))
    files += [Path(__file__).with_name("peer_settings.py"), Path(__file__).parent / "peerapp" / "models.py"]
    files.append(ROOT / "registru" / "core" / "dbguard.py")
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def template(engine: str, *, rebuild: bool = False) -> str:
    """A migrated, empty database holding Registru's and the peers' tables; built once and
    copied for every run. Returns its name (PostgreSQL) or path (SQLite)."""
    VAR.mkdir(parents=True, exist_ok=True)
    marker = VAR / f"template-{engine}.hash"
    fingerprint = schema_fingerprint()
    name = f"{PG_PREFIX}_template"
    path = VAR / "template.sqlite3"
    fresh = marker.exists() and marker.read_text() == fingerprint
    present = pg_exists(name) if engine == "postgres" else path.exists()
    if fresh and present and not rebuild:
        return name if engine == "postgres" else str(path)
    print(f"building the {engine} template database (migrate)…", file=sys.stderr)
    if engine == "postgres":
        pg_create(name)
        url = pg_url(name)
    else:
        sqlite_remove(path)
        url = sqlite_url(path)
    # Registru's migrations first: the peer tables (made by syncdb, which runs before any
    # migration) refer to its users.
    for settings, extra in ((REGISTRU_SETTINGS, []), (PEER_SETTINGS, ["--run-syncdb"])):
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", *extra, "--noinput", "-v", "0"],
            env=process_env(url, settings),
            cwd=ROOT,
            check=True,
        )
    if engine == "sqlite":
        # Checkpoint the WAL into the file, so that a copy of the file alone is complete.
        import sqlite3

        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    marker.write_text(fingerprint)
    return name if engine == "postgres" else str(path)


def fresh_database(engine: str, name: str, *, rebuild: bool = False) -> str:
    """A new copy of the template as database ``name``; returns its URL."""
    source = template(engine, rebuild=rebuild)
    if engine == "postgres":
        pg_create(f"{PG_PREFIX}_{name}", template=source)
    else:
        target = VAR / f"{name}.sqlite3"
        sqlite_remove(target)
        shutil.copyfile(source, target)
    return database_url(engine, name)
