"""Filters of the History tab and of the trail page (GET: ids, codes and dates only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from registru.audit.actions import AuditAction
from registru.audit.presenters import CHANNEL_LABELS
from registru.audit.selectors import TrailFilter
from registru.core.pii import classification, personal_data_models

READ_ACTIONS = (
    AuditAction.PERSON_VIEWED,
    AuditAction.HISTORY_VIEWED,
    AuditAction.TRAIL_EXPORTED,
    AuditAction.CONSENT_PROOF_EXPORTED,
    AuditAction.MAIL_READ,
    AuditAction.FIELD_REVEALED,
    AuditAction.EXPORT_DOWNLOADED,
)


def field_choices() -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    for model in personal_data_models():
        for name in classification(model):
            field = model._meta.get_field(name)
            names.setdefault(name, str(getattr(field, "verbose_name", name)))
    return [("", str(_("Any field"))), *sorted(names.items(), key=lambda item: item[1])]


class DateInput(forms.DateInput):
    input_type = "date"


class HistoryFilterForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), required=False)
    actor = forms.TypedChoiceField(label=_("Who"), required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Until"), required=False, widget=DateInput())
    reads = forms.BooleanField(label=_("Also show who opened the record"), required=False)

    def __init__(self, *args: Any, actors: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choose("field", field_choices())
        self._choose("actor", [("", _("Anyone")), *actors])
        self._choose("channel", [("", _("Any channel")), *((str(c), label) for c, label in CHANNEL_LABELS.items())])

    def _choose(self, name: str, choices: list[Any]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def criteria(self) -> TrailFilter:
        if not self.is_valid():
            return TrailFilter()
        data = self.cleaned_data
        return TrailFilter(
            field=data["field"], actor_id=data["actor"], channel=data["channel"],
            date_from=data["date_from"], date_to=data["date_to"],
        )  # fmt: skip

    @property
    def with_reads(self) -> bool:
        return bool(self.is_valid() and self.cleaned_data["reads"])


class TrailFilterForm(HistoryFilterForm):
    action = forms.ChoiceField(label=_("Action"), required=False)
    person = forms.IntegerField(label=_("Person id"), required=False, min_value=1, max_value=2**62)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choose("action", [("", _("Any action")), *AuditAction.choices])
        del self.fields["reads"]

    def criteria(self) -> TrailFilter:
        criteria = super().criteria()
        if self.is_valid():
            criteria.action = self.cleaned_data["action"]
            criteria.subject_id = self.cleaned_data["person"]
        return criteria

    @property
    def with_reads(self) -> bool:
        return True
