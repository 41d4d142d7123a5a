"""Which organizations need an access request (key accounts): set by administrators only."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.services import service
from registru.people.models import Organization
from registru.people.services.common import _compare_and_set, _is_user, ensure_in_scope


@service
def set_access_procedure(organization: Organization, *, required: bool, actor: Any, reason: str) -> Organization:
    """Make ``organization`` a key account (``required``) or an ordinary one again.

    A key account is out of team scope: managers and team members other than its owner need
    an approved access request to see it and the people who work there.
    """
    if _is_user(actor) and not actor.can(Capability.MANAGE_ACCESS_POLICY):
        raise PermissionDenied(_("Only administrators decide which organizations need access requests."))
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why.")]})
    ensure_in_scope(actor, organization)
    if organization.access_by_request == required:
        return organization
    _compare_and_set(organization, {"access_by_request": required}, None)
    changes = {"access_by_request": (not required, required)}
    record(A.ACCESS_PROCEDURE_SET, actor=actor, target=organization, changes=changes, reason=reason.strip())
    return organization
