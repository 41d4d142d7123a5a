"""What of a person a user is shown: masking of contact and sensitive fields, and reveals.

Lists always mask contact and sensitive fields. On a detail page and in an API detail answer,
each class of field is shown as the user's role policy says (``accounts.policy.visibility``):
in clear, masked with a reveal button, or masked. Pages and the API both call ``for_list``
and ``for_detail``, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers
from django.utils.translation import gettext_lazy as _

from registru.accounts.models import Visibility
from registru.accounts.policy import visibility
from registru.audit.actions import AuditAction
from registru.audit.services import record_access
from registru.core.pii import MASK, PIIClass, pii_class
from registru.people.models import Person

# Fields are revealed in groups, as they are shown: the address is one line on the page.
REVEAL_GROUPS: dict[str, tuple[str, ...]] = {
    "emails": ("emails",),
    "phones": ("phones",),
    "address": ("street", "city", "county", "postal_code"),
    "birth_date": ("birth_date",),
}
GROUP_LABELS = {
    "emails": _("Emails"),
    "phones": _("Phones"),
    "address": _("Address"),
    "birth_date": _("Birth date"),
}
DERIVED = {"primary_email": "emails", "primary_phone": "phones"}
COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def mask_email(value: str) -> str:
    """``ana.pop@firma.ro`` → ``a***@firma.ro``: the domain says which company, not who."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else MASK


def mask_phone(value: str) -> str:
    """``+40712345123`` → ``+40 7** *** 123``: the country, the kind of line, the last digits.

    Phones are stored in E.164, so the country code is found in phonenumbers' table of codes
    (no two codes are prefixes of each other) without parsing the number: lists mask up to a
    hundred phones per answer, and parsing each one cost more than the rest of the masking.
    """
    digits = value.removeprefix("+")
    if not value.startswith("+") or not digits.isdigit() or len(digits) < 6:
        return MASK
    code = next((digits[:n] for n in (1, 2, 3) if int(digits[:n]) in COUNTRY_CODES), None)
    if code is None:
        return MASK
    national = digits[len(code) :]
    hidden = national[:1] + "*" * (len(national) - 4) + national[-3:]
    head = len(hidden) % 3 or 3  # grouped in threes from the end, so the last three stand alone
    groups = [hidden[:head]] + [hidden[i : i + 3] for i in range(head, len(hidden), 3)]
    return f"+{code} {' '.join(groups)}"


def mask_value(field: str, value: Any) -> Any:
    if field == "emails":
        return [mask_email(v) for v in value]
    if field == "phones":
        return [mask_phone(v) for v in value]
    if isinstance(value, date) or value is None:
        return None
    return f"{value[:1]}{MASK}" if value else ""


def group_class(group: str) -> PIIClass:
    return max((pii_class(Person, name) for name in REVEAL_GROUPS[group]), key=_CLASS_ORDER.index)


_CLASS_ORDER = [PIIClass.NONE, PIIClass.PROFESSIONAL, PIIClass.IDENTITY, PIIClass.CONTACT, PIIClass.SENSITIVE]


class Shown:
    """A person as one user may see them: masked attributes read masked, the rest as stored.

    A read-only view for templates and API shapes; the record itself is never altered, so
    nothing masked can be saved back by mistake.
    """

    def __init__(self, person: Person, masked: frozenset[str], revealable: frozenset[str] = frozenset()) -> None:
        self._person = person
        self.masked = masked
        self.revealable = revealable

    def __getattr__(self, name: str) -> Any:
        source = DERIVED.get(name, name)
        value = getattr(self._person, name)
        if source in self.masked:
            if name in DERIVED:
                return mask_value(source, [value])[0] if value else ""
            return mask_value(name, value)
        return value

    def masked_values(self) -> dict[str, Any]:
        """The masked fields with their masked values (for shaping many people quickly)."""
        return {name: mask_value(name, getattr(self._person, name)) for name in self.masked}

    @property
    def hides_something(self) -> bool:
        """Whether a masked field holds a value (an empty one is shown empty, not masked)."""
        return any(getattr(self._person, name, None) for name in self.masked)

    @property
    def masked_groups(self) -> list[str]:
        return [group for group, names in REVEAL_GROUPS.items() if set(names) & self.masked]

    @property
    def reveal_choices(self) -> list[tuple[str, str]]:
        # A group with nothing recorded is not offered: there is nothing to reveal, and the
        # masked page already shows it empty ("—" rather than "••••").
        return [
            (group, str(GROUP_LABELS[group]))
            for group in self.masked_groups
            if group in self.revealable and any(getattr(self._person, name) for name in REVEAL_GROUPS[group])
        ]

    @property
    def record(self) -> Person:
        return self._person


@dataclass(frozen=True)
class FieldPolicy:
    """For one user: the reveal groups masked on detail pages, and those they may reveal."""

    masked_groups: frozenset[str]
    revealable_groups: frozenset[str]

    @property
    def masked(self) -> frozenset[str]:
        return frozenset(name for group in self.masked_groups for name in REVEAL_GROUPS[group])


def field_policy(user: Any) -> FieldPolicy:
    masked, revealable = set(), set()
    for group in REVEAL_GROUPS:
        seen = visibility(user, group_class(group))
        if seen is not Visibility.CLEAR:
            masked.add(group)
        if seen is Visibility.REVEAL:
            revealable.add(group)
    return FieldPolicy(frozenset(masked), frozenset(revealable))


ALL_MASKED = frozenset(name for group in REVEAL_GROUPS.values() for name in group)
# Values that audit events of other models keep under their own names: an outgoing message's
# recipient is an email address (or, for SMS, a phone).
HISTORY_ALIASES = {"recipient": ("emails", "phones")}


def masked_in_history(user: Any) -> frozenset[str]:
    """Field names whose values a history shown to ``user`` must mask."""
    masked = field_policy(user).masked
    aliases = {alias for alias, sources in HISTORY_ALIASES.items() if set(sources) & masked}
    return masked | aliases


def for_list(people: list[Person]) -> list[Shown]:
    """People in a list or search result: contact and sensitive fields always masked."""
    return [Shown(person, ALL_MASKED) for person in people]


def for_detail(user: Any, person: Person, revealed: frozenset[str] = frozenset()) -> Shown:
    """One person on a detail page or API answer, with the groups in ``revealed`` in clear."""
    policy = field_policy(user)
    groups = policy.masked_groups - (revealed & policy.revealable_groups)
    names = frozenset(name for group in groups for name in REVEAL_GROUPS[group])
    return Shown(person, names, policy.revealable_groups & groups)


class RevealRefusedError(PermissionError):
    pass


def reveal(user: Any, person: Person, groups: set[str], *, reason: str) -> Shown:
    """Show ``groups`` of ``person`` in clear, once, with the reason on record.

    Each reveal is an access event in the person's history; a refused one (a group the role
    may not reveal, or no reason) is a security event and shows nothing.
    """
    policy = field_policy(user)
    allowed = groups <= policy.revealable_groups and bool(groups)
    if not allowed or not reason.strip():
        record_access(
            AuditAction.ACCESS_DENIED, actor=user, target=person, subject_id=person.pk,
            detail=f"reveal refused: {', '.join(sorted(groups)) or '-'}",
        )  # fmt: skip
        raise RevealRefusedError(", ".join(sorted(groups)))
    record_access(
        AuditAction.FIELD_REVEALED, actor=user, target=person, subject_id=person.pk,
        detail=f"{', '.join(sorted(groups))}: {reason.strip()[:300]}",
    )  # fmt: skip
    return for_detail(user, person, frozenset(groups))
