from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaultConfig(AppConfig):
    name = "registru.vault"
    label = "vault"
    verbose_name = _("Key vault")

    def ready(self) -> None:
        from registru.vault import checks  # noqa: F401  (registers the master key check)
