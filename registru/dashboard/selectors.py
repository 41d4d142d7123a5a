"""What is due and what is wrong, as counts. Each count is read through the selector of the page
that deals with it, so it never includes what that page would not show the user (and the
dashboard names nobody: counts and ages only).

Every count is one indexed query, or one over a table that stays small (campaigns, viewing
alerts and blocks): ``tests/test_dashboard.py`` pins how many the page makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from django.utils.timesince import timesince

from registru.accounts.models import ViewAlert
from registru.accounts.models.budget import BudgetLevel
from registru.accounts.roles import Capability
from registru.accounts.selectors import blocks_for
from registru.accounts.services.grants import grants_to_revoke, requests_to_decide
from registru.audit.models import AuditCheckpoint, TrailVerification
from registru.audit.selectors import may_read_trail, trail_status
from registru.audit.services.checkpoints import interval as checkpoint_interval
from registru.campaigns.models import CampaignStatus
from registru.campaigns.selectors import campaigns_for
from registru.exports.selectors import to_approve
from registru.mail.models import MessageStatus
from registru.mail.selectors import outbox_for
from registru.people.choices import PersonStatus
from registru.people.selectors import people_for
from registru.questionnaires.services import reviewable

# A full verification is made every night at 02:05: older than this, a night was missed (the
# worker that runs the schedules is down, or the job failed). Checkpoints are signed every
# AUDIT_CHECKPOINT_MINUTES: an event left unsigned for twice that is a tail that grows unseen.
AUDIT_OVERDUE = timedelta(hours=36)
RECENT_DAYS = 7  # failed mail, viewing alerts, finished campaigns: of the last week
GRANTS_ENDING = timedelta(days=3)
# The worker delivers every minute and right after queueing: a message queued longer ago than
# this is waiting for a worker that does not run. (The dashboard's text names the 15 minutes.)
MAIL_OVERDUE = timedelta(minutes=15)


@dataclass(frozen=True)
class Waiting:
    """How many things wait for the user, and since when the oldest of them."""

    count: int
    oldest: datetime | None

    @property
    def age(self) -> str:
        return timesince(self.oldest, depth=1) if self.oldest else ""


@dataclass(frozen=True)
class TrailState:
    """The last verification and signed checkpoint of the audit trail, judged at ``now``."""

    verification: TrailVerification | None
    checkpoint: AuditCheckpoint | None
    now: datetime
    tail_since: datetime | None = None  # the oldest event no checkpoint covers yet

    @property
    def damaged(self) -> bool:
        return self.verification is not None and not self.verification.intact

    @property
    def live_data_changed(self) -> bool:
        """The last verification found live records changed outside Registru (audit.state)."""
        return self.verification is not None and self.verification.state_changed

    @property
    def verification_overdue(self) -> bool:
        return self.verification is None or self.now - self.verification.finished_at > AUDIT_OVERDUE

    @property
    def checkpoint_overdue(self) -> bool:
        return self.tail_since is not None and self.now - self.tail_since > 2 * checkpoint_interval()

    @property
    def checkpoint_minutes(self) -> int:
        return int(checkpoint_interval().total_seconds() // 60)

    @property
    def wrong(self) -> bool:
        return self.damaged or self.live_data_changed or self.verification_overdue or self.checkpoint_overdue


@dataclass(frozen=True)
class Campaigns:
    running: int
    paused: int
    finished: int  # since the overview's ``since``


@dataclass
class Overview:
    """One user's dashboard. ``None`` (or 0) where their role has nothing to do with an item."""

    since: date  # the first day of the "recent" window (RECENT_DAYS ago, local time)
    trail: TrailState | None = None
    view_alerts: int = 0  # people viewed above the alert limit, since ``since``
    exports: Waiting | None = None
    access: Waiting | None = None
    grants_ending: int = 0  # grants the user can revoke that end before ``grants_until``
    grants_until: datetime | None = None
    blocks: Waiting | None = None
    reviews: Waiting | None = None
    # Restrictions of processing in force (Art. 18): most of its grounds last while something is
    # verified, so each one waits for the DPO to lift it, or to keep it for a reason.
    restrictions: Waiting | None = None
    mail_failed: int = 0  # since ``since``
    mail_overdue: int = 0
    campaigns: Campaigns | None = None

    @property
    def nothing_due(self) -> bool:
        waiting = (self.exports, self.access, self.blocks, self.reviews, self.restrictions)
        counts = (self.view_alerts, self.grants_ending, self.mail_failed, self.mail_overdue)
        return (
            not (self.trail and self.trail.wrong)
            and not any(item and item.count for item in waiting)
            and not any(counts)
            and not (self.campaigns and self.campaigns.paused)
        )


