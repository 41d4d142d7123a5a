"""Changing a role's access policy (administrators, on the access policy page)."""

from __future__ import annotations

from typing import Any

from registru.accounts.models import RolePolicy
from registru.accounts.models.policy import DEFAULT_POLICIES
from registru.accounts.policy import forget_policies
from registru.audit.actions import AuditAction
from registru.audit.services import record
from registru.core.services import service

POLICY_FIELDS = (
    "contact", "sensitive", "views_per_hour_soft", "views_per_hour_hard", "views_per_day_soft",
    "views_per_day_hard", "idle_minutes", "session_hours", "require_two_factor",
)  # fmt: skip


@service
def save_role_policy(role: str, values: dict[str, Any], *, actor: Any, reason: str = "") -> RolePolicy:
    """Change a role's policy; the event lists each changed setting with its old and new value."""
    defaults = DEFAULT_POLICIES[role]
    stored, _created = RolePolicy.objects.select_for_update().get_or_create(
        role=role, defaults={name: getattr(defaults, name) for name in POLICY_FIELDS}
    )
    changes = {
        name: (getattr(stored, name), values[name])
        for name in POLICY_FIELDS
        if name in values and getattr(stored, name) != values[name]
    }
    for name, (_old, new) in changes.items():
        setattr(stored, name, new)
    if changes:
        stored.save(update_fields=[*changes, "updated_at"])
        record(AuditAction.POLICY_CHANGED, actor=actor, target=stored, changes=changes, reason=reason)
    forget_policies()
    return stored
