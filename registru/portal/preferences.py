"""The preference centre: every purpose a person may be asked about, on each of its channels,
with where they stand; and the changes they make there (each one a ledger event)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from registru.consent import services as consent
from registru.consent.choices import ConsentMethod, ConsentState, ContactChannel
from registru.consent.models import Consent, Notice, Purpose
from registru.core.services import service
from registru.people.choices import LawfulBasis
from registru.people.models import Person


@dataclass(frozen=True)
class Row:
    purpose: Purpose
    channel: str
    state: str
    valid: bool
    notice: Notice | None
    language: str

    @property
    def field(self) -> str:
        return f"{self.purpose.code}__{self.channel}"

    @property
    def name(self) -> str:
        return self.purpose.name(self.language)

    @property
    def channel_label(self) -> str:
        return str(ContactChannel(self.channel).label)

    @property
    def state_label(self) -> str:
        if self.state == ConsentState.GRANTED and not self.valid:
            return str(ConsentState.EXPIRED.label)
        return str(ConsentState(self.state).label)


def marketing_purpose(code: str) -> Purpose | None:
    return Purpose.objects.filter(code=code).first()


def rows_for(person: Person) -> list[Row]:
    """Purposes that rest on consent (active ones, and any the person has a say in already)."""
    now = timezone.now()
    current = {(row.purpose_id, row.channel): row for row in Consent.objects.filter(person=person)}
    purposes = Purpose.objects.filter(
        Q(active=True, lawful_basis=LawfulBasis.CONSENT) | Q(pk__in={key[0] for key in current})
    ).order_by("code")
    latest: dict[int, Notice] = {}
    for notice in Notice.objects.filter(purpose__in=purposes, language=person.preferred_language).order_by("version"):
        latest[notice.purpose_id] = notice
    rows = []
    for purpose in purposes:
        for channel in purpose.channels:
            state_row = current.get((purpose.pk, channel))
            state = state_row.state if state_row else ConsentState.NONE
            valid = state == ConsentState.GRANTED and (
                state_row is not None and (state_row.expires_at is None or state_row.expires_at > now)
            )
            rows.append(Row(purpose, channel, state, valid, latest.get(purpose.pk), person.preferred_language))
    return rows


@service
def apply(
    person: Person, rows: list[Row], wanted: set[str], *, actor: Any, evidence: consent.Evidence, may_grant: bool = True
) -> int:
    """Grant what was ticked and is not granted yet, withdraw what was granted and is unticked;
    boxes never ticked and left alone record nothing. Returns the number of changes."""
    changes = 0
    for row in rows:
        if row.field in wanted and not row.valid and may_grant:
            if row.notice is None or not row.purpose.active:
                continue  # nothing to show the person, so nothing they could consent to
            consent.grant_consent(
                person, row.purpose, row.channel, actor=actor,
                method=ConsentMethod.PREFERENCE_CENTRE, notice=row.notice, evidence=evidence,
            )  # fmt: skip
            changes += 1
        elif row.field not in wanted and row.valid:  # an expired one has nothing left to withdraw
            consent.withdraw_consent(person, row.purpose, row.channel, actor=actor,
                                     method=ConsentMethod.PREFERENCE_CENTRE, evidence=evidence)  # fmt: skip
            changes += 1
    return changes


@service
def unsubscribe(person: Person, purpose: Purpose, *, actor: Any, evidence: consent.Evidence) -> bool:
    """Withdraw the purpose on email (the channel the link came by). Again: nothing more."""
    state = Consent.objects.filter(person=person, purpose=purpose, channel=ContactChannel.EMAIL).first()
    if state is None or state.state != ConsentState.GRANTED:
        return False
    consent.withdraw_consent(person, purpose, ContactChannel.EMAIL, actor=actor,
                             method=ConsentMethod.UNSUBSCRIBE_LINK, evidence=evidence)  # fmt: skip
    return True
