"""What an export request may select and when it needs a second person's approval."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from registru.accounts.models import ViewBlock
from registru.accounts.models.policy import Visibility
from registru.accounts.policy import visibility
from registru.core.scopes import Action
from registru.exports import fields as export_fields
from registru.exports.fingerprint import open_query, seal_query
from registru.exports.models import ApprovalReason, ExportRequest, ExportStatus
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.people.scopes import NOTHING_GRANTED, granted, people_in_own_scope
from registru.people.selectors import PeopleFilter, filter_people

# Erased people have nothing left to export; restricted ones (Art. 18) may only be stored.
NOT_EXPORTED = (PersonStatus.ERASED, PersonStatus.RESTRICTED)
# Exports approved automatically within this rolling window add up against the threshold.
RECENT_WINDOW = timedelta(hours=24)
# Ended without a file ever being made: these gave nobody any data.
NEVER_MADE = (ExportStatus.CANCELLED, ExportStatus.FAILED, ExportStatus.EXPIRED)


def approval_hours() -> int:
    """How long an approval stays good for generating the file."""
    return int(getattr(settings, "EXPORT_APPROVAL_HOURS", 24))


def pending_days() -> int:
    """How long a request may wait for a decision before it lapses."""
    return int(getattr(settings, "EXPORT_PENDING_DAYS", 7))


def approval_window() -> timedelta:
    return timedelta(hours=approval_hours())


def people_to_export(user: Any, criteria: PeopleFilter) -> QuerySet[Person]:
    """The people an export of ``user`` with ``criteria`` holds: the user's own scope, now."""
    return filter_people(user, criteria).exclude(status__in=NOT_EXPORTED)


def viewing_blocked(user: Any) -> bool:
    """The user's view budget is spent (a block no manager has lifted yet): no exports either."""
    return ViewBlock.objects.filter(user_id=user.pk, lifted_at__isnull=True).exists()


def recently_exported(user: Any) -> int:
    """People in the user's exports approved automatically in the last 24 hours (rolling).

    Without this sum, one large export split into several under the threshold would never
    meet a second person. Overlapping exports count their people each time; exports that
    ended without a file (cancelled, failed or lapsed before it was made) do not count.
    """
    since = timezone.now() - RECENT_WINDOW
    recent = ExportRequest.objects.filter(
        requester_id=user.pk, needs_approval=False, decided_by__isnull=True, decided_at__gte=since
    ).exclude(Q(status__in=NEVER_MADE) & Q(generated_at__isnull=True))
    return int(recent.aggregate(people=Sum("counted"))["people"] or 0)


@dataclass(frozen=True)
class Assessment:
    count: int
    reasons: list[str]
    recent: int = 0  # people already exported without approval in the last 24 hours

    @property
    def needs_approval(self) -> bool:
        return bool(self.reasons)

    @property
    def reason_labels(self) -> list[str]:
        return [str(ApprovalReason(reason).label) for reason in self.reasons]

    @property
    def threshold(self) -> int:
        return int(settings.EXPORT_APPROVAL_THRESHOLD)

    @property
    def split(self) -> bool:
        """Needs approval because of the requester's recent automatic exports."""
        return ApprovalReason.RECENT.value in self.reasons


def includes_granted_people(user: Any, people: QuerySet[Person]) -> bool:
    """Whether some of ``people`` are in the user's scope only through an access grant."""
    if granted(user, Action.VIEW) is NOTHING_GRANTED:
        return False  # no active grant: the scope is the user's own (no further query)
    return people.exclude(pk__in=people_in_own_scope(user).values("pk")).exists()


def people_in_file(export: ExportRequest) -> QuerySet[Person]:
    """The people an export's file holds, when it is made: the requester's scope then.

    Someone seen only through an access grant is in it only if a second person approved the
    export knowing that it held such people (reason ``granted``). Without this, a grant that
    began between an automatic approval and the file would slip its person in unapproved.
    """
    requester = export.requester
    people = people_to_export(requester, criteria_of(export))
    if ApprovalReason.GRANTED.value in export.approval_reasons or granted(requester, Action.VIEW) is NOTHING_GRANTED:
        return people
    return people.filter(pk__in=people_in_own_scope(requester).values("pk"))


def hidden_fields(user: Any, codes: list[str]) -> list[str]:
    """Fields the user's role may not see at all (role policy): never exported by them."""
    return [code for code in codes if visibility(user, export_fields.FIELDS[code].pii) == Visibility.MASKED]


def allowed_fields(user: Any) -> list[str]:
    return [code for code in export_fields.FIELDS if not hidden_fields(user, [code])]


def field_reasons(user: Any, codes: list[str]) -> list[str]:
    """Why the fields asked need a second person's approval: sensitive, or seen only on request."""
    reasons = []
    if export_fields.sensitive(codes):
        reasons.append(ApprovalReason.SENSITIVE.value)
    if any(visibility(user, export_fields.FIELDS[code].pii) == Visibility.REVEAL for code in codes):
        reasons.append(ApprovalReason.MASKED.value)
    return reasons


def assess(user: Any, criteria: PeopleFilter, codes: list[str]) -> Assessment:
    people = people_to_export(user, criteria)
    count = people.count()
    recent = recently_exported(user)
    reasons = []
    if count > settings.EXPORT_APPROVAL_THRESHOLD:
        reasons.append(ApprovalReason.SIZE.value)
    elif count and recent + count > settings.EXPORT_APPROVAL_THRESHOLD:
        reasons.append(ApprovalReason.RECENT.value)
    if count and includes_granted_people(user, people):
        reasons.append(ApprovalReason.GRANTED.value)
    reasons += field_reasons(user, codes)
    return Assessment(count, reasons, recent)


def stored_criteria(criteria: PeopleFilter) -> dict[str, Any]:
    """The filter as kept on the request: everything but the search text (sealed apart)."""
    values = asdict(criteria)
    values["query"] = bool(values["query"])
    return values


def criteria_of(export: ExportRequest) -> PeopleFilter:
    values = dict(export.criteria)
    values["query"] = open_query(export.sealed_query, export.requester_id) if values.get("query") else ""
    return PeopleFilter(**values)


def sealed(criteria: PeopleFilter, requester_id: int) -> str:
    return seal_query(criteria.query, requester_id)
