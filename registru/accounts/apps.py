from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "registru.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # The logout receiver records the end of the device session; connect it at start-up
        # rather than whenever some other module happens to import it.
        from registru.accounts.services import sessions  # noqa: F401
