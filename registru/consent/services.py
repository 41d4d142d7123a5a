"""Recording consent: every grant, withdrawal, refusal and expiry is a ledger event with its
evidence, an update of the current state, and an audit event, in one transaction."""

from __future__ import annotations

import logging
import re
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
from registru.people.choices import LawfulBasis, PersonStatus
from registru.people.models import Person
from registru.vault import services as vault

logger = logging.getLogger(__name__)
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
    # One person's consent events one at a time (PostgreSQL; SQLite writes one at a time anyway):
    # the current state must follow the ledger's order, whichever request commits first.
    list(Person.objects.select_for_update().filter(pk=person.pk).values_list("pk", flat=True))
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
    due = (
        Consent.objects.filter(state=ConsentState.GRANTED, expires_at__lte=now)
        .exclude(person__status=PersonStatus.ERASED)  # nothing is recorded about them any more
        .select_related("person", "purpose")
    )
    count = 0
    for consent in list(due[:10_000]):
        # Granted again since the sweep began? Then it has not expired.
        if not Consent.objects.filter(pk=consent.pk, state=ConsentState.GRANTED, expires_at__lte=now).exists():
            continue
        try:
            record_consent(
                consent.person, consent.purpose, consent.channel, ConsentKind.EXPIRED,
                actor=actor, method=ConsentMethod.SYSTEM,
            )  # fmt: skip
        except ValidationError:
            logger.exception("consent %s: its expiry could not be recorded", consent.pk)
            continue
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


# Purposes ----------------------------------------------------------------------------------

CODE_PATTERN = re.compile(r"[a-z0-9_-]{1,50}")
PURPOSE_FIELDS = (
    "name_ro", "name_en", "lawful_basis", "channels", "validity_days", "retention_days", "is_marketing", "active",
)  # fmt: skip


def _purpose_errors(purpose: Purpose | None, values: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    code = values.get("code")
    if purpose is None and not code:
        errors["code"] = [_("Give the purpose a code.")]
    elif purpose is None and not CODE_PATTERN.fullmatch(str(code)):
        errors["code"] = [_("Use up to 50 lowercase letters, digits, hyphens or underscores.")]
    elif purpose is None and Purpose.objects.filter(code=code).exists():
        errors["code"] = [_("Another purpose already has this code.")]
    elif purpose is not None and code not in (None, purpose.code):
        errors["code"] = [_("The code of a purpose never changes: consents and links refer to it.")]
    for name in ("name_ro", "name_en"):
        if name in values and not str(values[name] or "").strip():
            errors[name] = [_("This field is required.")]
    if "lawful_basis" in values and values["lawful_basis"] not in LawfulBasis.values:
        errors["lawful_basis"] = [_("Choose a lawful basis from the list.")]
    channels = values.get("channels", purpose.channels if purpose else [])
    if not channels or not set(channels) <= set(ContactChannel.values):
        errors["channels"] = [_("Choose at least one channel from the list.")]
    for name in ("validity_days", "retention_days"):
        if values.get(name) is not None and values[name] < 1:
            errors[name] = [_("Must be at least 1.")]
    return errors


@service
def save_purpose(purpose: Purpose | None, values: dict[str, Any], *, actor: Any) -> Purpose:
    """Create a purpose of processing (``purpose`` None) or change one. The code is given once
    and never changes: the ledger, campaigns and public links name purposes by it."""
    errors = _purpose_errors(purpose, values)
    if errors:
        raise ValidationError(errors)
    wanted = {name: values[name] for name in PURPOSE_FIELDS if name in values}
    if "channels" in wanted:
        wanted["channels"] = [channel for channel in ContactChannel.values if channel in wanted["channels"]]
    if purpose is None:
        purpose = Purpose.objects.create(code=values["code"], **wanted)
        changes: dict[str, tuple[Any, Any]] = {"code": (None, purpose.code)}
        changes |= {name: (None, value) for name, value in wanted.items()}
    else:
        changes = {name: (getattr(purpose, name), value) for name, value in wanted.items()}
        changes = {name: pair for name, pair in changes.items() if pair[0] != pair[1]}
        if not changes:
            return purpose
        for name, (_old, new) in changes.items():
            setattr(purpose, name, new)
        purpose.save(update_fields=list(changes))
    record(A.PURPOSE_SAVED, actor=actor, target=purpose, changes=changes)
    return purpose


# Consents staff collected themselves -------------------------------------------------------

STAFF_METHODS = (ConsentMethod.PAPER_FORM, ConsentMethod.VERBAL, ConsentMethod.IMPORTED)
STAFF_KINDS = (ConsentKind.GRANTED, ConsentKind.WITHDRAWN, ConsentKind.REFUSED)


def _staff_errors(purpose: Purpose, kind: str, method: str, attestation: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if method not in STAFF_METHODS:
        errors["method"] = [_("Staff record consents given on paper, verbally, or imported.")]
    if kind not in STAFF_KINDS:
        errors["kind"] = [_("Choose granted, withdrawn or refused.")]
    if method == ConsentMethod.PAPER_FORM and not attestation.strip():
        errors["attestation"] = [_("Give the reference of the scanned form.")]
    if method == ConsentMethod.IMPORTED and not attestation.strip():
        errors["attestation"] = [_("Say where the imported consents come from.")]
    if kind == ConsentKind.GRANTED and not purpose.active:
        errors["purpose"] = [_("This purpose is no longer in use: it cannot be granted.")]
    return errors


@service
def record_collected_consent(
    person: Person,
    purpose: Purpose,
    channel: str,
    kind: str,
    *,
    actor: Any,
    method: str,
    notice: Notice | None = None,
    attestation: str = "",
    note: str = "",
) -> ConsentEvent:
    """A consent, withdrawal or refusal that staff collected themselves: on a paper form (the
    scan's reference attests it), verbally (the ledger names who recorded it), or imported from
    elsewhere (with an attestation of its origin). A withdrawal refers to no notice."""
    errors = _staff_errors(purpose, kind, method, attestation)
    if errors:
        raise ValidationError(errors)
    evidence = Evidence(attestation=attestation.strip(), note=note.strip())
    return record_consent(
        person, purpose, channel, ConsentKind(kind), actor=actor, method=ConsentMethod(method),
        notice=None if kind == ConsentKind.WITHDRAWN else notice, evidence=evidence,
    )  # fmt: skip
