"""``registru search rebuild``: recompute every search document (after an upgrade)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from registru.core.context import service_scope
from registru.people import search
from registru.people.models import Person

BATCH = 2000


class Command(BaseCommand):
    help = "Rebuild the people search index (searches find fewer people until it finishes)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rebuild", help="Recompute every person's search document.")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
        total = len(ids)
        with transaction.atomic(), service_scope():
            search.clear_index()
        for start in range(0, total, BATCH):
            # The index is derived data, not a change to anyone's personal data: no audit
            # event, but the same guarded write path as the services use.
            with transaction.atomic(), service_scope():
                search.reindex(ids[start : start + BATCH])
            done = min(start + BATCH, total)
            self.stdout.write(f"\r{done}/{total} people indexed", ending="")
            self.stdout.flush()
        self.stdout.write(f"\r{total}/{total} people indexed")
