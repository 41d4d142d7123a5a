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
        }
    ),
    Role.DPO: frozenset(
        {
            Capability.BROWSE_RECORDS,
            Capability.ASSIGN_ANY_OWNER,
            Capability.READ_AUDIT_TRAIL,
            Capability.USE_API,
            Capability.ERASE_PEOPLE,
        }
    ),
    Role.MANAGER: frozenset({Capability.BROWSE_RECORDS, Capability.ASSIGN_TEAM_OWNER, Capability.USE_API}),
    Role.AGENT: frozenset({Capability.BROWSE_RECORDS, Capability.USE_API}),
    Role.MARKETING: frozenset({Capability.USE_API}),
    Role.AUDITOR: frozenset({Capability.READ_AUDIT_TRAIL}),
}
