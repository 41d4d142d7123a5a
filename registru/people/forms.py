"""Forms of the people pages. They parse and present; the services validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from registru.accounts.models import User
from registru.accounts.selectors import assignable_owners, owner_filter_choices
from registru.people.choices import (
    Language,
    LawfulBasis,
    NoteKind,
    OrganizationStatus,
    PersonStatus,
    Source,
)
from registru.people.selectors import ORGANIZATION_SORTS, PEOPLE_SORTS

SORT_LABELS = {
    "name": _("Name A–Z"),
    "-name": _("Name Z–A"),
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "updated": _("Recently changed"),
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ReasonField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            label=_("Reason (optional)"), required=False, max_length=500,
            help_text=_("Kept in the history with this change."), **kwargs,
        )  # fmt: skip


class AddressMixin(forms.Form):
    street = forms.CharField(label=_("Street and number"), required=False, max_length=200)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    county = forms.CharField(label=_("County"), required=False, max_length=100)
    postal_code = forms.CharField(label=_("Postal code"), required=False, max_length=20)
    country = forms.CharField(label=_("Country"), required=False, max_length=2, initial="RO")


class OwnerMixin(forms.Form):
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user)  # type: ignore[attr-defined]


class PersonForm(OwnerMixin, AddressMixin):
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    job_title = forms.CharField(label=_("Job title"), required=False, max_length=150)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DateInput())
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.OTHER)
    lawful_basis = forms.ChoiceField(
        label=_("Lawful basis"), choices=LawfulBasis.choices, initial=LawfulBasis.LEGITIMATE_INTEREST
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = ReasonField()

    field_order = [
        "given_name", "family_name", "job_title", "owner", "preferred_language", "birth_date",
        "source", "lawful_basis", "street", "city", "county", "postal_code", "country",
    ]  # fmt: skip


class OrganizationForm(OwnerMixin, AddressMixin):
    name = forms.CharField(label=_("Name"), max_length=200)
    status = forms.ChoiceField(label=_("Status"), choices=OrganizationStatus.choices)
    cui = forms.CharField(
        label=_("Tax id (CUI / VAT)"), required=False, max_length=20,
        help_text=_("Romanian CUI (checksum verified) or a foreign VAT number."),
    )  # fmt: skip
    trade_register_no = forms.CharField(label=_("Trade register no."), required=False, max_length=40)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = ReasonField()

    field_order = ["name", "status", "cui", "trade_register_no", "industry", "owner"]


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    organization = forms.IntegerField(required=False, widget=forms.HiddenInput)
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Any owner")
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *PersonStatus.choices]
    )
    archived = forms.BooleanField(label=_("Archived"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort"), required=False, choices=[(key, SORT_LABELS[key]) for key in PEOPLE_SORTS]
    )
    cursor = forms.CharField(required=False, widget=forms.HiddenInput, max_length=500)
    # The corrected search a previous page answered, so that its next page does too.
    corrected_q = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_filter_choices(user)  # type: ignore[attr-defined]


class OrganizationFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Any owner")
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *OrganizationStatus.choices]
    )
    archived = forms.BooleanField(label=_("Archived"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort"), required=False, choices=[(key, SORT_LABELS[key]) for key in ORGANIZATION_SORTS]
    )
    cursor = forms.CharField(required=False, widget=forms.HiddenInput, max_length=500)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_filter_choices(user)  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=NoteKind.choices)
    body = forms.CharField(label=_("Text"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))


class AffiliationForm(forms.Form):
    # Chosen from a type-ahead list of the user's organizations; checked against the scope.
    organization = forms.IntegerField(
        label=_("Organization"),
        min_value=1,
        error_messages={"required": _("Choose an organization from the list.")},
    )
    role = forms.CharField(label=_("Role"), required=False, max_length=150)
    since = forms.DateField(label=_("Since"), required=False, widget=DateInput())
    until = forms.DateField(label=_("Until"), required=False, widget=DateInput())


class EndAffiliationForm(forms.Form):
    until = forms.DateField(label=_("Until"), widget=DateInput())


class ReasonForm(forms.Form):
    reason = ReasonField()
