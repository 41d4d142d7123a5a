"""What the page frame needs to know about the user: which sections to offer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from registru.accounts.roles import Capability
from registru.dashboard.access import has_dashboard


def capabilities(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "may_browse_records": user.can(Capability.BROWSE_RECORDS),
        "may_read_trail": user.can(Capability.READ_AUDIT_TRAIL),
        "may_erase": user.can(Capability.ERASE_PEOPLE),
        "may_restrict": user.can(Capability.RESTRICT_PROCESSING),
        "may_run_campaigns": user.can(Capability.RUN_CAMPAIGNS),
        "may_manage_purposes": user.can(Capability.MANAGE_PURPOSES),
        "may_read_outbox": user.can(Capability.READ_OUTBOX),
        "may_manage_questionnaires": user.can(Capability.MANAGE_QUESTIONNAIRES),
        "may_request_export": user.can(Capability.REQUEST_EXPORT),
        "may_approve_exports": user.can(Capability.APPROVE_EXPORTS),
        "may_read_export_register": user.can(Capability.READ_EXPORT_REGISTER),
        "may_manage_sessions": user.can(Capability.MANAGE_SESSIONS),
        "may_decide_access": user.can(Capability.DECIDE_ACCESS),
        "may_manage_access_policy": user.can(Capability.MANAGE_ACCESS_POLICY),
        "may_lift_view_blocks": user.can(Capability.LIFT_VIEW_BLOCKS),
        "has_dashboard": has_dashboard(user),
    }


def organization(request: HttpRequest) -> dict[str, Any]:
    """The name people see on the public pages and in messages: who is asking."""
    return {"organization_name": settings.ORGANIZATION_NAME}
