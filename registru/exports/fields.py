"""The fields an export may ask for, from the PII registry of ``Person``, and their values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from registru.core.pii import PIIClass, pii_class
from registru.people.models import Affiliation, Person


@dataclass(frozen=True)
class ExportField:
    code: str
    label: str | Promise
    pii: PIIClass
    value: Callable[[Person], Any]


def _attribute(name: str) -> Callable[[Person], Any]:
    return lambda person: getattr(person, name)


def _display(name: str) -> Callable[[Person], Any]:
    return lambda person: getattr(person, f"get_{name}_display")()


def _joined(name: str) -> Callable[[Person], Any]:
    return lambda person: "; ".join(getattr(person, name) or [])


def _organizations(person: Person) -> str:
    # Prefetched as ``current_employers`` by the generator (current affiliations only).
    return "; ".join(affiliation.organization.name for affiliation in getattr(person, "current_employers", []))


def _person_field(code: str, label: str | Promise, value: Callable[[Person], Any] | None = None) -> ExportField:
    return ExportField(code, label, pii_class(Person, code), value or _attribute(code))


# The allow-list, in the column order of the files.
FIELDS: dict[str, ExportField] = {
    field.code: field
    for field in (
        ExportField("id", _("Registru id"), PIIClass.NONE, _attribute("pk")),
        _person_field("given_name", _("Given name")),
        _person_field("family_name", _("Family name")),
        _person_field("job_title", _("Job title")),
        ExportField("organizations", _("Organizations"), pii_class(Affiliation, "organization"), _organizations),
        _person_field("emails", _("Emails"), _joined("emails")),
        _person_field("phones", _("Phones"), _joined("phones")),
        _person_field("street", _("Street and number")),
        _person_field("city", _("City")),
        _person_field("county", _("County")),
        _person_field("postal_code", _("Postal code")),
        _person_field("country", _("Country")),
        _person_field("birth_date", _("Birth date")),
        _person_field("preferred_language", _("Preferred language"), _display("preferred_language")),
        _person_field("status", _("Status"), _display("status")),
        _person_field("lawful_basis", _("Lawful basis"), _display("lawful_basis")),
        _person_field("source", _("Source"), _display("source")),
    )
}
DEFAULT_FIELDS = ("given_name", "family_name", "job_title", "organizations", "emails")


def ordered(codes: list[str]) -> list[str]:
    """The known codes among ``codes``, in the allow-list's order, each once."""
    asked = set(codes)
    return [code for code in FIELDS if code in asked]


def labels(codes: list[str]) -> list[str | Promise]:
    """What the form calls each of ``codes`` (a code no longer offered is left out)."""
    return [FIELDS[code].label for code in codes if code in FIELDS]


def sensitive(codes: list[str]) -> list[str]:
    return [code for code in codes if FIELDS[code].pii is PIIClass.SENSITIVE]


def choices() -> list[tuple[str, Any]]:
    return [(code, field.label) for code, field in FIELDS.items()]
