"""The PII registry: every field of a personal-data model has a class.

Masking, retention and erasure act by class, so a field added without a class is a bug; a
test walks every audited model and fails on the first unclassified field.
"""

from __future__ import annotations

from enum import StrEnum

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _


class PIIClass(StrEnum):
    """How personal a field is. Stable codes: they end up in settings and exports."""

    NONE = "none"  # not personal data: ids, timestamps, statuses, references
    IDENTITY = "identity"  # who the person is: names, birth date
    CONTACT = "contact"  # how to reach them: emails, phones, postal address
    PROFESSIONAL = "professional"  # job title, employer, role, business notes
    SENSITIVE = "sensitive"  # national ids, free text that may hold anything

    @property
    def label(self) -> str:
        return str(PII_LABELS[self])


PII_LABELS = {
    PIIClass.NONE: _("not personal"),
    PIIClass.IDENTITY: _("identity"),
    PIIClass.CONTACT: _("contact"),
    PIIClass.PROFESSIONAL: _("professional"),
    PIIClass.SENSITIVE: _("sensitive"),
}


# What a masked value reads as, in pages, API answers, histories and exports alike.
MASK = "•••"


class UnclassifiedFieldError(LookupError):
    pass


def classification(model: type[models.Model]) -> dict[str, PIIClass]:
    return dict(getattr(model, "PII", {}))


def pii_class(model: type[models.Model], field_name: str) -> PIIClass:
    try:
        return classification(model)[field_name]
    except KeyError as exc:
        raise UnclassifiedFieldError(f"{model._meta.label}.{field_name} has no PII class") from exc


def personal_data_models() -> list[type[models.Model]]:
    """Every concrete model that declares a PII classification."""
    return [model for model in apps.get_models() if hasattr(model, "PII")]


def unclassified_fields(model: type[models.Model]) -> list[str]:
    declared = classification(model)
    return [field.name for field in model._meta.concrete_fields if field.name not in declared]


def fields_of_class(model: type[models.Model], *classes: PIIClass) -> list[str]:
    return [name for name, cls in classification(model).items() if cls in classes]
