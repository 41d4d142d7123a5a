"""Asking about consent: the send gate's question, and a person's consents for the pages."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from registru.consent.choices import ConsentState, ContactChannel
from registru.consent.models import Consent, ConsentEvent, Notice, Purpose
from registru.core.pagination import InvalidCursorError, Page, Sort, paginate
from registru.people.choices import Language, PersonStatus
from registru.people.models import Person
from registru.people.selectors import people_for

LEDGER_PAGE_SIZE = 20
LEDGER_SORT = Sort("id", descending=True)


def has_valid_consent(person_id: int, purpose_code: str, channel: str, at: datetime | None = None) -> bool:
    """Whether marketing for ``purpose_code`` may reach the person on ``channel`` at ``at``.

    Restricted and erased people never may, whatever their consents say.
    """
    if not Person.objects.filter(pk=person_id, status=PersonStatus.ACTIVE, archived_at__isnull=True).exists():
        return False
    return (person_id, purpose_code) in valid_consents({person_id}, {purpose_code}, channel, at)


def valid_consents(
    person_ids: Collection[int], purpose_codes: Collection[str], channel: str, at: datetime | None = None
) -> set[tuple[int, str]]:
    """The (person, purpose) pairs among these with a consent on ``channel`` valid at ``at``
    (the people's status is the caller's to check)."""
    if not person_ids or not purpose_codes:
        return set()
    at = at or timezone.now()
    granted = Consent.objects.filter(
        person_id__in=person_ids, purpose__code__in=purpose_codes, channel=channel, state=ConsentState.GRANTED
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
    return set(granted.values_list("person_id", "purpose__code"))


def refused_purposes(person_ids: Collection[int], purpose_codes: Collection[str]) -> dict[int, set[str]]:
    """Per person, which of these purposes they refused or withdrew (on any channel)."""
    if not person_ids or not purpose_codes:
        return {}
    refused: dict[int, set[str]] = {}
    for person_id, code in Consent.objects.filter(
        person_id__in=person_ids,
        purpose__code__in=purpose_codes,
        state__in=[ConsentState.REFUSED, ConsentState.WITHDRAWN],
    ).values_list("person_id", "purpose__code"):
        refused.setdefault(person_id, set()).add(code)
    return refused


def consents_of(person: Person) -> QuerySet[Consent]:
    """A person's current consents (the person must already be in the user's scope)."""
    return (
        Consent.objects.filter(person=person)
        .select_related("purpose", "last_event", "last_event__notice")
        .order_by("purpose__code", "channel")
    )


def ledger_of(person: Person) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(person=person).select_related("purpose", "notice").order_by("-id")


def summary(person: Person) -> list[dict[str, Any]]:
    return [
        {"purpose": consent.purpose.code, "channel": consent.channel, "state": consent.state, "since": consent.since}
        for consent in consents_of(person)
    ]


def _valid_at(at: datetime) -> Q:
    return Q(state=ConsentState.GRANTED) & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))


# Purposes and notices (not personal data: the pages check the capability) -------------------


@dataclass(frozen=True)
class PurposeRow:
    purpose: Purpose
    people_with_valid_consent: int


def purposes_overview(user: Any) -> list[PurposeRow]:
    """Every purpose, with how many people may currently be reached for it (as the send gate
    counts them: active, not archived, consent granted and not expired)."""
    counts = dict(
        Consent.objects.filter(_valid_at(timezone.now()))
        .filter(person__status=PersonStatus.ACTIVE, person__archived_at__isnull=True)
        .values("purpose_id")
        .annotate(people=Count("person_id", distinct=True))
        .values_list("purpose_id", "people")
    )
    return [PurposeRow(purpose, counts.get(purpose.pk, 0)) for purpose in Purpose.objects.order_by("code")]


def notices_by_language(purpose: Purpose) -> dict[str, list[Notice]]:
    """Each language's notice versions, newest (the current one) first."""
    versions: dict[str, list[Notice]] = {language: [] for language in Language.values}
    for notice in purpose.notices.order_by("language", "-version"):
        versions.setdefault(notice.language, []).append(notice)
    return versions


def latest_notice(purpose: Purpose, language: str) -> Notice | None:
    return purpose.notices.filter(language=language).order_by("-version").first()


def recordable_notices() -> QuerySet[Notice]:
    """Notices staff may name when recording a consent (any version: the person may have
    signed an older paper form)."""
    return Notice.objects.select_related("purpose").order_by("purpose__code", "language", "-version")


# A person's consents (the person must already be in the user's scope) ---------------------


@dataclass(frozen=True)
class StateRow:
    """Where the person stands for one purpose on one channel, as the consent page shows it."""

    purpose: Purpose
    channel: str
    consent: Consent | None
    valid: bool

    @property
    def state(self) -> str:
        if self.consent is None:
            return ConsentState.NONE
        if self.consent.state == ConsentState.GRANTED and not self.valid:
            return ConsentState.EXPIRED  # past its validity; the daily sweep records it
        return self.consent.state

    @property
    def state_label(self) -> str:
        return str(ConsentState(self.state).label)

    @property
    def purpose_name(self) -> str:
        return self.purpose.name((get_language() or Language.ROMANIAN).split("-")[0])

    @property
    def channel_label(self) -> str:
        return str(ContactChannel(self.channel).label)


def consent_states(user: Any, person: Person) -> list[StateRow]:
    """Every active purpose on each of its channels, and any other the person has a state for."""
    people_for(user).get(pk=person.pk)
    now = timezone.now()
    current = {(consent.purpose_id, consent.channel): consent for consent in consents_of(person)}
    purposes = Purpose.objects.filter(Q(active=True) | Q(pk__in={key[0] for key in current})).order_by("code")
    rows = []
    for purpose in purposes:
        channels = list(purpose.channels) + sorted(
            channel for (pk, channel) in current if pk == purpose.pk and channel not in purpose.channels
        )
        for channel in channels:
            consent = current.get((purpose.pk, channel))
            rows.append(StateRow(purpose, channel, consent, _is_valid(consent, now)))
    return rows


def _is_valid(consent: Consent | None, now: datetime) -> bool:
    return (
        consent is not None
        and consent.state == ConsentState.GRANTED
        and (consent.expires_at is None or consent.expires_at > now)
    )


def ledger_page(user: Any, person: Person, cursor: str | None, limit: int = LEDGER_PAGE_SIZE) -> Page[ConsentEvent]:
    """One page of the person's ledger, newest first; a stale or forged cursor gives the first."""
    people_for(user).get(pk=person.pk)
    events = ledger_of(person).select_related("notice", "purpose")
    try:
        return paginate(events, LEDGER_SORT, "consent-ledger", cursor, limit)
    except InvalidCursorError:
        return paginate(events, LEDGER_SORT, "consent-ledger", None, limit)
