"""``registru mail deliver``: send the due messages of the outbox now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from registru.mail.services import deliver_due


class Command(BaseCommand):
    help = "Deliver the outbox."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        deliver = sub.add_parser("deliver", help="Send every message that is due (workers do this every minute).")
        deliver.add_argument("--batch", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        report = deliver_due(limit=options["batch"])
        self.stdout.write(
            f"{report.sent} sent, {report.blocked} held back, {report.deferred} deferred, {report.failed} failed."
        )
