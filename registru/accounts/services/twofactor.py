"""Two-factor authentication: a TOTP app on the user's phone, and ten single-use recovery codes.

django-otp keeps the devices and does the arithmetic: a code is accepted once (a time step
already used is refused), and wrong codes slow the device down exponentially. Login throttling
(axes) counts wrong codes as failed logins too, so the code step locks out like the password.
"""

from __future__ import annotations

import math
import re
from typing import Any

import segno
from django.utils import timezone
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from registru.accounts.models import User
from registru.accounts.policy import policy_for
from registru.accounts.services.sessions import revoke_all_api_tokens
from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.services import service

RECOVERY_CODES = 10
TOTP_NAME = "Registru"
RECOVERY_NAME = "recovery codes"
_TOTP_SHAPE = re.compile(r"\d{6}")


def normalized(code: str) -> str:
    """Codes as people type them: spaces and dashes dropped, letters in lower case."""
    return re.sub(r"[\s-]", "", code or "").lower()


def totp_device(user: Any, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=confirmed).first()


def recovery_device(user: Any) -> StaticDevice | None:
    return StaticDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def has_two_factor(user: Any) -> bool:
    return user.is_authenticated and totp_device(user) is not None


def required_for(user: Any) -> bool:
    return bool(policy_for(user).require_two_factor)


def recovery_codes_left(user: Any) -> int:
    device = recovery_device(user)
    return device.token_set.count() if device else 0


def qr_svg(device: TOTPDevice) -> str:
    """The ``otpauth://`` link of the device as a QR code, an SVG data URI (no inline style)."""
    return str(segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2))


def secret_text(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app by hand."""
    from base64 import b32encode

    key = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


class CodeThrottledError(Exception):
    """Wrong codes have slowed the device down: the code was not checked, and may be right.
    ``seconds``: how long until the device checks codes again."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"the device checks codes again in {seconds} s")
        self.seconds = seconds


def _ensure_checkable(device: Device) -> None:
    # django-otp refuses every code while the device is slowed down and answers "no" as for a
    # wrong one; asking first lets the page say why, instead of calling a right code wrong.
    allowed, data = device.verify_is_allowed()
    until = (data or {}).get("locked_until")
    if not allowed and until is not None:
        raise CodeThrottledError(max(1, math.ceil((until - timezone.now()).total_seconds())))


# Writes ----------------------------------------------------------------------------------


@service
def begin_enrolment(user: User, *, actor: Any) -> TOTPDevice:
    """A new (unconfirmed) TOTP key to scan; asking again keeps the same key until confirmed."""
    pending = totp_device(user, confirmed=False)
    if pending is not None:
        return pending
    return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def _issue_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user_id=user.pk).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@service
def confirm_enrolment(user: User, code: str, *, actor: Any) -> list[str] | None:
    """Turn two-factor on when ``code`` matches the scanned key; returns the recovery codes
    (shown once), or None for a wrong code (the wrong try still counts for throttling).
    Raises ``CodeThrottledError`` when wrong codes have slowed the key down (code not checked)."""
    device = totp_device(user, confirmed=False)
    if device is None:
        return None
    _ensure_checkable(device)
    if verify_token(user, device.persistent_id, normalized(code)) is None:
        return None
    TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _issue_recovery_codes(user)
    record(A.TWO_FACTOR_ENABLED, actor=actor, target=user, changes={"two_factor": (False, True)})
    return codes


@service
def regenerate_recovery_codes(user: User, *, actor: Any) -> list[str]:
    """New recovery codes; the old ones stop working at once."""
    codes = _issue_recovery_codes(user)
    changes = {"recovery_codes": ("***", "***")}
    record(A.TWO_FACTOR_ENABLED, actor=actor, target=user, changes=changes, reason="new recovery codes")
    return codes


def _remove_devices(user: User) -> None:
    TOTPDevice.objects.filter(user_id=user.pk).delete()
    StaticDevice.objects.filter(user_id=user.pk).delete()


@service
def disable_two_factor(user: User, code: str, *, actor: Any) -> bool:
    """Turn two-factor off, on a current code from the app (or a recovery code). Raises
    ``CodeThrottledError`` as ``check_code`` does."""
    if check_code(user, code) is None:
        return False
    _remove_devices(user)
    record(A.TWO_FACTOR_DISABLED, actor=actor, target=user, changes={"two_factor": (True, False)})
    return True


@service
def reset_two_factor(user: User, *, actor: Any, reason: str = "") -> None:
    """An administrator turns a user's two-factor off (lost phone, no recovery code left);
    the user enrols again at the next login if the role requires it. Their API tokens are
    revoked too: a lost phone may hold one, and none should outlive the second factor."""
    _remove_devices(user)
    record(A.TWO_FACTOR_DISABLED, actor=actor, target=user, changes={"two_factor": (True, False)}, reason=reason)
    revoke_all_api_tokens(user, actor=actor)


def check_code(user: Any, code: str) -> Device | None:
    """The device that accepts ``code`` (an app code, or a recovery code, which is used up),
    or None. Raises ``CodeThrottledError`` when wrong codes have slowed that device down: the
    code was not checked. Not a service: django-otp writes only its counters, and a wrong try
    must count even when the caller's transaction is rolled back."""
    code = normalized(code)
    device: Device | None = totp_device(user) if _TOTP_SHAPE.fullmatch(code) else recovery_device(user)
    if device is None or not code:
        return None
    _ensure_checkable(device)
    return verify_token(user, device.persistent_id, code)


def is_recovery(device: Device) -> bool:
    return isinstance(device, StaticDevice)
