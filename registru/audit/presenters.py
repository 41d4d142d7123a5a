"""Turning stored audit events into sentences people can read."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.audit.reading import KeyCache, person_names, readable_changes
from registru.core.context import Channel
from registru.core.pii import MASK
from registru.core.stored_texts import translated
from registru.vault.services import ERASED

CHANNEL_LABELS = {
    Channel.UI: _("web"),
    Channel.API: _("API"),
    Channel.CLI: _("command line"),
    Channel.TASK: _("background task"),
    Channel.PORTAL: _("public portal"),
    Channel.IMPORT: _("import"),
}
# Names in events that are no field of the target's model (a login's device, a questionnaire's
# answers) or a field without a translated name (a message's recipient).
EXTRA_FIELD_LABELS = {
    "merged_from": _("merged from"),
    "merged_into": _("merged into"),
    "device": _("device"),
    "ip_address": _("IP address"),
    "recipient": _("recipient"),
    "recipients": _("recipients"),
    "subject": _("subject"),
    "invitations": _("invitations"),
    "matched": _("record found"),
    "filter": _("filter"),
    "recently_exported": _("recently exported"),
    "answers": _("answers"),
    "free_text": _("answers in their own words"),
    "corrected": _("corrected"),
    "field": _("field"),
    "person_informed": _("person informed"),
}
# Changes whose value names another person: shown only to those who may see that person.
PERSON_REFERENCES = frozenset({"merged_from", "merged_into", "person"})
PERSON_TYPE = "people.person"
HIDDEN_RECORD = _("another record")
ERASED_TEXT = _("[erased]")
YES, NO = _("yes"), _("no")
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
    reason: str


type Readable = list[tuple[AuditEvent, dict[str, tuple[Any, Any]]]]


def decrypted(events: Iterable[AuditEvent]) -> Readable:
    """Each event with its changes in plaintext (``[erased]`` where the key is gone)."""
    keys = KeyCache()
    return [(event, readable_changes(event, keys)) for event in events]


def refers_to_person(event: AuditEvent, name: str) -> bool:
    """Whether the value of ``name`` in ``event`` is a reference to a person (the merge of two
    organizations refers to organizations, which keep their name)."""
    return name == "person" or (name in PERSON_REFERENCES and event.target_type == PERSON_TYPE)


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), int)


def referenced_people(readable: Readable) -> set[int]:
    """Ids of the people that these events name in their changes."""
    return {
        value["id"]
        for event, changes in readable
        for name, pair in changes.items()
        if refers_to_person(event, name)
        for value in pair
        if _is_reference(value)
    }


def named(readable: Readable, invisible: Callable[[set[int]], set[int]]) -> Readable:
    """The events with each person they refer to named as this reader may see them: by the name
    their record has now, as "[erased]" once erased, as "another record" when ``invisible`` says
    the reader may not see them. A label that an older event stored is shown only for a record
    that no longer exists (new events store the id alone)."""
    ids = referenced_people(readable)
    hidden = invisible(ids) if ids else set()
    names = person_names(ids - hidden)
    return [
        (
            event,
            {
                name: (_named(old, hidden, names), _named(new, hidden, names))
                if refers_to_person(event, name)
                else (old, new)
                for name, (old, new) in changes.items()
            },
        )
        for event, changes in readable
    ]


def _named(value: Any, hidden: Container[int], names: dict[int, str | None]) -> Any:
    if not _is_reference(value):
        return value
    pk = value["id"]
    if pk in hidden:
        return {"id": None, "label": str(HIDDEN_RECORD)}
    if pk not in names:
        return value
    name = names[pk]
    return {"id": pk, "label": str(ERASED_TEXT) if name is None else name}


def present_all(
    events: Iterable[AuditEvent], invisible: Callable[[set[int]], set[int]], masked_fields: Container[str] = ()
) -> list[EventView]:
    """Events as sentences for one reader; ``invisible`` says which people the reader may not
    see, who are then named only as "another record"; values of ``masked_fields`` (those the
    reader's role sees masked) are not shown."""
    masked = [(event, mask_changes(changes, masked_fields)) for event, changes in decrypted(events)]
    return [present(event, changes) for event, changes in named(masked, invisible)]


class EveryField:
    """Stands for every field name: values of all of them are masked."""

    def __contains__(self, name: object) -> bool:
        return True


EVERY_FIELD = EveryField()


def present_across_people(events: Iterable[AuditEvent]) -> list[EventView]:
    """Events from many people's trails, as a bulk view shows them: who did what, when and
    through which channel, with the values of every event about a person masked; events
    about no one (an organization, an export's filters) in full."""
    events = list(events)
    about_people = present_all([event for event in events if event.subject_id is not None], _none, EVERY_FIELD)
    about_no_one = present_all([event for event in events if event.subject_id is None], _none)
    by_id = {view.event.pk: view for view in about_people + about_no_one}
    return [by_id[event.pk] for event in events]


def _none(ids: set[int]) -> set[int]:
    return set()


MASKED_VALUE = MASK


def mask_changes(changes: dict[str, tuple[Any, Any]], masked_fields: Container[str]) -> dict[str, tuple[Any, Any]]:
    return {
        name: (MASKED_VALUE if old not in (None, "", []) else old, MASKED_VALUE if new not in (None, "", []) else new)
        if name in masked_fields
        else (old, new)
        for name, (old, new) in changes.items()
    }


def present(event: AuditEvent, changes: dict[str, tuple[Any, Any]], hidden_people: Container[int] = ()) -> EventView:
    model = _model(event.target_type)
    return EventView(
        event=event,
        actor=translated(event.actor_label),
        verb=str(AuditAction(event.action).label) if event.action in AuditAction.values else event.action,
        channel=str(CHANNEL_LABELS.get(Channel(event.channel), event.channel)),
        changes=[
            FieldChange(
                _label(model, name),
                _text(model, name, mask_reference(name, old, hidden_people)),
                _text(model, name, mask_reference(name, new, hidden_people)),
            )
            for name, (old, new) in sorted(changes.items())
        ],
        reason=translated(event.reason),
    )


def mask_reference(name: str, value: Any, hidden_people: Container[int]) -> Any:
    if name in PERSON_REFERENCES and isinstance(value, dict) and value.get("id") in hidden_people:
        return {"id": None, "label": str(HIDDEN_RECORD)}
    return value


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
    verbose_name = getattr(_field(model, name), "verbose_name", None)
    # A translated name (lazy) wins; a plain one is Django's own, made from the field's name in
    # English, and gives way to a label of ours when there is one.
    if isinstance(verbose_name, Promise) or (verbose_name is not None and name not in EXTRA_FIELD_LABELS):
        return str(verbose_name)
    return str(EXTRA_FIELD_LABELS.get(name, name.replace("_", " ")))


def _text(model: type[models.Model] | None, name: str, value: Any) -> str:
    if value in (None, "", []):
        return EMPTY
    if value == ERASED:
        return str(ERASED_TEXT)
    if isinstance(value, bool):
        return str(YES if value else NO)
    if value == MASKED_VALUE:
        return MASKED_VALUE
    if isinstance(value, dict):
        # A reference ({"id", "label"}) reads as its label, one that has only its id (a person
        # not named by ``named``) as its number; anything else (an export's filters) as its
        # non-empty entries.
        if "label" in value:
            return str(value["label"])
        if value.keys() == {"id"}:
            return f"#{value['id']}"
        return ", ".join(f"{key}: {item}" for key, item in value.items() if item not in (None, "", [], False)) or EMPTY
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
    try:
        moment = datetime.fromisoformat(value)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    except (ValueError, OverflowError):
        return value  # the trail shows what it holds, even a value it cannot read as a time
