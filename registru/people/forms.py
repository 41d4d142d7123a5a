"""Forms of the people pages. They parse and present; the services validate and decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from registru.accounts.models import User
from registru.accounts.roles import Capability
from registru.accounts.selectors import assignable_owners, owner_filter_choices
from registru.core.widgets import DateInput
from registru.people.choices import (
    Language,
    LawfulBasis,
    NoteKind,
    OrganizationStatus,
    PersonStatus,
    RestrictionGround,
    Source,
)
from registru.people.models import Person
from registru.people.selectors import ORGANIZATION_SORTS, PEOPLE_SORTS

MAX_ID = 2**62  # ids beyond this do not exist; larger numbers would overflow the driver
SORT_LABELS = {
    "name": _("Name A–Z"),
    "-name": _("Name Z–A"),
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "updated": _("Recently changed"),
}


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
        field = self.fields["owner"]
        # The current owner is always offered, so that saving other fields never changes it.
        current = self.initial.get("owner")
        current_id = getattr(current, "pk", current) or 0
        choices = assignable_owners(user) | User.objects.filter(pk=current_id)
        field.queryset = choices.distinct()  # type: ignore[attr-defined]
        if user.can(Capability.ASSIGN_ANY_OWNER) or (self.initial and current is None):
            field.required = False
            field.empty_label = _("— nobody —")  # type: ignore[attr-defined]

    def service_data(self, *, editing: bool) -> dict[str, Any]:
        """The cleaned values for the service; on edits, the owner only when it was changed."""
        data = {name: value for name, value in self.cleaned_data.items() if name not in ("version", "reason")}
        if editing and "owner" not in self.changed_data:
            data.pop("owner", None)
        return data


class PersonForm(OwnerMixin, AddressMixin):
    """A person's fields; those in ``masked`` (hidden from the user's role) are left out."""

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

    def __init__(self, *args: Any, masked: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in masked & set(self.fields):
            del self.fields[name]


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
    organization = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Any owner")
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *PersonStatus.choices]
    )
    archived = forms.BooleanField(label=_("Archived"), required=False)
    stale = forms.BooleanField(label=_("Stale data"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[(key, SORT_LABELS[key]) for key in PEOPLE_SORTS])
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
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    body = forms.CharField(label=_("Text"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data["occurred_at"] is None:
            del data["occurred_at"]  # the service dates it now
        return data


class AffiliationForm(forms.Form):
    # Chosen from a type-ahead list of the user's organizations; checked against the scope.
    organization = forms.IntegerField(
        label=_("Organization"),
        min_value=1,
        max_value=MAX_ID,
        error_messages={"required": _("Choose an organization from the list.")},
    )
    role = forms.CharField(label=_("Role"), required=False, max_length=150)
    since = forms.DateField(label=_("Since"), required=False, widget=DateInput())
    until = forms.DateField(label=_("Until"), required=False, widget=DateInput())


class EndAffiliationForm(forms.Form):
    until = forms.DateField(label=_("Until"), widget=DateInput())


class ReasonForm(forms.Form):
    reason = ReasonField()


class EraseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        help_text=_("The request or rule this erasure answers (kept in the history)."),
    )  # fmt: skip
    duplicates = forms.MultipleChoiceField(
        label=_("Records merged into this person, erased with it"), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A merge leaves the duplicate's own name and contacts on it. Untick a record only if it "
                    "was merged by mistake and is someone else."),
    )  # fmt: skip
    confirm = forms.BooleanField(label=_("I understand that this cannot be undone."))

    def __init__(self, *args: Any, duplicates: Sequence[Person] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offered = {str(duplicate.pk): duplicate for duplicate in duplicates}
        field = self.fields["duplicates"]
        field.choices = [(pk, f"{duplicate.full_name} (#{pk})") for pk, duplicate in self.offered.items()]  # type: ignore[attr-defined]
        field.initial = list(self.offered)
        if not duplicates:
            del self.fields["duplicates"]

    def chosen_duplicates(self) -> list[Person]:
        return [self.offered[pk] for pk in self.cleaned_data.get("duplicates", [])]


class RestrictForm(forms.Form):
    ground = forms.ChoiceField(
        label=_("Ground (Art. 18(1) GDPR)"), choices=RestrictionGround.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        help_text=_("The request or rule this restriction answers (kept in the history)."),
    )  # fmt: skip


class LiftRestrictionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        help_text=_("Why the restriction ends, and how and when the person was told (kept in the history)."),
    )  # fmt: skip
    person_informed = forms.BooleanField(
        label=_("The person was told, before it is lifted, that the restriction ends (Art. 18(3) GDPR)."),
        error_messages={"required": _("Confirm that the person was told first.")},
    )
