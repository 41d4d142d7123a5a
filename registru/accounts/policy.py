"""The role policy in force for a user: masking, view budgets, session timeouts, 2FA.

Policies are read on every request that shows people, so each process keeps them for a few
seconds; a change made on the policy page is in force everywhere within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import time
from copy import copy
from typing import Any

from registru.accounts.models import RolePolicy
from registru.accounts.models.policy import DEFAULT_POLICIES, Visibility
from registru.accounts.roles import Role
from registru.core.pii import PIIClass

CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, RolePolicy]] = {}


def policy_for_role(role: str) -> RolePolicy:
    cached = _cache.get(role)
    now = time.monotonic()
    if cached and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    policy = RolePolicy.objects.filter(role=role).first() or copy(DEFAULT_POLICIES[role])
    _cache[role] = (now, policy)
    return policy


def policy_for(user: Any) -> RolePolicy:
    return policy_for_role(user.role)


def forget_policies() -> None:
    """Drop the cached policies (after a change, and between tests)."""
    _cache.clear()


def visibility(user: Any, pii_class: PIIClass) -> Visibility:
    """How ``user`` sees fields of ``pii_class`` on a detail page or an API detail answer."""
    policy = policy_for(user)
    if pii_class is PIIClass.CONTACT:
        return Visibility(policy.contact)
    if pii_class is PIIClass.SENSITIVE:
        return Visibility(policy.sensitive)
    return Visibility.CLEAR


def all_policies() -> list[RolePolicy]:
    return [policy_for_role(role) for role in Role.values]
