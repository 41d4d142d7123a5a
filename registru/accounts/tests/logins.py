"""Helpers for the login tests: a password login through the real form, TOTP codes, events."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from registru.accounts.models import User
from registru.accounts.services import twofactor
from registru.audit.models import AuditEvent
from registru.testing.factories import PASSWORD

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)
SECURITY = "security."


def phone() -> Client:
    return Client(headers={"User-Agent": PHONE})


def password_login(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the user's app shows now (or ``steps_ahead`` time steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(user: User) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor on for ``user`` as the enrolment page does; the code's step is used up."""
    device = twofactor.begin_enrolment(user, actor=user)
    codes = twofactor.confirm_enrolment(user, code_for(device), actor=user)
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def later(device: TOTPDevice) -> None:
    """As if the next time step had come: the code of the current step is usable once more."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
    device.refresh_from_db()


def at_the_code_step(user: User) -> tuple[Client, TOTPDevice]:
    """``user`` with two-factor on, signed in with the password on a phone: the next page asks
    for the code. The enrolment's step is over, so the app's current code is usable."""
    device, _codes = enrol(user)
    later(device)
    client = phone()
    password_login(client, user.username)
    return client, device


def security_events(since: int = 0) -> list[str]:
    return list(
        AuditEvent.objects.filter(id__gt=since, action__startswith=SECURITY)
        .order_by("id")
        .values_list("action", flat=True)
    )


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session
