"""Device sessions: each login on each device, seen and ended by its user or an administrator.

Only the SHA-256 digest of Django's session key is kept, so the table cannot be used to take
over a session. Ending a session marks its row; the session middleware logs it out on its next
request. Every login, failure, lockout and session end is one security event in the trail.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from ua_parser import parse

from registru.accounts.models import ApiToken, DeviceSession, User
from registru.accounts.models.devices import SessionEnd
from registru.accounts.policy import policy_for
from registru.accounts.services import revoke_api_token
from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.actors import SystemActor
from registru.core.services import service

TOUCH_INTERVAL = timedelta(minutes=1)
USER_AGENT_LENGTH = 300
DEVICE_LENGTH = 120
TIMEOUTS = SystemActor("session timeout")
UNKNOWN_ACCOUNT = SystemActor("unknown account")


def key_digest(session_key: str) -> str:
    """How a session key is stored: its SHA-256 (keys carry enough randomness for no salt)."""
    return hashlib.sha256(session_key.encode("ascii")).hexdigest()


def device_summary(user_agent: str) -> str:
    """ "Chrome 126 on Android 14 (Pixel 8)": enough to recognise a phone, nothing more."""
    if not user_agent:
        return ""
    parsed = parse(user_agent)
    browser = " ".join(filter(None, [_family(parsed.user_agent), getattr(parsed.user_agent, "major", None)]))
    system = " ".join(filter(None, [_family(parsed.os), getattr(parsed.os, "major", None)]))
    device = _family(parsed.device)
    summary = " on ".join(filter(None, [browser, system]))
    if device and device not in {"Other", "Generic Smartphone"} and device not in summary:
        summary = f"{summary} ({device})" if summary else device
    return summary[:DEVICE_LENGTH] or user_agent[:DEVICE_LENGTH]


def _family(part: Any) -> str:
    family = getattr(part, "family", "") or ""
    return "" if family == "Other" else family


@dataclass(frozen=True)
class Client:
    """Where a request comes from, as the session list shows it."""

    user_agent: str
    ip_address: str | None

    @classmethod
    def of(cls, request: HttpRequest) -> Client:
        from axes.helpers import get_client_ip_address

        # The same address that login throttling counts (it honours the proxy settings).
        return cls(request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH], get_client_ip_address(request))


# Writes ----------------------------------------------------------------------------------


def _new_row(user: User, session_key: str, client: Client, *, two_factor: bool) -> DeviceSession:
    now = timezone.now()
    return DeviceSession.objects.create(
        user=user,
        key_digest=key_digest(session_key),
        device=device_summary(client.user_agent),
        user_agent=client.user_agent,
        ip_address=client.ip_address,
        two_factor=two_factor,
        last_seen_at=now,
    )


@service
def start_session(
    user: User, session_key: str, client: Client, *, actor: Any, two_factor: bool, action: A = A.LOGIN_SUCCEEDED
) -> DeviceSession:
    """Record a login on a device (``action`` says how: a password, a code, a recovery code)."""
    session = _new_row(user, session_key, client, two_factor=two_factor)
    changes = {"device": (None, session.device), "ip_address": (None, session.ip_address)}
    record(action, actor=actor, target=user, changes=changes, reason=f"session {session.pk}")
    return session


def adopt_session(user: User, session_key: str, client: Client) -> DeviceSession:
    """A session that has no row (made before this feature, or by a test's ``force_login``)
    gets one on its first request, so that it can be seen and ended like any other."""
    found = DeviceSession.objects.filter(key_digest=key_digest(session_key)).first()
    return found or _new_row(user, session_key, client, two_factor=False)


@service
def end_session(session: DeviceSession, *, actor: Any, reason: SessionEnd) -> bool:
    """End a session (compare-and-set: ending it twice records one event). True if it ended now."""
    now = timezone.now()
    ended_by = actor if isinstance(actor, User) else None
    ended = DeviceSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=now, end_reason=reason, ended_by=ended_by
    )
    if not ended:
        return False
    session.ended_at, session.end_reason, session.ended_by = now, reason, ended_by
    changes = {"end_reason": (None, str(reason))}
    note = f"session {session.pk}: {session.device or '?'}"
    record(A.SESSION_ENDED, actor=actor, target=session.user, changes=changes, reason=note)
    return True


@service
def end_all_sessions(user: User, *, actor: Any, reason: SessionEnd = SessionEnd.BY_ADMINISTRATOR) -> int:
    """End every active session of ``user`` (a lost phone, a departure) and revoke all their API
    tokens, which could be on the same device; one event each. Returns the sessions ended."""
    ended = sum(end_session(session, actor=actor, reason=reason) for session in active_sessions_of(user))
    revoke_all_api_tokens(user, actor=actor)
    return ended


@service
def revoke_all_api_tokens(user: User, *, actor: Any) -> int:
    """Revoke every usable API token of ``user``, each through ``revoke_api_token`` (one event
    each). Returns how many were revoked."""
    tokens = list(ApiToken.objects.usable().filter(user_id=user.pk))
    for token in tokens:
        revoke_api_token(token, actor=actor)
    return len(tokens)


def touch_session(session: DeviceSession) -> None:
    """Note the session is in use, at most once a minute (a timestamp, not an audited change)."""
    now = timezone.now()
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        DeviceSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(last_seen_at=now)
        session.last_seen_at = now


def mark_two_factor(session: DeviceSession) -> None:
    """The session has passed two-factor authentication (after enrolment, in the same session)."""
    DeviceSession.objects.filter(pk=session.pk).update(two_factor=True)
    session.two_factor = True


def timed_out(session: DeviceSession, user: Any) -> SessionEnd | None:
    """Whether the role's idle or absolute timeout has passed for this session of ``user``."""
    policy = policy_for(user)
    now = timezone.now()
    if now - session.created_at >= timedelta(hours=policy.session_hours):
        return SessionEnd.EXPIRED
    if now - session.last_seen_at >= timedelta(minutes=policy.idle_minutes):
        return SessionEnd.IDLE
    return None


@receiver(user_logged_out, dispatch_uid="registru.accounts.services.sessions.logged_out")
def _logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    """Logging out ends the device session (once: a session ended before logs out silently)."""
    key = request.session.session_key if request is not None else None
    if user is None or not key:
        return
    session = DeviceSession.objects.filter(key_digest=key_digest(key), ended_at__isnull=True).first()
    if session is not None:
        end_session(session, actor=user, reason=SessionEnd.LOGOUT)


# Login failures ---------------------------------------------------------------------------


def unknown_name_digest(username: str) -> str:
    """A short keyed digest of a user name that matches no account: attempts on the same
    name can be told apart and counted, but the name (often a mistyped password) is not kept."""
    mac = hmac.new(settings.SECRET_KEY.encode(), username.strip().lower().encode(), hashlib.sha256)
    return mac.hexdigest()[:12]


@service
def record_login_failure(user: User, *, actor: Any, action: A = A.LOGIN_FAILED, reason: str = "") -> None:
    """One event for a refused login of an existing account: a wrong password, a wrong code,
    or an attempt refused because the account is locked out."""
    record(action, actor=actor, target=user, reason=reason)


@service
def record_unknown_login_failure(username: str, attempt: Any, *, actor: Any, action: A = A.LOGIN_FAILED) -> None:
    """A failed login for a user name with no account. ``record`` needs a target row, and there
    is no user: the target is the throttling record (axes' ``AccessAttempt``) the attempt made,
    and the name appears only as a keyed digest."""
    record(action, actor=actor, target=attempt, reason=f"unknown user name #{unknown_name_digest(username)}")


# Reads ------------------------------------------------------------------------------------


def sessions_of(user: Any) -> QuerySet[DeviceSession]:
    """The user's own sessions, newest first (ended ones of the last 30 days too)."""
    since = timezone.now() - timedelta(days=30)
    return DeviceSession.objects.filter(user_id=user.pk).exclude(ended_at__lt=since).order_by("-created_at")


def active_sessions_of(user: Any) -> QuerySet[DeviceSession]:
    return DeviceSession.objects.filter(user_id=user.pk, ended_at__isnull=True).order_by("-created_at")


def active_sessions(user_id: int | None = None) -> QuerySet[DeviceSession]:
    """Every active session (for administrators), optionally of one user."""
    sessions = DeviceSession.objects.filter(ended_at__isnull=True).select_related("user")
    return sessions.filter(user_id=user_id) if user_id else sessions


def current_session_of(request: HttpRequest) -> DeviceSession | None:
    session: DeviceSession | None = getattr(request, "device_session", None)
    return session
