"""The send gate: asked for every message at the moment it is sent, not when it was queued.

- Marketing needs a valid consent for its purpose on the email channel at that moment: a
  withdrawal made after queueing stops the message.
- A consent invitation asks for consent, so it cannot need one; it goes to people Registru may
  contact about it: an active record held on the basis of a contract or of legitimate interest
  (an existing business relationship), or of an earlier consent; never to someone who refused or
  withdrew that purpose, and never to people whose data is restricted or erased.
- Service messages (questionnaires, answers to requests) go to anyone not restricted or erased.
- The app that queued a message may add its own question (``register``): an invitation goes only
  while it is still open and its campaign running, so a reminder queued before the person
  answered, or held while the campaign was paused past the invitation's end, is not sent.
"""

from __future__ import annotations

from collections.abc import Callable
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


type Check = Callable[[OutboundMessage], Verdict]
_checks: dict[str, list[Check]] = {}


def register(kind: MessageKind, check: Check) -> None:
    """Ask ``check`` too for every message of ``kind`` (apps call it once, from ``ready``)."""
    if check not in _checks.setdefault(kind, []):
        _checks[kind].append(check)


def check(message: OutboundMessage) -> Verdict:
    verdict = _person_check(message)
    if not verdict.allowed:
        return verdict
    for extra in _checks.get(message.kind, []):
        verdict = extra(message)
        if not verdict.allowed:
            return verdict
    return verdict


def _person_check(message: OutboundMessage) -> Verdict:
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
