"""``registru exports identify FILE``: which export a (leaked) file came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from registru.exports.identify import identify, read_rows


class Command(BaseCommand):
    help = "Export governance tools for the DPO."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        find = sub.add_parser("identify", help="Name the export(s) a file's rows come from (docs/exports.md).")
        find.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            rows = read_rows(path)
        except Exception as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        matches = identify(rows)
        if not matches:
            raise CommandError(f"{path}: no row matches any export")
        for match in matches:
            export = match.export
            when = timezone.localtime(export.created_at).strftime("%Y-%m-%d %H:%M")
            generated = (
                timezone.localtime(export.generated_at).strftime("%Y-%m-%d %H:%M") if export.generated_at else "-"
            )
            self.stdout.write(
                f"export #{export.pk}: requested by {export.requester.label} on {when}, generated {generated}, "
                f"status {export.status}, purpose: {export.purpose}\n"
                f"  {match.rows} of the file's rows matched (Ref markers {match.markers}, row values {match.values}, "
                f"canary rows {match.canaries}); {len(match.people)} people; the export had {export.row_count} rows"
            )
