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

The gate answers for a group of messages at once (the group a worker is about to hand to the
mail server together): the same questions per message, asked of the database a few queries per
group instead of a few per message. The person's status is read afresh, not taken from the row
loaded when the message was claimed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from registru.consent.selectors import refused_purposes, valid_consents
from registru.mail.models import MessageKind, OutboundMessage
from registru.people.choices import LawfulBasis, PersonStatus
from registru.people.models import Person

INVITATION_BASES = {LawfulBasis.CONTRACT, LawfulBasis.LEGITIMATE_INTEREST, LawfulBasis.CONSENT}


class Verdict(NamedTuple):
    allowed: bool
    reason: str = ""


ALLOWED = Verdict(allowed=True)
# Given messages of one kind, a verdict for each, in order.
type Check = Callable[[Sequence[OutboundMessage]], list[Verdict]]
_checks: dict[str, list[Check]] = {}


def register(kind: MessageKind, check: Check) -> None:
    """Ask ``check`` too for every message of ``kind`` (apps call it once, from ``ready``)."""
    if check not in _checks.setdefault(kind, []):
        _checks[kind].append(check)


def check_many(messages: Sequence[OutboundMessage]) -> list[Verdict]:
    """A verdict for each message, in order: the person's, then the registered apps' checks."""
    verdicts = _people_checks(messages)
    for kind, extras in _checks.items():
        for extra in extras:
            asked = [i for i, message in enumerate(messages) if message.kind == kind and verdicts[i].allowed]
            if asked:
                for i, verdict in zip(asked, extra([messages[i] for i in asked]), strict=True):
                    verdicts[i] = verdict
    return verdicts


class _Standing(NamedTuple):
    status: str
    archived: bool
    lawful_basis: str


def _people_checks(messages: Sequence[OutboundMessage]) -> list[Verdict]:
    standing = {
        pk: _Standing(status, archived_at is not None, basis)
        for pk, status, archived_at, basis in Person.objects.filter(pk__in=_people(messages)).values_list(
            "pk", "status", "archived_at", "lawful_basis"
        )
    }
    marketing = [m for m in messages if m.kind == MessageKind.MARKETING]
    consented = valid_consents(_people(marketing), {m.purpose_code for m in marketing}, "email")
    invitations = [m for m in messages if m.kind == MessageKind.INVITATION]
    said_no = refused_purposes(_people(invitations), {code for m in invitations for code in m.purpose_code.split()})
    return [_person_check(message, standing, consented, said_no) for message in messages]


def _people(messages: Sequence[OutboundMessage]) -> set[int]:
    return {message.person_id for message in messages if message.person_id is not None}


def _person_check(
    message: OutboundMessage,
    standing: dict[int, _Standing],
    consented: set[tuple[int, str]],
    said_no: dict[int, set[str]],
) -> Verdict:
    if message.person_id is None:
        service_only = message.kind == MessageKind.SERVICE
        return Verdict(allowed=service_only, reason="" if service_only else "no person")
    person = standing.get(message.person_id)
    if person is None:
        return Verdict(allowed=False, reason="the person no longer exists")
    if person.status != PersonStatus.ACTIVE or person.archived:
        return Verdict(allowed=False, reason=f"the person is {person.status}{' (archived)' if person.archived else ''}")
    if message.kind == MessageKind.MARKETING:
        allowed = (message.person_id, message.purpose_code) in consented
        return Verdict(allowed=allowed, reason="" if allowed else "no valid consent at send time")
    if message.kind == MessageKind.INVITATION:
        return _invitation(message, person, said_no.get(message.person_id, set()))
    return ALLOWED


def _invitation(message: OutboundMessage, person: _Standing, said_no: set[str]) -> Verdict:
    if person.lawful_basis not in INVITATION_BASES:
        return Verdict(allowed=False, reason="no lawful basis to contact them about consent")
    # An invitation may ask several purposes (their codes, space-separated): it goes if one of
    # them is still open to asking.
    allowed = bool(set(message.purpose_code.split()) - said_no)
    return Verdict(allowed=allowed, reason="" if allowed else "they refused or withdrew every purpose asked")
