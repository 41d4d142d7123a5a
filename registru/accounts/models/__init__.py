"""Accounts models: users and teams, role policies, devices, access grants, view budgets."""

from registru.accounts.models.budget import ViewAlert, ViewBlock, ViewedPerson
from registru.accounts.models.devices import DeviceSession
from registru.accounts.models.grants import AccessRequest
from registru.accounts.models.policy import RolePolicy, Visibility
from registru.accounts.models.users import ApiToken, ApiTokenQuerySet, Team, User

__all__ = [
    "AccessRequest",
    "ApiToken",
    "ApiTokenQuerySet",
    "DeviceSession",
    "RolePolicy",
    "Team",
    "User",
    "ViewAlert",
    "ViewBlock",
    "ViewedPerson",
    "Visibility",
]
