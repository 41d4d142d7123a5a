"""Changes to staff accounts, teams and API tokens, each with its audit event."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.accounts.models import ApiToken, Team, User
from registru.accounts.roles import Capability, Role
from registru.audit.actions import AuditAction as A
from registru.audit.services import diff, record
from registru.core.services import service

TOKEN_PREFIX = "rgs_"  # noqa: S105 (a recognisable prefix, not a secret)
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
USER_FIELDS = ("username", "first_name", "last_name", "email", "role", "team_id", "is_active")


def token_digest(raw_token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough: no dictionary to slow down.
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


@service
def create_team(name: str, *, actor: Any) -> Team:
    """Add a team."""
    team = Team.objects.create(name=name)
    record(A.TEAM_CREATED, actor=actor, target=team, changes={"name": (None, name)})
    return team


@service
def create_user(
    username: str,
    *,
    actor: Any,
    role: str = Role.AGENT,
    password: str | None = None,
    validate: bool = True,
    **fields: Any,
) -> User:
    """Add a member of staff with a role. Without a password the account cannot log in yet."""
    user = User(username=username, role=Role(role), **fields)
    if password is None:
        user.set_unusable_password()
    else:
        if validate:
            validate_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    changes = {name: (None, getattr(user, name)) for name in USER_FIELDS if getattr(user, name) not in ("", None)}
    record(A.USER_CREATED, actor=actor, target=user, changes=changes)
    return user


@service
def update_user(user: User, data: dict[str, Any], *, actor: Any, reason: str = "") -> User:
    """Change a user's role, team, names or active flag."""
    before = {name: getattr(user, name) for name in USER_FIELDS}
    for name, value in data.items():
        if name not in USER_FIELDS:
            raise ValueError(f"{name} cannot be changed here")
        setattr(user, name, value)
    changes = diff(before, {name: getattr(user, name) for name in USER_FIELDS})
    if changes:
        user.full_clean(exclude=["password"])
        user.save(update_fields=[name.removesuffix("_id") for name in changes])
        record(A.USER_UPDATED, actor=actor, target=user, changes=changes, reason=reason)
    return user


@service
def set_password(user: User, password: str, *, actor: Any, validate: bool = True) -> None:
    """Set a user's password (the trail says it changed, never what to)."""
    if validate:
        validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    record(A.USER_UPDATED, actor=actor, target=user, changes={"password": ("***", "***")})


@service
def create_api_token(user: User, name: str, *, actor: Any, days: int | None = None) -> tuple[ApiToken, str]:
    """Make a personal API token; the raw token is returned once and never stored."""
    if not user.can(Capability.USE_API):
        raise PermissionDenied(_("This role may not use the API."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    lifetime = timedelta(days=days or settings.API_TOKEN_DEFAULT_DAYS)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "token",
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(raw),
        expires_at=timezone.now() + lifetime,
    )
    changes = {"name": (None, token.name), "expires_at": (None, token.expires_at)}
    record(A.TOKEN_CREATED, actor=actor, target=token, changes=changes)
    return token, raw


@service
def revoke_api_token(token: ApiToken, *, actor: Any) -> ApiToken:
    """End a token now. Revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(A.TOKEN_REVOKED, actor=actor, target=token, changes={"revoked_at": (None, token.revoked_at)})
    return token


def touch_token(token: ApiToken) -> None:
    """Note that a token was used, at most every few minutes (not an audited change)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def purge_expired_tokens(*, older_than_days: int = 30) -> int:
    """Delete tokens that expired or were revoked long ago (housekeeping, not personal data)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    expired = ApiToken.objects.filter(expires_at__lt=cutoff) | ApiToken.objects.filter(revoked_at__lt=cutoff)
    deleted, _ = expired.delete()
    return deleted


def purge_expired_sessions() -> int:
    """Delete sessions past their expiry (Django keeps them until someone cleans up)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
