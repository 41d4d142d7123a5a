from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuestionnairesConfig(AppConfig):
    name = "registru.questionnaires"
    label = "questionnaires"
    verbose_name = _("Questionnaires")

    def ready(self) -> None:
        from registru.mail import gate
        from registru.mail.models import MessageKind
        from registru.people.signals import person_erased

        gate.register(MessageKind.SERVICE, _request_still_open)
        person_erased.connect(_close_requests, dispatch_uid="questionnaires.close_requests")


def _request_still_open(messages: Any) -> Any:
    from registru.questionnaires.services import request_verdicts

    return request_verdicts(messages)


def _close_requests(sender: Any, person: Any, **kwargs: Any) -> None:
    from registru.questionnaires.services import close_requests_of

    close_requests_of(person)
