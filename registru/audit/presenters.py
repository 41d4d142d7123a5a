"""Turning stored audit events into sentences people can read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.core.context import Channel

CHANNEL_LABELS = {
    Channel.UI: _("web"),
    Channel.API: _("API"),
    Channel.CLI: _("command line"),
    Channel.TASK: _("background task"),
    Channel.PORTAL: _("public portal"),
    Channel.IMPORT: _("import"),
}
EXTRA_FIELD_LABELS = {"merged_from": _("merged from"), "merged_into": _("merged into")}
EMPTY = "—"


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class EventView:
    event: AuditEvent
    actor: str
    verb: str
    channel: str
    changes: list[FieldChange]


def present(event: AuditEvent) -> EventView:
    model = _model(event.target_type)
    return EventView(
        event=event,
        actor=event.actor_label,
        verb=str(AuditAction(event.action).label) if event.action in AuditAction.values else event.action,
        channel=str(CHANNEL_LABELS.get(Channel(event.channel), event.channel)),
        changes=[
            FieldChange(_label(model, name), _text(model, name, old), _text(model, name, new))
            for name, (old, new) in sorted(event.changes.items())
        ],
    )


def _model(target_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(target_type)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, name: str) -> Any:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _label(model: type[models.Model] | None, name: str) -> str:
    field = _field(model, name)
    if field is not None and hasattr(field, "verbose_name"):
        return str(field.verbose_name)
    return str(EXTRA_FIELD_LABELS.get(name, name.replace("_", " ")))


def _text(model: type[models.Model] | None, name: str, value: Any) -> str:
    if value in (None, "", []):
        return EMPTY
    if isinstance(value, dict) and "label" in value:
        return str(value["label"])
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    field = _field(model, name)
    choices = dict(getattr(field, "flatchoices", None) or [])
    if value in choices:
        return str(choices[value])
    if isinstance(field, models.DateTimeField):
        return _datetime_text(value)
    if isinstance(field, models.DateField):
        return formats.date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
    return str(value)


def _datetime_text(value: str) -> str:
    moment = timezone.localtime(datetime.fromisoformat(value))
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
