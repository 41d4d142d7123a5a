"""The send gate: asked for every message at the moment it is sent, not when it was queued.

- Marketing needs a valid consent for its purpose on the email channel at that moment: a
  withdrawal made after queueing stops the message.
- A consent invitation asks for consent, so it cannot need one; it goes to people Registru may
  contact about it: an active record held on the basis of a contract or of legitimate interest
  (an existing business relationship), or of an earlier consent; never to someone who refused or
  withdrew that purpose, and never to people whose data is restricted or erased.
- Service messages (questionnaires, answers to requests) go to anyone not restricted or erased.
"""

from __future__ import annotations

from typing import NamedTuple

from registru.consent.choices import ConsentState
from registru.consent.models import Consent
from registru.consent.selectors import has_valid_consent
from registru.mail.models import MessageKind, OutboundMessage
from registru.people.choices import LawfulBasis, PersonStatus

INVITATION_BASES = {LawfulBasis.CONTRACT, LawfulBasis.LEGITIMATE_INTEREST, LawfulBasis.CONSENT}


class Verdict(NamedTuple):
    allowed: bool
    reason: str = ""


def check(message: OutboundMessage) -> Verdict:
    person = message.person
    if person is None:
        service_only = message.kind == MessageKind.SERVICE
        return Verdict(allowed=service_only, reason="" if service_only else "no person")
    if person.status != PersonStatus.ACTIVE or person.archived_at is not None:
        return Verdict(
            allowed=False, reason=f"the person is {person.status}{' (archived)' if person.archived_at else ''}"
        )
    if message.kind == MessageKind.MARKETING:
        allowed = has_valid_consent(person.pk, message.purpose_code, "email")
        return Verdict(allowed=allowed, reason="" if allowed else "no valid consent at send time")
    if message.kind == MessageKind.INVITATION:
        return _invitation(message)
    return Verdict(allowed=True)


def _invitation(message: OutboundMessage) -> Verdict:
    person = message.person
    assert person is not None
    if person.lawful_basis not in INVITATION_BASES:
        return Verdict(allowed=False, reason="no lawful basis to contact them about consent")
    # An invitation may ask several purposes (their codes, space-separated): it goes if one of
    # them is still open to asking.
    asked = set(message.purpose_code.split())
    said_no = set(
        Consent.objects.filter(
            person=person, purpose__code__in=asked, state__in=[ConsentState.REFUSED, ConsentState.WITHDRAWN]
        ).values_list("purpose__code", flat=True)
    )
    allowed = bool(asked - said_no)
    return Verdict(allowed=allowed, reason="" if allowed else "they refused or withdrew every purpose asked")
