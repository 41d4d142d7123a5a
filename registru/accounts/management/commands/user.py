"""``registru user``: create staff accounts and change their role, team or password."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from registru.accounts import services
from registru.accounts.models import Team, User
from registru.accounts.roles import Role
from registru.accounts.throttling import throttled_name
from registru.core.actors import SystemActor


class Command(BaseCommand):
    help = "Create users and change their role, team or password."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a user; the password is asked for.")
        create.add_argument("username")
        create.add_argument("--role", choices=Role.values, default=Role.AGENT)
        create.add_argument("--team", help="Team name (created if new).")
        create.add_argument("--first-name", default="")
        create.add_argument("--last-name", default="")
        create.add_argument("--email", default="")
        create.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")
        change = sub.add_parser("set", help="Change a user's role, team or active flag.")
        change.add_argument("username")
        change.add_argument("--role", choices=Role.values)
        change.add_argument("--team")
        change.add_argument("--deactivate", action="store_true")
        password = sub.add_parser("password", help="Set a user's password.")
        password.add_argument("username")
        password.add_argument("--password-stdin", action="store_true")
        sub.add_parser("list", help="List users with their role and team.")
        unlock = sub.add_parser("unlock", help="Lift a login lockout of a user name (from every address).")
        unlock.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = SystemActor("command line")
        try:
            getattr(self, f"_{options['action']}")(options, actor)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

    def _create(self, options: dict[str, Any], actor: SystemActor) -> None:
        if User.objects.filter(username=options["username"]).exists():
            raise CommandError(f"{options['username']} already exists")
        services.create_user(
            options["username"], actor=actor, role=options["role"], password=_password(options),
            team=_team(options["team"], actor), first_name=options["first_name"],
            last_name=options["last_name"], email=options["email"],
        )  # fmt: skip
        self.stdout.write(f"created {options['username']} ({options['role']})")

    def _set(self, options: dict[str, Any], actor: SystemActor) -> None:
        user = _user(options["username"])
        data: dict[str, Any] = {}
        if options["role"]:
            data["role"] = options["role"]
        if options["team"]:
            data["team_id"] = _team(options["team"], actor).pk  # type: ignore[union-attr]
        if options["deactivate"]:
            data["is_active"] = False
        services.update_user(user, data, actor=actor)
        self.stdout.write(f"updated {user.username}")

    def _password(self, options: dict[str, Any], actor: SystemActor) -> None:
        user = _user(options["username"])
        services.set_password(user, _password(options), actor=actor)
        self.stdout.write(f"password of {user.username} changed")

    def _unlock(self, options: dict[str, Any], actor: SystemActor) -> None:
        from axes.utils import reset

        # Axes keeps attempts under a digest of the name (accounts/throttling.py).
        count = reset(username=throttled_name(options["username"]))
        self.stdout.write(f"{count} failed attempts cleared for {options['username']}")

    def _list(self, options: dict[str, Any], actor: SystemActor) -> None:
        for user in User.objects.select_related("team"):
            state = "" if user.is_active else " (inactive)"
            self.stdout.write(f"{user.username:20} {user.role:14} {user.team or '-'}{state}")


def _user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise CommandError(f"no user named {username!r}") from exc


def _team(name: str | None, actor: SystemActor) -> Team | None:
    if not name:
        return None
    team = Team.objects.filter(name=name).first()
    return team or services.create_team(name, actor=actor)


def _password(options: dict[str, Any]) -> str:
    if options.get("password_stdin"):
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CommandError("the passwords differ")
    return first
