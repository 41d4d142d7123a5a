"""The person's data a questionnaire can ask them to confirm or correct.

Groups are what the questionnaire's author ticks; each group shows one or more fields of the
person. A correction of a person field goes through the people services' validation (the very
rules of the staff forms and the API). The employer is shown as it is known and may be corrected
in words only: such a correction always waits for a person on the staff, who updates the
employers by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from registru.people.models import ADDRESS_FIELDS, Person
from registru.people.scopes import current_affiliations


@dataclass(frozen=True)
class Group:
    code: str
    label: Any
    fields: tuple[str, ...]


GROUPS = (
    Group("name", _("Name"), ("given_name", "family_name")),
    Group("emails", _("Email addresses"), ("emails",)),
    Group("phones", _("Phone numbers"), ("phones",)),
    Group("job_title", _("Job title"), ("job_title",)),
    Group("employer", _("Employer"), ("employer",)),
    Group("address", _("Postal address"), ADDRESS_FIELDS),
    Group("preferred_language", _("Preferred language"), ("preferred_language",)),
    Group("consents", _("Marketing consents (the preference centre)"), ()),
)
BY_CODE = {group.code: group for group in GROUPS}
LIST_FIELDS = {"emails", "phones"}
REVIEW_ONLY = {"employer"}  # no person field to write: staff update the employers by hand
MAX_TEXT = 1000

LABELS = {
    "given_name": _("Given name"), "family_name": _("Family name"), "emails": _("Email addresses"),
    "phones": _("Phone numbers"), "job_title": _("Job title"), "employer": _("Employer"),
    "street": _("Street and number"), "city": _("City"), "county": _("County"), "postal_code": _("Postal code"),
    "country": _("Country (two letters)"), "preferred_language": _("Preferred language"),
}  # fmt: skip


def asked_fields(groups: list[str]) -> list[str]:
    return [name for code in groups if code in BY_CODE for name in BY_CODE[code].fields]


def employer_of(person: Person) -> str:
    names = current_affiliations().filter(person=person).values_list("organization__name", flat=True)
    return ", ".join(sorted(names))


def current_values(person: Person, names: list[str]) -> dict[str, Any]:
    """The values the person is shown, as stored."""
    return {name: employer_of(person) if name == "employer" else getattr(person, name) for name in names}


def as_text(name: str, value: Any) -> str:
    """A value as it stands in a form field (lists one per line)."""
    if name in LIST_FIELDS:
        return "\n".join(value or [])
    return "" if value is None else str(value)


def from_text(name: str, text: str) -> Any:
    if name in LIST_FIELDS:
        return [line.strip() for line in text.splitlines() if line.strip()]
    return text.strip()
