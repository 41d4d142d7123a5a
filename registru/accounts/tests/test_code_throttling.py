"""Wrong codes slow a device down (django-otp): a code tried too soon is not checked, and the
page says so, with the wait; it never calls such a code wrong, nor a first wrong code "too many".
"""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from registru.accounts.auth_views import throttled_message
from registru.accounts.services import twofactor
from registru.accounts.tests.logins import at_the_code_step, code_for, later, logged_in

pytestmark = pytest.mark.django_db

NOT_CHECKED = "Too many wrong codes"
NO_MATCH = "does not match"


@pytest.fixture
def slow_devices(settings) -> None:
    # The first wrong code makes the next try wait 30 seconds: far longer than a test takes.
    settings.OTP_TOTP_THROTTLE_FACTOR = 30
    settings.OTP_STATIC_THROTTLE_FACTOR = 30


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"


def test_enrolment_says_the_right_code_was_not_checked_after_wrong_ones(cast, client_for, slow_devices) -> None:
    client = client_for(cast.andrei)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user=cast.andrei, confirmed=False)
    first = client.post("/account/two-factor/", {"code": wrong_code(device)}).content.decode()
    assert NO_MATCH in first
    assert NOT_CHECKED not in first
    answer = client.post("/account/two-factor/", {"code": code_for(device)}).content.decode()
    assert NOT_CHECKED in answer
    assert "seconds" in answer
    assert NO_MATCH not in answer
    assert not twofactor.has_two_factor(cast.andrei)


def test_the_first_wrong_code_at_login_is_wrong_not_too_many(cast) -> None:
    client, device = at_the_code_step(cast.alice)
    answer = client.post("/login/code/", {"code": wrong_code(device)}).content.decode()
    assert "Wrong code" in answer
    assert NOT_CHECKED not in answer


def test_a_code_tried_too_soon_at_login_is_not_called_wrong(cast, slow_devices) -> None:
    client, device = at_the_code_step(cast.alice)
    client.post("/login/code/", {"code": wrong_code(device)})
    answer = client.post("/login/code/", {"code": code_for(device)}).content.decode()
    assert NOT_CHECKED in answer
    assert "Wrong code" not in answer
    assert not logged_in(client)


def test_turning_two_factor_off_too_soon_says_to_wait(cast, slow_devices) -> None:
    client, device = at_the_code_step(cast.alice)
    client.post("/login/code/", {"code": code_for(device)})
    later(device)
    client.post("/account/two-factor/off/", {"code": wrong_code(device)})
    answer = client.post("/account/two-factor/off/", {"code": code_for(device)})
    assert answer.status_code == 400
    assert NOT_CHECKED in answer.content.decode()
    assert NO_MATCH not in answer.content.decode()
    assert twofactor.has_two_factor(cast.alice)


@pytest.mark.parametrize(
    ("seconds", "words"), [(1, "Wait 1 second,"), (2, "Wait 2 seconds,"), (21, "Wait 21 seconds,")]
)
def test_the_wait_is_said_in_the_right_number(seconds: int, words: str) -> None:
    assert words in throttled_message(seconds)
