"""Who has a dashboard: decided by the role's capabilities alone, so that the page frame can
offer the link without a query (docs/dashboard.md)."""

from __future__ import annotations

from typing import Any

from registru.accounts.roles import Capability

# The work that has items on the dashboard. A role with none of these (the sales agent) has no
# dashboard: its work is its own records, and what waits for an owner is on its Access and
# Reviews pages.
OVERSIGHT = (
    Capability.READ_AUDIT_TRAIL,
    Capability.APPROVE_EXPORTS,
    Capability.DECIDE_ACCESS,
    Capability.LIFT_VIEW_BLOCKS,
    Capability.MANAGE_QUESTIONNAIRES,
    Capability.READ_OUTBOX,
    Capability.RUN_CAMPAIGNS,
)


def has_dashboard(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and any(user.can(capability) for capability in OVERSIGHT)


def starts_at_dashboard(user: Any) -> bool:
    """The trail's readers (the DPO, auditors) and roles that do not browse records start their
    day at the dashboard; the others at their records, with a link to it."""
    if not has_dashboard(user):
        return False
    return user.can(Capability.READ_AUDIT_TRAIL) or not user.can(Capability.BROWSE_RECORDS)
