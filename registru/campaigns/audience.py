"""A campaign's audience: the saved filter, and the people it selects at the moment it runs.

Whatever the filter says, an invitation only goes to people Registru may ask (see
``mail.gate``): active, not archived, with an email address, held on a basis that allows
contacting them about consent, and not already waiting on another open campaign's invitation for
the same purpose. Purposes a person refused or withdrew are not asked again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from registru.consent.choices import ConsentState
from registru.consent.models import Consent, Purpose
from registru.mail.gate import INVITATION_BASES
from registru.people.choices import PersonStatus
from registru.people.models import Affiliation, Person


class ConsentCondition:
    MISSING = "missing"  # no valid consent yet for some of what is asked
    OLDER_THAN = "older_than"  # a consent given more than N months ago: ask again
    ANY = "any"


@dataclass(frozen=True)
class Audience:
    """The saved filter of a campaign (stored as JSON in ``Campaign.audience``)."""

    consent: str = ConsentCondition.MISSING
    months: int = 24
    organization_status: str = ""
    language: str = ""

    @classmethod
    def load(cls, data: dict[str, Any]) -> Audience:
        known = {key: data[key] for key in ("consent", "months", "organization_status", "language") if key in data}
        return cls(**known)

    def dump(self) -> dict[str, Any]:
        return asdict(self)


def asked_pairs(purposes: list[Purpose], channels: list[str]) -> list[tuple[Purpose, str]]:
    """Every purpose × channel a campaign asks: the campaign's channels the purpose uses."""
    return [(purpose, channel) for purpose in purposes for channel in channels if channel in purpose.channels]


def _pair_filter(pairs: list[tuple[Purpose, str]]) -> Q:
    query = Q(pk__in=[])
    for purpose, channel in pairs:
        query |= Q(purpose_id=purpose.pk, channel=channel)
    return query


def _valid_now(now: Any) -> Q:
    return Q(state=ConsentState.GRANTED) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def contactable() -> QuerySet[Person]:
    """People an invitation may go to at all."""
    return (
        Person.objects.filter(status=PersonStatus.ACTIVE, archived_at__isnull=True, merged_into__isnull=True)
        .filter(lawful_basis__in=INVITATION_BASES)
        .exclude(emails=[])
    )


def select(
    audience: Audience, purposes: list[Purpose], channels: list[str], *, exclude_campaign: int | None = None
) -> QuerySet[Person]:
    """The people a campaign asking ``purposes`` on ``channels`` with this filter would invite now."""
    from registru.campaigns.models import WAITING_INVITATIONS, CampaignStatus, Invitation

    now = timezone.now()
    pairs = asked_pairs(purposes, channels)
    people = contactable()
    if audience.language:
        people = people.filter(preferred_language=audience.language)
    if audience.organization_status:
        people = people.filter(
            Exists(
                Affiliation.objects.filter(
                    person=OuterRef("pk"), until__isnull=True, organization__status=audience.organization_status,
                    organization__archived_at__isnull=True,
                )
            )
        )  # fmt: skip
    consents = Consent.objects.filter(person=OuterRef("pk")).filter(_pair_filter(pairs))
    if audience.consent == ConsentCondition.MISSING:
        # Someone lacks a valid consent for some pair: not every pair is covered by a valid one.
        uncovered: Any = Q(pk__in=[])
        for purpose, channel in pairs:
            uncovered |= ~Exists(consents.filter(purpose_id=purpose.pk, channel=channel).filter(_valid_now(now)))
        people = people.filter(uncovered)
    elif audience.consent == ConsentCondition.OLDER_THAN:
        cutoff = now - timedelta(days=round(30.44 * max(audience.months, 1)))
        people = people.filter(Exists(consents.filter(_valid_now(now), since__lt=cutoff)))
    # Not someone who said no to everything asked: refused or withdrawn pairs are not asked again.
    said_no = Consent.objects.filter(person=OuterRef("pk"), state__in=[ConsentState.REFUSED, ConsentState.WITHDRAWN])
    still_askable: Any = Q(pk__in=[])
    for purpose, channel in pairs:
        still_askable |= ~Exists(said_no.filter(purpose_id=purpose.pk, channel=channel))
    people = people.filter(still_askable)
    # One open invitation per person and purpose across running campaigns.
    waiting = Invitation.objects.filter(
        person=OuterRef("pk"), status__in=WAITING_INVITATIONS,
        campaign__status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED],
        campaign__purposes__in=[purpose.pk for purpose in purposes],
    )  # fmt: skip
    if exclude_campaign is not None:
        waiting = waiting.exclude(campaign_id=exclude_campaign)
    return people.filter(~Exists(waiting))


def refused_pairs(person_ids: list[int], pairs: list[tuple[Purpose, str]]) -> dict[int, set[tuple[int, str]]]:
    """Per person, the asked purpose × channel pairs they refused or withdrew (not asked again)."""
    rows = (
        Consent.objects.filter(person_id__in=person_ids, state__in=[ConsentState.REFUSED, ConsentState.WITHDRAWN])
        .filter(_pair_filter(pairs))
        .values_list("person_id", "purpose_id", "channel")
    )
    result: dict[int, set[tuple[int, str]]] = {}
    for person_id, purpose_id, channel in rows:
        result.setdefault(person_id, set()).add((purpose_id, channel))
    return result