def _waiting(items: QuerySet[Any], since: str) -> Waiting:
    found = items.select_related(None).order_by().aggregate(count=Count("pk"), oldest=Min(since))
    return Waiting(found["count"], found["oldest"])


def overview_for(user: Any, *, now: datetime | None = None) -> Overview:
    """Everything due or wrong that ``user``'s role deals with, as the linked pages show it."""
    now = now or timezone.now()
    since = timezone.localdate(now) - timedelta(days=RECENT_DAYS)
    overview = Overview(since=since)
    if may_read_trail(user):
        _trail(overview, now)
    if user.can(Capability.APPROVE_EXPORTS):
        overview.exports = _waiting(to_approve(user), "created_at")
    if user.can(Capability.DECIDE_ACCESS):
        overview.access = _waiting(requests_to_decide(user), "created_at")
        overview.grants_until = now + GRANTS_ENDING
        overview.grants_ending = grants_to_revoke(user).filter(expires_at__lte=overview.grants_until).count()
    if user.can(Capability.LIFT_VIEW_BLOCKS):
        overview.blocks = _waiting(blocks_for(user), "created_at")
    if user.can(Capability.MANAGE_QUESTIONNAIRES):
        overview.reviews = _waiting(reviewable(user), "response__submitted_at")
    if user.can(Capability.RESTRICT_PROCESSING):
        # ``restricted_since`` is set exactly while restricted: the condition lets the count read
        # the partial index of the restricted people, not every person.
        restricted = people_for(user).filter(status=PersonStatus.RESTRICTED, restricted_since__isnull=False)
        overview.restrictions = _waiting(restricted, "restricted_since")
    if user.can(Capability.READ_OUTBOX):
        _mail(overview, user, now)
    if user.can(Capability.RUN_CAMPAIGNS):
        overview.campaigns = _campaigns(user, start_of(since))
    return overview


def start_of(day: date) -> datetime:
    """Midnight of ``day`` in the current time zone, as the trail's date filter counts."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _trail(overview: Overview, now: datetime) -> None:
    status = trail_status()
    overview.trail = TrailState(status["verification"], status["checkpoint"], now, status["tail_since"])
    # Each alert is one ``security.view_budget_alert`` event: the trail, filtered by that action
    # from ``since``, lists exactly these.
    alerts = ViewAlert.objects.filter(level=BudgetLevel.SOFT, created_at__gte=start_of(overview.since))
    overview.view_alerts = alerts.count()


def _mail(overview: Overview, user: Any, now: datetime) -> None:
    messages = outbox_for(user)
    # Both counts read the (status, next_attempt_at) index. A message fails at its last attempt,
    # which is due at ``next_attempt_at``.
    failed = messages.filter(status=MessageStatus.FAILED, next_attempt_at__gte=start_of(overview.since))
    overview.mail_failed = failed.count()
    overview.mail_overdue = messages.filter(status=MessageStatus.QUEUED, next_attempt_at__lt=now - MAIL_OVERDUE).count()


def _campaigns(user: Any, since: datetime) -> Campaigns:
    counts = (
        campaigns_for(user)
        .order_by()
        .aggregate(
            running=Count("pk", filter=Q(status=CampaignStatus.RUNNING)),
            paused=Count("pk", filter=Q(status=CampaignStatus.PAUSED)),
            finished=Count("pk", filter=Q(status=CampaignStatus.FINISHED, finished_at__gte=since)),
        )
    )
    return Campaigns(**counts)
