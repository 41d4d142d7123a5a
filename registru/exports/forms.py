"""Forms of the export pages. The people filter is the people list's own form
(``PeopleFilterForm``), so that the list can post its current filter here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from registru.exports import fields as export_fields
from registru.exports.models import ExportFormat, ExportStatus
from registru.exports.policy import NOT_EXPORTED, allowed_fields
from registru.exports.selectors import RegisterFilter, requesters
from registru.people.forms import PeopleFilterForm
from registru.people.selectors import PeopleFilter


class ExportForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What the data is needed for. It is written on the file and kept in the export register."),
    )  # fmt: skip
    format = forms.ChoiceField(
        label=_("Format"), choices=ExportFormat.choices, initial=ExportFormat.XLSX, widget=forms.RadioSelect
    )
    columns = forms.MultipleChoiceField(
        label=_("Fields"), choices=export_fields.choices, initial=list(export_fields.DEFAULT_FIELDS),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only these columns are written. Sensitive fields (birth date) always need approval."),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = set(allowed_fields(user))
        field: Any = self.fields["columns"]
        field.choices = [(code, label) for code, label in export_fields.choices() if code in allowed]
        field.initial = [code for code in export_fields.DEFAULT_FIELDS if code in allowed]


def people_criteria(form: PeopleFilterForm) -> PeopleFilter:
    """The filter the people list posted (the same reading as the list's own)."""
    if not form.is_bound or not form.is_valid():
        return PeopleFilter()
    data = form.cleaned_data
    return PeopleFilter(
        query=data["q"], organization_id=data["organization"], owner_id=data["owner"].pk if data["owner"] else None,
        status=data["status"], archived=data["archived"], stale=data["stale"],
    )  # fmt: skip


def filter_form(data: Any, user: Any) -> PeopleFilterForm:
    form = PeopleFilterForm(data or None, user=user)
    # Erased and restricted people are never exported: a filter on them would only ever find none.
    status: Any = form.fields["status"]
    status.choices = [(value, label) for value, label in status.choices if value not in NOT_EXPORTED]
    return form


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note to the requester"), required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip


class RegisterFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("any")), *ExportStatus.choices])
    requester: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Requester"), queryset=requesters(), required=False, empty_label=_("anyone")
    )
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requester"].queryset = requesters()  # type: ignore[attr-defined]

    def criteria(self) -> RegisterFilter:
        if not self.is_bound or not self.is_valid():
            return RegisterFilter()
        data = self.cleaned_data
        requester = data["requester"]
        return RegisterFilter(data["status"], requester.pk if requester else None, data["since"], data["until"])
