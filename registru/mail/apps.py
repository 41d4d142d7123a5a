from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "registru.mail"
    label = "mail"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from registru.mail.erasure import forget_person
        from registru.people.signals import person_erased

        person_erased.connect(forget_person, dispatch_uid="mail.forget_person")
