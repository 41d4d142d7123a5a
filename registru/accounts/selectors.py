"""Reads of accounts data, always on behalf of a user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from registru.accounts.models import ApiToken, User, ViewBlock
from registru.accounts.roles import Capability, RecordScope


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk)


def assignable_owners(user: Any) -> QuerySet[User]:
    """Users to whom ``user`` may give records: anyone, the team, or only themselves."""
    active = User.objects.filter(is_active=True)
    if user.can(Capability.ASSIGN_ANY_OWNER):
        return active.exclude(role__in=["auditor", "marketing"])
    if user.can(Capability.ASSIGN_TEAM_OWNER) and user.team_id:
        return active.filter(team_id=user.team_id)
    return active.filter(pk=user.pk)


def owner_filter_choices(user: Any) -> QuerySet[User]:
    """Owners offered in list filters: those whose records the user can see."""
    if user.record_scope is RecordScope.ALL:
        return User.objects.filter(is_active=True)
    if user.record_scope is RecordScope.TEAM and user.team_id:
        return User.objects.filter(team_id=user.team_id)
    return User.objects.filter(pk=user.pk)


def blocks_for(user: Any, *, lifted: bool = False) -> QuerySet[ViewBlock]:
    """Viewing blocks the user may lift: their team's (a manager), everyone's (the DPO).

    Nobody lifts their own block.
    """
    blocks = ViewBlock.objects.select_related("user", "alert", "lifted_by").exclude(user_id=user.pk)
    blocks = blocks.filter(lifted_at__isnull=not lifted)
    if not user.can(Capability.LIFT_VIEW_BLOCKS):
        return blocks.none()
    if user.record_scope is RecordScope.ALL:
        return blocks
    if user.team_id:
        return blocks.filter(user__team_id=user.team_id)
    return blocks.none()
