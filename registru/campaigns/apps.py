from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "registru.campaigns"
    label = "campaigns"
    verbose_name = _("Consent campaigns")

    def ready(self) -> None:
        from registru.mail import gate
        from registru.mail.models import MessageKind
        from registru.mail.signals import messages_finished
        from registru.people.signals import person_erased

        messages_finished.connect(_follow_delivery, dispatch_uid="campaigns.follow_delivery")
        person_erased.connect(_close_invitations, dispatch_uid="campaigns.close_invitations")
        gate.register(MessageKind.INVITATION, _invitation_still_open)


def _follow_delivery(sender: Any, messages: Any, status: str, **kwargs: Any) -> None:
    from registru.campaigns.services import follow_delivery

    follow_delivery(messages, status)


def _close_invitations(sender: Any, person: Any, **kwargs: Any) -> None:
    from registru.campaigns.services import close_invitations_of

    close_invitations_of(person)


def _invitation_still_open(messages: Any) -> Any:
    from registru.campaigns.services import invitation_verdicts

    return invitation_verdicts(messages)
