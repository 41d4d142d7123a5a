from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "registru.exports"
    label = "exports"
    verbose_name = _("Exports")

    def ready(self) -> None:
        from registru.exports.services.erasure import forget_person
        from registru.people.signals import person_erased

        person_erased.connect(forget_person, dispatch_uid="exports.forget_person")
