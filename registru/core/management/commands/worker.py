"""``registru worker``: a standalone background worker (Redis storage in production)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from registru.core.workers import make_consumer


class Command(BaseCommand):
    help = (
        "Run background tasks. Start exactly one worker with --periodic (the default): "
        "periodic tasks would otherwise run once per worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=None, help="Worker threads.")
        parser.add_argument("--periodic", dest="periodic", action="store_true", default=True)
        parser.add_argument(
            "--no-periodic", dest="periodic", action="store_false", help="Leave schedules to another worker."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        consumer = make_consumer(workers=options["workers"], periodic=options["periodic"])
        storage = "Redis" if "RedisHuey" in str(settings.HUEY["huey_class"]) else "SQLite"
        self.stdout.write(
            f"Worker started on {storage} storage (periodic tasks {'on' if options['periodic'] else 'off'})."
        )
        consumer.run()
