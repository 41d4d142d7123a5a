"""Roles, the record scope each one has, and what else each may do."""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    DPO = "dpo", _("Data protection officer")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Sales agent")
    MARKETING = "marketing", _("Marketing")
    AUDITOR = "auditor", _("Auditor")


class RecordScope(StrEnum):
    """Which people and organizations a role may browse and edit."""

    NONE = "none"  # no free browsing (marketing works through campaigns, auditors read the trail)
    OWN = "own"  # what the user owns, and the people affiliated with it
    TEAM = "team"  # what the user's team owns
    ALL = "all"


class Capability(StrEnum):
    BROWSE_RECORDS = "browse_records"
    ASSIGN_ANY_OWNER = "assign_any_owner"
    ASSIGN_TEAM_OWNER = "assign_team_owner"
    READ_AUDIT_TRAIL = "read_audit_trail"
    MANAGE_USERS = "manage_users"
    USE_API = "use_api"
    ERASE_PEOPLE = "erase_people"
    RESTRICT_PROCESSING = "restrict_processing"  # restrict a person's processing (Art. 18) and lift it
    RUN_CAMPAIGNS = "run_campaigns"  # consent campaigns and marketing mailings (counts, never names)
    MANAGE_PURPOSES = "manage_purposes"  # purposes of processing and their notices
    READ_OUTBOX = "read_outbox"  # the outgoing mail and, outside production, the local mailbox
    EXPORT_CONSENT_PROOF = "export_consent_proof"  # a person's consent proof bundle
    MANAGE_QUESTIONNAIRES = "manage_questionnaires"  # data-update questionnaires and their results
    DECIDE_ACCESS = "decide_access"  # approve or refuse access requests for records in scope
    MANAGE_ACCESS_POLICY = "manage_access_policy"  # role policies, organizations that need requests
    MANAGE_SESSIONS = "manage_sessions"  # see and end every user's sessions ("lost phone")
    LIFT_VIEW_BLOCKS = "lift_view_blocks"  # lift a bulk-view block of a user in scope
    REQUEST_EXPORT = "request_export"  # ask for an export of people
    APPROVE_EXPORTS = "approve_exports"  # the second pair of eyes on someone else's export
    READ_EXPORT_REGISTER = "read_export_register"  # every export request, decision and download


ROLE_SCOPE: dict[str, RecordScope] = {
    Role.ADMINISTRATOR: RecordScope.ALL,
    Role.DPO: RecordScope.ALL,
    Role.MANAGER: RecordScope.TEAM,
    Role.AGENT: RecordScope.OWN,
    Role.MARKETING: RecordScope.NONE,
    Role.AUDITOR: RecordScope.NONE,
}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADMINISTRATOR: frozenset(
        {
            Capability.BROWSE_RECORDS,
            Capability.ASSIGN_ANY_OWNER,
            Capability.MANAGE_USERS,
            Capability.USE_API,
            Capability.READ_OUTBOX,
            Capability.MANAGE_ACCESS_POLICY,
            Capability.MANAGE_SESSIONS,
        }
    ),
    Role.DPO: frozenset(
        {
            Capability.BROWSE_RECORDS,
            Capability.ASSIGN_ANY_OWNER,
            Capability.READ_AUDIT_TRAIL,
            Capability.USE_API,
            Capability.ERASE_PEOPLE,
            Capability.RESTRICT_PROCESSING,
            Capability.MANAGE_PURPOSES,
            Capability.EXPORT_CONSENT_PROOF,
            Capability.MANAGE_QUESTIONNAIRES,
            Capability.DECIDE_ACCESS,
            Capability.LIFT_VIEW_BLOCKS,
            Capability.REQUEST_EXPORT,
            Capability.APPROVE_EXPORTS,
            Capability.READ_EXPORT_REGISTER,
        }
    ),
    Role.MANAGER: frozenset(
        {
            Capability.BROWSE_RECORDS,
            Capability.ASSIGN_TEAM_OWNER,
            Capability.USE_API,
            Capability.RUN_CAMPAIGNS,
            Capability.EXPORT_CONSENT_PROOF,
            Capability.MANAGE_QUESTIONNAIRES,
            Capability.DECIDE_ACCESS,
            Capability.LIFT_VIEW_BLOCKS,
            Capability.REQUEST_EXPORT,
            Capability.APPROVE_EXPORTS,
        }
    ),
    Role.AGENT: frozenset({Capability.BROWSE_RECORDS, Capability.USE_API, Capability.REQUEST_EXPORT}),
    Role.MARKETING: frozenset({Capability.USE_API, Capability.RUN_CAMPAIGNS}),
    Role.AUDITOR: frozenset({Capability.READ_AUDIT_TRAIL}),
}
