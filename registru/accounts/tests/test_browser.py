"""Sessions and two-factor in Debian's chromium: a remote end, an enrolment and a login with a code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from registru.accounts.models import DeviceSession
from registru.accounts.models.devices import SessionEnd
from registru.accounts.services import sessions
from registru.accounts.tests.logins import code_for, later
from registru.testing.browser import on_desktop
from registru.testing.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_session_ended_by_an_administrator_is_logged_out_on_its_next_click(
    cast: Any, browser: Any, site: Any
) -> None:
    page = on_desktop(browser, site, "carol")
    session = DeviceSession.objects.get(user=cast.carol, ended_at__isnull=True)
    assert sessions.end_session(session, actor=cast.admin, reason=SessionEnd.BY_ADMINISTRATOR)
    page.get_by_role("link", name="Organizations").click()
    page.wait_for_url(re.compile(r".*/login/$"))
    assert "ended by an administrator" in page.locator("#session-ended").inner_text()
    page.goto(page.base + "/people/")
    assert "/login/" in page.url
    assert page.errors == []


def test_two_factor_enrolment_and_then_login_with_the_code(cast: Any, browser: Any, site: Any) -> None:
    page = on_desktop(browser, site, "alice")
    page.goto(page.base + "/account/two-factor/")
    qr = page.locator("#totp-qr")
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle())
    device = TOTPDevice.objects.get(user=cast.alice, confirmed=False)
    page.fill("#id_code", code_for(device))
    page.get_by_role("button", name="Confirm").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.locator("#logout-form button").click()
    page.wait_for_url(re.compile(r".*/login/"))

    later(TOTPDevice.objects.get(pk=device.pk))
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/login/code/$"))
    page.fill("#id_code", code_for(TOTPDevice.objects.get(pk=device.pk)))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/people/$"))
    assert DeviceSession.objects.filter(user=cast.alice, ended_at__isnull=True).get().two_factor
    assert page.errors == []
