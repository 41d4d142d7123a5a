from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _install_guards(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from registru.core.dbguard import install_triggers

    install_triggers(connections[using])


class CoreConfig(AppConfig):
    name = "registru.core"
    label = "core"

    def ready(self) -> None:
        from django.urls import register_converter

        from registru.core.converters import IdConverter, TokenConverter

        register_converter(IdConverter, "id")  # used by every URL with a record id
        register_converter(TokenConverter, "token")  # the public links' signed tokens
        # Registers the hooks that give every task its audit context, in every process
        # that may run tasks (a worker, or the web process in immediate mode).
        from registru.core import dbguard, tasks  # noqa: F401  (signal receivers, task hooks)

        post_migrate.connect(_install_guards, sender=self)
