"""``registru token create USERNAME``: make a personal API token and print it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registru.accounts import services
from registru.accounts.models import User
from registru.accounts.roles import Capability
from registru.core.actors import SystemActor


class Command(BaseCommand):
    help = "Manage personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it (it is shown only once).")
        create.add_argument("username")
        create.add_argument("--name", default="command line")
        create.add_argument("--days", type=int, default=None, help="Days of validity (default 90).")
        revoke = sub.add_parser("revoke", help="Revoke every token of a user.")
        revoke.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(f"no user named {options['username']!r}") from exc
        actor = SystemActor("command line")
        if options["action"] == "create":
            if not user.can(Capability.USE_API):
                raise CommandError(f"{user.username} ({user.get_role_display()}) may not use the API")
            _token, raw = services.create_api_token(user, options["name"], actor=actor, days=options["days"])
            self.stdout.write(raw)
        else:
            for token in user.api_tokens.usable():
                services.revoke_api_token(token, actor=actor)
            self.stdout.write(f"revoked every token of {user.username}")
