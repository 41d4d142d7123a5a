"""Django's ``dumpdata``, refusing personal data and the trail.

A dump prints every person's values in plaintext, decrypts nothing yet copies every ciphertext
and wrapped key, and records nothing: a bulk copy of people's data outside the export
procedure (permission, approval, watermark, register). Models in the PII registry, the audit
trail and the vault are refused; other models (purposes, settings) still dump.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.core.management.commands import dumpdata
from django.db import models
from django.utils.translation import gettext as _

from registru.core.pii import personal_data_models

# Apps whose every model is refused, personal or not: the trail and the keys.
REFUSED_APPS = frozenset({"audit", "vault"})


def refused(model: type[models.Model]) -> bool:
    return model._meta.app_label in REFUSED_APPS or model in personal_data_models()


def selected_models(labels: tuple[str, ...], excluded: list[str]) -> set[type[models.Model]]:
    """The models ``dumpdata`` would dump for these labels and ``--exclude`` options."""
    chosen: set[type[models.Model]] = set()
    for label in labels or [config.label for config in apps.get_app_configs()]:
        chosen |= _models_of(label)
    for label in excluded:
        chosen -= _models_of(label)
    return chosen


def _models_of(label: str) -> set[type[models.Model]]:
    try:
        if "." in label:
            return {apps.get_model(label)}
        return set(apps.get_app_config(label).get_models())
    except LookupError:
        return set()  # Django's own command names the unknown label


class Command(dumpdata.Command):
    help = (
        "Django's dumpdata, without people's data and the audit trail: those leave Registru through "
        "the export procedure, a person's trail through 'registru audit export'."
    )

    def handle(self, *app_labels: str, **options: Any) -> Any:
        personal = sorted(
            model._meta.label for model in selected_models(app_labels, options["exclude"]) if refused(model)
        )
        if personal:
            raise CommandError(
                _(
                    "dumpdata would print personal data or the audit trail (%(models)s) in plaintext, outside "
                    "the export procedure and without a record of it. Export people through Registru's exports "
                    "(/exports/new/, docs/exports.md), a person's trail with 'registru audit export --person ID', "
                    "and back the database up with its own tools (docs/deployment.md). Name the other models "
                    "to dump them, or leave these out with --exclude."
                )
                % {"models": ", ".join(personal)},
                returncode=2,
            )
        return super().handle(*app_labels, **options)
