from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "registru.people"
    label = "people"
    verbose_name = _("People and organizations")

    def ready(self) -> None:
        from registru.people import scopes  # noqa: F401  (registers the scope policies)
