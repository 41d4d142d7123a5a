from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_walk_index(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from registru.people import search

    search.ensure_walk_index(connections[using])


class PeopleConfig(AppConfig):
    name = "registru.people"
    label = "people"
    verbose_name = _("People and organizations")

    def ready(self) -> None:
        from registru.people import scopes  # noqa: F401  (registers the scope policies)

        post_migrate.connect(_ensure_walk_index, sender=self)
