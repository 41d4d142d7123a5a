from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_walk_index(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from registru.people import search

    search.ensure_walk_index(connections[using])


def names_of_people(ids: set[int]) -> dict[int, str | None]:
    """How the trail names the people its events refer to (``audit.reading``): their name now,
    ``None`` for the erased. The trail asks only for people the reader may see."""
    from registru.people.choices import PersonStatus
    from registru.people.models import Person

    rows = Person.objects.filter(pk__in=ids).values_list("pk", "given_name", "family_name", "status")
    return {
        pk: None if status == PersonStatus.ERASED else f"{given} {family}".strip() for pk, given, family, status in rows
    }


class PeopleConfig(AppConfig):
    name = "registru.people"
    label = "people"
    verbose_name = _("People and organizations")

    def ready(self) -> None:
        from registru.audit.reading import name_people_with
        from registru.people import scopes  # noqa: F401  (registers the scope policies)

        post_migrate.connect(_ensure_walk_index, sender=self)
        name_people_with(names_of_people)
