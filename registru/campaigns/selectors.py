"""What the campaign pages show: lists, and progress per wave. Counts only, never names:
marketing users run campaigns without browsing people."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from registru.accounts.roles import Capability
from registru.campaigns.audience import Audience, select
from registru.campaigns.models import Campaign, InvitationStatus, Mailing, Outcome
from registru.consent.models import Purpose
from registru.mail.models import MessageStatus, OutboundMessage

S = InvitationStatus
COUNTS = {
    "invited": Q(),
    "waiting": Q(status=S.PENDING),
    "queued": Q(status=S.QUEUED),
    "sent": Q(sent_at__isnull=False),
    "bounced": Q(status=S.BOUNCED),
    "blocked": Q(status=S.BLOCKED),
    "opened": Q(opened_at__isnull=False),
    "granted": Q(outcome=Outcome.GRANTED),
    "refused": Q(outcome=Outcome.REFUSED),
    "expired": Q(status=S.EXPIRED),
    "cancelled": Q(status=S.CANCELLED),
}


def may_run_campaigns(user: Any) -> bool:
    return bool(user.is_authenticated and user.can(Capability.RUN_CAMPAIGNS))


def campaigns_for(user: Any) -> QuerySet[Campaign]:
    if not may_run_campaigns(user):
        return Campaign.objects.none()
    return Campaign.objects.prefetch_related("purposes").order_by("-created_at", "-id")


@dataclass
class WaveProgress:
    wave: int | None
    counts: dict[str, int] = field(default_factory=dict)


def _aggregates() -> dict[str, Count]:
    return {name: Count("id", filter=condition) for name, condition in COUNTS.items()}


def progress(campaign: Campaign) -> tuple[WaveProgress, list[WaveProgress]]:
    """The totals and one row per wave (one grouped query each)."""
    invitations = campaign.invitations.all()
    total = WaveProgress(None, invitations.aggregate(**_aggregates()))
    waves = [
        WaveProgress(row["wave"], {name: row[name] for name in COUNTS})  # type: ignore[literal-required]
        for row in invitations.values("wave").annotate(**_aggregates()).order_by("wave")
    ]
    return total, waves


def audience_size(audience: Audience, purposes: list[Purpose], channels: list[str]) -> int:
    return select(audience, purposes, channels).count()


def mailings_for(user: Any) -> QuerySet[Mailing]:
    if not may_run_campaigns(user):
        return Mailing.objects.none()
    return Mailing.objects.select_related("purpose").order_by("-created_at", "-id")


def mailing_delivery(mailing: Mailing) -> dict[str, int]:
    rows = OutboundMessage.objects.filter(mailing_id=mailing.pk).values("status").annotate(n=Count("id"))
    counts = {status.value: 0 for status in MessageStatus}
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts
