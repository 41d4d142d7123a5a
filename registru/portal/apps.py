from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "registru.portal"
    label = "portal"
    verbose_name = _("Public pages")

    def ready(self) -> None:
        from registru.portal import checks  # noqa: F401  (registers the public URL's deploy check)
