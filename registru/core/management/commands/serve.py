"""``registru serve``: the web server and the background worker in one process."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from registru.core.workers import start_consumer


def local_public_url(host: str, port: int, environ: Mapping[str, str]) -> str | None:
    """Where links in messages should point when no public address is configured: this
    server (``serve --port 8765`` makes consent links on port 8765, not the default 8000).
    None when ``REGISTRU_PUBLIC_URL`` is set: a configured address always wins."""
    if environ.get("REGISTRU_PUBLIC_URL"):
        return None
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 (a name, not a bind)
    return f"http://{shown_host}:{port}"


class Command(BaseCommand):
    help = "Serve Registru with waitress, with worker threads for background tasks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="Web threads (default 8).")
        parser.add_argument("--no-worker", action="store_true", help="Do not run background tasks here.")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import serve

        from registru.config.wsgi import application

        self._refuse_unmigrated()
        consumer = None if options["no_worker"] else start_consumer(periodic=True)
        # Huey installs its own SIGINT handler; give Ctrl-C back to the web server.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        url = f"http://{options['host']}:{options['port']}/"
        local = local_public_url(options["host"], options["port"], os.environ)
        if local is not None and not settings.PRODUCTION:  # production names its address
            settings.PUBLIC_URL = local
        self.stdout.write(self.style.SUCCESS(f"Registru is running at {url}  (Ctrl-C stops it)"))
        try:
            serve(
                application,
                host=options["host"],
                port=options["port"],
                threads=options["threads"],
                ident="Registru",
            )
        except KeyboardInterrupt:
            pass
        finally:
            if consumer is not None:
                self.stdout.write("Stopping the background worker…")
                consumer.stop(graceful=True)
            self.stdout.write("Stopped.")

    def _refuse_unmigrated(self) -> None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            database = settings.DATABASES["default"]["NAME"]
            self.stderr.write(f"The database {database} needs `registru migrate` first.")
            raise SystemExit(2)


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
