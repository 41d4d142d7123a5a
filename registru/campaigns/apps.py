from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "registru.campaigns"
    label = "campaigns"
    verbose_name = _("Consent campaigns")

    def ready(self) -> None:
        from registru.mail.signals import message_finished

        message_finished.connect(_follow_delivery, dispatch_uid="campaigns.follow_delivery")


def _follow_delivery(sender: Any, message: Any, status: str, **kwargs: Any) -> None:
    from registru.campaigns.services import follow_delivery

    follow_delivery(message, status)
