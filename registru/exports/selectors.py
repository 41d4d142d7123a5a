"""The read side of exports: a user's own requests, the approval queue, the register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from registru.accounts.roles import Capability, RecordScope
from registru.exports.models import ExportDownload, ExportRequest, ExportStatus


def own_requests(user: Any) -> QuerySet[ExportRequest]:
    return ExportRequest.objects.filter(requester=user).select_related("decided_by")


def to_approve(user: Any) -> QuerySet[ExportRequest]:
    """Requests waiting for a second person that ``user`` may decide (never their own)."""
    pending = ExportRequest.objects.filter(status=ExportStatus.PENDING)
    return decidable_by(user, pending).select_related("requester")


def decidable_by(user: Any, requests: QuerySet[ExportRequest]) -> QuerySet[ExportRequest]:
    """Of ``requests``, those ``user`` may decide on: with the capability, never their own, and
    only where their record scope covers the requester's work (a manager decides for the
    members of their team, the DPO for everyone): the second person sees what leaves."""
    if not getattr(user, "is_authenticated", False) or not user.can(Capability.APPROVE_EXPORTS):
        return requests.none()
    requests = requests.exclude(requester_id=user.pk)
    if user.record_scope == RecordScope.ALL:
        return requests
    if user.record_scope == RecordScope.TEAM and user.team_id is not None:
        return requests.filter(requester__team_id=user.team_id)
    return requests.none()


def may_decide(user: Any, export: ExportRequest) -> bool:
    return decidable_by(user, ExportRequest.objects.filter(pk=export.pk)).exists()


def visible_requests(user: Any) -> QuerySet[ExportRequest]:
    """What a user may open: their own requests, what they decided or may decide, and
    everything for readers of the register."""
    requests = ExportRequest.objects.select_related("requester", "decided_by")
    if user.can(Capability.READ_EXPORT_REGISTER):
        return requests
    condition = Q(requester=user)
    if user.can(Capability.APPROVE_EXPORTS):
        condition |= Q(decided_by=user) | Q(pk__in=to_approve(user).values("pk"))
    return requests.filter(condition)


@dataclass
class RegisterFilter:
    status: str = ""
    requester_id: int | None = None
    since: date | None = None
    until: date | None = None


def register(criteria: RegisterFilter) -> QuerySet[ExportRequest]:
    """Every request with its decision, file and downloads (readers of the register only)."""
    requests = ExportRequest.objects.select_related("requester", "decided_by").prefetch_related(
        Prefetch("download_log", queryset=ExportDownload.objects.select_related("user"))
    )
    if criteria.status:
        requests = requests.filter(status=criteria.status)
    if criteria.requester_id:
        requests = requests.filter(requester_id=criteria.requester_id)
    if criteria.since:
        requests = requests.filter(created_at__date__gte=criteria.since)
    if criteria.until:
        requests = requests.filter(created_at__date__lte=criteria.until)
    return requests


def requesters() -> QuerySet[Any]:
    from registru.accounts.models import User

    return User.objects.filter(pk__in=ExportRequest.objects.values("requester_id")).order_by("username")
