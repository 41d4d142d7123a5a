"""Where the benchmarks keep their databases and files, and the environment Django gets.

Every benchmark has databases of its own (an SQLite file under ``var/bench/`` or a
``registru_bench_<people>`` PostgreSQL database) and its own ``REGISTRU_DATA_DIR``, so a run
never touches the developer's ``var/registru.sqlite3``.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
DATA_DIR = VAR / "data"
RESULTS_DIR = VAR / "results"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
# Fixed, so that cursors made by the benchmark process are valid for the servers it starts,
# and every benchmark database's data keys are wrapped with the same (bench-only) master key.
SECRET_KEY = "bench-only-not-a-secret-" + "x" * 40
MASTER_KEY = base64.urlsafe_b64encode(b"bench-only master key, 32 bytes!").decode("ascii")
DATABASES = ("sqlite", "postgres")


@dataclass(frozen=True)
class Target:
    """One benchmark database: which engine, and how many generated people it holds."""

    db: str
    people: int

    @property
    def label(self) -> str:
        return f"{self.db}-{self.people}"

    @property
    def sqlite_path(self) -> Path:
        return VAR / f"people-{self.people}.sqlite3"

    @property
    def pg_name(self) -> str:
        return f"registru_bench_{self.people}"

    @property
    def database_url(self) -> str:
        if self.db == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{PG_SERVER}/{self.pg_name}"


def registru_env(target: Target, *, production: bool = False) -> dict[str, str]:
    """The environment variables Registru's settings read, for this database."""
    env = {
        "DATABASE_URL": target.database_url,
        "REGISTRU_DATA_DIR": str(DATA_DIR),
        "REGISTRU_SECRET_KEY": SECRET_KEY,
        "REGISTRU_MASTER_KEY": MASTER_KEY,
        "REGISTRU_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "registru.config.settings",
    }
    if production:
        env |= {
            "REGISTRU_ENV": "production",
            "REGISTRU_ALLOWED_HOSTS": "127.0.0.1",
            "REGISTRU_QUEUE_URL": f"sqlite:///{DATA_DIR / 'queue.sqlite3'}",
        }
    return env


def setup_django(target: Target, *, production: bool = False) -> None:
    """Point this process at the benchmark database and start Django (once per process)."""
    os.environ.update(registru_env(target, production=production))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
