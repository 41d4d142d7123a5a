"""``registru tasks ping``: prove that a worker is serving the queue."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.tasks import TaskResultStatus

from registru.core.tasks import ping


class Command(BaseCommand):
    help = "Enqueue a ping task and wait for a worker to answer it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ping_parser = sub.add_parser("ping", help="Send a ping through the queue.")
        ping_parser.add_argument("--wait", type=float, default=30.0, help="Seconds to wait (default 30).")

    def handle(self, *args: Any, **options: Any) -> None:
        result = ping.enqueue(payload=str(time.time_ns()))
        deadline = time.monotonic() + options["wait"]
        while time.monotonic() < deadline:
            result.refresh()
            if result.status == TaskResultStatus.SUCCESSFUL:
                self.stdout.write(self.style.SUCCESS(f"pong from a worker: {result.return_value}"))
                return
            if result.status == TaskResultStatus.FAILED:
                raise CommandError(f"the ping task failed: {result.errors}")
            time.sleep(0.2)
        raise CommandError(f"no worker answered within {options['wait']:.0f} s (task {result.id})")
