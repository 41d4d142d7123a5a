"""Filters of the History tab and of the trail page (GET: ids, codes and dates only)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from django import forms
from django.apps import apps
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from registru.audit.actions import AuditAction
from registru.audit.presenters import CHANNEL_LABELS
from registru.audit.selectors import TrailFilter
from registru.core.pii import classification
from registru.core.widgets import DateInput

READ_ACTIONS = (
    AuditAction.PERSON_VIEWED,
    AuditAction.HISTORY_VIEWED,
    AuditAction.TRAIL_EXPORTED,
    AuditAction.CONSENT_PROOF_EXPORTED,
    AuditAction.MAIL_READ,
    AuditAction.FIELD_REVEALED,
    AuditAction.EXPORT_DOWNLOADED,
)


# Besides what a record's form edits, the states its page shows are fields a user knows.
SHOWN_STATES = ("status", "restriction_ground", "restricted_since", "archived_at", "last_verified_at", "stale_since")


def field_choices(records: Sequence[str]) -> list[tuple[str, str]]:
    """The fields of ``records`` (model labels) that a user knows from their forms and pages, by
    their translated names. Internal columns (sort keys, versions, digests, leases) are left out:
    nobody filters by what they have never seen.
    """
    names: dict[str, str] = {}
    for label in records:
        model = apps.get_model(label)
        shown = [name for name in SHOWN_STATES if name in classification(model)]
        for name in (*getattr(model, "EDITABLE", ()), *shown):
            names.setdefault(name, capfirst(str(model._meta.get_field(name).verbose_name)))
    return [("", str(_("Any field"))), *sorted(names.items(), key=lambda item: _alphabetical(item[1]))]


def _alphabetical(label: str) -> list[tuple[str, str]]:
    # A letter with a diacritic right after its base letter, as the Romanian alphabet has them
    # (t, ț, u), not after z as code points would put it.
    return [(unicodedata.normalize("NFD", char)[0].casefold(), char.casefold()) for char in label]


class HistoryFilterForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), required=False)
    actor = forms.TypedChoiceField(label=_("Who"), required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Until"), required=False, widget=DateInput())
    reads = forms.BooleanField(label=_("Also show who opened the record"), required=False)

    # A person's History: the fields of the person (model labels, for ``field_choices``).
    RECORDS: Sequence[str] = ("people.Person",)

    def __init__(self, *args: Any, actors: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choose("field", field_choices(self.RECORDS))
        self._choose("actor", [("", _("Anyone")), *actors])
        self._choose("channel", [("", _("Any channel")), *((str(c), label) for c, label in CHANNEL_LABELS.items())])

    def _choose(self, name: str, choices: list[Any]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("This date is before the start date: choose one on or after it."))
        return data

    def criteria(self) -> TrailFilter | None:
        """What to narrow the events to; None when a filter is wrong. The page then shows the
        errors and no events: the whole trail under filters that were not applied would read as
        their result.
        """
        if not self.is_bound:
            return TrailFilter()
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return TrailFilter(
            field=data["field"], actor_id=data["actor"], channel=data["channel"],
            date_from=data["date_from"], date_to=data["date_to"],
        )  # fmt: skip

    @property
    def narrowed(self) -> bool:
        """Whether valid filters narrow the events (an empty answer then says so)."""
        criteria = self.criteria()
        return criteria is not None and criteria != TrailFilter()

    @property
    def with_reads(self) -> bool:
        return bool(self.is_valid() and self.cleaned_data["reads"])


class TrailFilterForm(HistoryFilterForm):
    action = forms.ChoiceField(label=_("Action"), required=False)
    person = forms.IntegerField(label=_("Person id"), required=False, min_value=1, max_value=2**62)
    # The whole trail: the fields of the records that have a page and a form of their own.
    RECORDS = ("people.Person", "people.Organization")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choose("action", [("", _("Any action")), *AuditAction.choices])
        del self.fields["reads"]

    def criteria(self) -> TrailFilter | None:
        criteria = super().criteria()
        if criteria is not None and self.is_bound:
            criteria.action = self.cleaned_data["action"]
            criteria.subject_id = self.cleaned_data["person"]
        return criteria

    @property
    def with_reads(self) -> bool:
        return True
