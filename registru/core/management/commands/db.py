"""``registru db grant-app-role ROLE``: the application's role's privileges (PostgreSQL).

Run as the tables' owner, after every ``migrate`` (docs/deployment.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from registru.core.dbroles import RoleError, grant_app_role


class Command(BaseCommand):
    help = "Database roles: grant the application's role what it needs and nothing more."
    requires_system_checks: list[str] = []  # the owner may run it where no master key lives

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        grant = sub.add_parser(
            "grant-app-role", help="Grant ROLE the application's privileges (run as the owner, after migrate)."
        )
        grant.add_argument("role", help="The role gunicorn, the workers and the CLI connect with.")
        grant.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        try:
            with transaction.atomic(using=connection.alias):  # all the grants, or none
                statements = grant_app_role(options["role"], connection)
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] > 1:
            self.stdout.write(";\n".join(statements) + ";")
        tables = sum(statement.startswith("GRANT") and " ON TABLE " in statement for statement in statements)
        if options["verbosity"] > 0:
            self.stdout.write(
                f"{options['role']}: privileges granted on {tables} tables, the sequences and the guards."
            )
