"""Recording consent: every grant, withdrawal, refusal and expiry is a ledger event with its
evidence, an update of the current state, and an audit event, in one transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.consent.choices import ConsentKind, ConsentMethod, ConsentState, ContactChannel
from registru.consent.models import Consent, ConsentEvent, Notice, Purpose
from registru.core.actors import SystemActor, actor_identity
from registru.core.services import service
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.vault import services as vault

KIND_ACTIONS = {
    ConsentKind.GRANTED: A.CONSENT_GRANTED,
    ConsentKind.WITHDRAWN: A.CONSENT_WITHDRAWN,
    ConsentKind.REFUSED: A.CONSENT_REFUSED,
    ConsentKind.EXPIRED: A.CONSENT_EXPIRED,
}
KIND_STATES = {
    ConsentKind.GRANTED: ConsentState.GRANTED,
    ConsentKind.WITHDRAWN: ConsentState.WITHDRAWN,
    ConsentKind.REFUSED: ConsentState.REFUSED,
    ConsentKind.EXPIRED: ConsentState.EXPIRED,
}
# A grant must show what the person was told, except when staff import consents collected
# elsewhere (then an attestation of where they come from stands in for it).
NOTICE_OPTIONAL = {ConsentMethod.IMPORTED, ConsentMethod.SYSTEM}


@dataclass(frozen=True)
class Evidence:
    """How a consent was expressed; kept encrypted under the person's key."""

    ip: str = ""
    user_agent: str = ""
    attestation: str = ""  # imported: where the consents come from; paper form: the scan's reference
    note: str = ""

    def stored(self, person_id: int) -> dict[str, Any]:
        values = {key: value for key, value in asdict(self).items() if value}
        return vault.encrypt(person_id, "consent_evidence", values) if values else {}


def _check(person: Person, purpose: Purpose, channel: str, *, kind: str, method: str, notice: Notice | None) -> None:
    errors: dict[str, list[str]] = {}
    if channel not in purpose.channels:
        errors["channel"] = [_("This purpose does not use that channel.")]
    if person.status == PersonStatus.ERASED:
        errors["person"] = [_("This person has been erased.")]
    if kind == ConsentKind.GRANTED and notice is None and method not in NOTICE_OPTIONAL:
        errors["notice"] = [_("A consent must say which notice the person saw.")]
    if notice is not None and notice.purpose_id != purpose.pk:
        errors["notice"] = [_("This notice belongs to another purpose.")]
    if errors:
        raise ValidationError(errors)


@service
def record_consent(
    person: Person,
    purpose: Purpose,
    channel: str,
    kind: ConsentKind,
    *,
    actor: Any,
    method: ConsentMethod,
    notice: Notice | None = None,
    evidence: Evidence | None = None,
    campaign_id: int | None = None,
    invitation_id: int | None = None,
) -> ConsentEvent:
    """Append one event to the ledger and move the current state accordingly."""
    evidence = evidence or Evidence()
    _check(person, purpose, channel, kind=kind, method=method, notice=notice)
    if method == ConsentMethod.IMPORTED and kind == ConsentKind.GRANTED and not evidence.attestation:
        raise ValidationError({"evidence": [_("Imported consents need an attestation of their origin.")]})
    now = timezone.now()
    event = ConsentEvent.objects.create(
        person=person, purpose=purpose, channel=ContactChannel(channel), kind=kind, method=method,
        notice=notice, notice_hash=notice.text_hash if notice else "", occurred_at=now,
        evidence=evidence.stored(person.pk), recorded_by=actor_identity(actor)[1],
        campaign_id=campaign_id, invitation_id=invitation_id,
    )  # fmt: skip
    old = _move_state(event, purpose, now)
    if notice is not None and notice.first_used_at is None:
        Notice.objects.filter(pk=notice.pk, first_used_at__isnull=True).update(first_used_at=now)
    changes = {f"{purpose.code}/{channel}": (old, KIND_STATES[kind].value)}
    record(KIND_ACTIONS[kind], actor=actor, target=event, changes=changes, subject_id=person.pk)
    return event


def _move_state(event: ConsentEvent, purpose: Purpose, now: datetime) -> str:
    expires = (
        now + timedelta(days=purpose.validity_days)
        if event.kind == ConsentKind.GRANTED and purpose.validity_days
        else None
    )
    current = Consent.objects.filter(person=event.person, purpose=purpose, channel=event.channel).first()
    old = current.state if current else ConsentState.NONE.value
    values = {"state": KIND_STATES[ConsentKind(event.kind)], "since": now, "expires_at": expires,
              "notice_hash": event.notice_hash, "last_event": event}  # fmt: skip
    if current is None:
        Consent.objects.create(person=event.person, purpose=purpose, channel=event.channel, **values)
    else:
        for name, value in values.items():
            setattr(current, name, value)
        current.save(update_fields=list(values))
    return str(old)


def grant_consent(person: Person, purpose: Purpose, channel: str, **kwargs: Any) -> ConsentEvent:
    return record_consent(person, purpose, channel, ConsentKind.GRANTED, **kwargs)


def withdraw_consent(person: Person, purpose: Purpose, channel: str, **kwargs: Any) -> ConsentEvent:
    return record_consent(person, purpose, channel, ConsentKind.WITHDRAWN, **kwargs)


def refuse_consent(person: Person, purpose: Purpose, channel: str, **kwargs: Any) -> ConsentEvent:
    return record_consent(person, purpose, channel, ConsentKind.REFUSED, **kwargs)


def expire_consents(now: datetime | None = None) -> int:
    """Record the expiry of every granted consent past its validity (run daily)."""
    now = now or timezone.now()
    actor = SystemActor("consent expiry")
    due = Consent.objects.filter(state=ConsentState.GRANTED, expires_at__lte=now).select_related("person", "purpose")
    count = 0
    for consent in due.iterator(chunk_size=500):
        record_consent(
            consent.person, consent.purpose, consent.channel, ConsentKind.EXPIRED,
            actor=actor, method=ConsentMethod.SYSTEM,
        )  # fmt: skip
        count += 1
    return count


@service
def publish_notice(purpose: Purpose, language: str, text: str, *, actor: Any) -> Notice:
    """A new version of a purpose's notice; earlier versions stay as they were."""
    latest = purpose.notices.filter(language=language).order_by("-version").first()
    if latest is not None and latest.text_hash == Notice.hash_of(text):
        return latest
    notice = Notice.objects.create(
        purpose=purpose, language=language, version=(latest.version + 1) if latest else 1,
        text=text, text_hash=Notice.hash_of(text),
    )  # fmt: skip
    record(A.NOTICE_PUBLISHED, actor=actor, target=notice, changes={"version": (None, notice.version)})
    return notice
