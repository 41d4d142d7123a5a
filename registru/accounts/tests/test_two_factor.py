"""TOTP two-factor authentication: enrolment, the code step, replays, recovery codes, mandatory roles."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from registru.accounts.models import DeviceSession, RolePolicy
from registru.accounts.models.policy import DEFAULT_POLICIES
from registru.accounts.policy import forget_policies
from registru.accounts.roles import Role
from registru.accounts.services import twofactor
from registru.accounts.tests.logins import (
    at_the_code_step,
    code_for,
    enrol,
    last_event_id,
    later,
    logged_in,
    password_login,
    phone,
    security_events,
)
from registru.audit.actions import AuditAction as A

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_code_delays(settings) -> None:
    # django-otp makes each wrong code double the wait before the next; the tests of throttling
    # turn it back on, the others try codes back to back.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def agents_need_two_factor(db):
    policy = DEFAULT_POLICIES[Role.AGENT]
    fields = {
        f.name: getattr(policy, f.name) for f in RolePolicy._meta.concrete_fields if f.name not in {"id", "updated_at"}
    }
    RolePolicy.objects.create(**fields | {"require_two_factor": True})
    forget_policies()
    yield
    forget_policies()


def test_it_enrols_with_a_code_from_the_app_and_shows_ten_recovery_codes_once(cast, client_for) -> None:
    client = client_for(cast.alice)
    page = client.get("/account/two-factor/").content.decode()
    assert 'src="data:image/svg+xml' in page
    device = TOTPDevice.objects.get(user=cast.alice, confirmed=False)
    before = last_event_id()
    done = client.post("/account/two-factor/", {"code": code_for(device)}).content.decode()
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    codes = list(StaticToken.objects.filter(device__user=cast.alice).values_list("token", flat=True))
    assert len(codes) == 10
    assert all(code in done for code in codes)
    assert not any(code in client.get("/account/two-factor/").content.decode() for code in codes)
    assert security_events(before) == [A.TWO_FACTOR_ENABLED]


def test_it_refuses_enrolment_with_a_wrong_code(cast, client_for) -> None:
    client = client_for(cast.alice)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user=cast.alice)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    client.post("/account/two-factor/", {"code": wrong})
    assert not twofactor.has_two_factor(cast.alice)
    assert not StaticToken.objects.exists()


def test_login_needs_the_code_after_the_password(cast) -> None:
    device, _codes = enrol(cast.alice)
    later(device)
    client = phone()
    response = password_login(client, "alice")
    assert response["Location"] == "/login/code/"
    assert not logged_in(client)
    assert client.get("/people/")["Location"].startswith("/login/")
    before = last_event_id()
    assert client.post("/login/code/", {"code": code_for(device)})["Location"] == "/"
    assert logged_in(client)
    assert DeviceSession.objects.get(user=cast.alice).two_factor
    assert security_events(before) == [A.LOGIN_SUCCEEDED]


def test_it_refuses_and_records_a_wrong_code(cast) -> None:
    device, _codes = enrol(cast.alice)
    client = phone()
    password_login(client, "alice")
    before = last_event_id()
    wrong = f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"
    response = client.post("/login/code/", {"code": wrong})
    assert response.status_code == 200
    assert "Wrong code" in response.content.decode()
    assert not logged_in(client)
    assert security_events(before) == [A.TWO_FACTOR_FAILED]
    assert not DeviceSession.objects.filter(user=cast.alice).exists()


def test_it_refuses_a_replayed_code(cast) -> None:
    device, _codes = enrol(cast.alice)
    later(device)
    code = code_for(device)
    first = phone()
    password_login(first, "alice")
    first.post("/login/code/", {"code": code})
    assert logged_in(first)
    thief = phone()
    password_login(thief, "alice")
    response = thief.post("/login/code/", {"code": code})
    assert "Wrong code" in response.content.decode()
    assert not logged_in(thief)


def test_the_code_step_cannot_be_skipped_or_entered_without_the_password(cast) -> None:
    device, _codes = enrol(cast.alice)
    later(device)
    client = phone()
    assert client.post("/login/code/", {"code": code_for(device)})["Location"] == "/login/"
    assert not logged_in(client)


def test_a_recovery_code_works_once_and_not_twice(cast) -> None:
    _device, codes = enrol(cast.alice)
    client = phone()
    password_login(client, "alice")
    before = last_event_id()
    client.post("/login/code/", {"code": codes[0].upper()})
    assert logged_in(client)
    assert security_events(before) == [A.RECOVERY_CODE_USED]
    client.post("/logout/")
    password_login(client, "alice")
    response = client.post("/login/code/", {"code": codes[0]})
    assert "Wrong code" in response.content.decode()
    assert not logged_in(client)
    assert twofactor.recovery_codes_left(cast.alice) == 9


def test_wrong_codes_slow_the_device_down(cast, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 30
    client, device = at_the_code_step(cast.alice)
    client.post("/login/code/", {"code": "000000" if code_for(device) != "000000" else "111111"})
    response = client.post("/login/code/", {"code": code_for(device)})
    assert "Too many wrong codes: this one was not checked. Wait" in response.content.decode()
    assert not logged_in(client)


def test_wrong_codes_lock_the_account_out_like_passwords(cast) -> None:
    client, device = at_the_code_step(cast.alice)
    wrong = f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"
    before = last_event_id()
    answers = [client.post("/login/code/", {"code": wrong}) for _ in range(5)]
    assert answers[-1].status_code == 429
    assert "Too many failed logins" in answers[-1].content.decode()
    assert security_events(before) == [A.TWO_FACTOR_FAILED] * 4 + [A.LOGIN_LOCKED_OUT]
    assert password_login(client, "alice").status_code == 429
    assert client.post("/login/code/", {"code": code_for(device)})["Location"] == "/login/"
    assert not logged_in(client)


def test_a_mandatory_role_goes_to_enrolment_from_any_page_and_not_to_the_api(cast, agents_need_two_factor) -> None:
    client = phone()
    assert password_login(client, "alice")["Location"] == "/account/two-factor/"
    for url in ("/people/", "/account/", f"/people/{cast.alice_person.pk}/", "/account/sessions/"):
        assert client.get(url)["Location"] == "/account/two-factor/", url
    assert client.get("/api/v1/people").status_code == 401
    assert client.get("/account/two-factor/").status_code == 200
    device = TOTPDevice.objects.get(user=cast.alice)
    client.post("/account/two-factor/", {"code": code_for(device)})
    assert client.get("/people/").status_code == 200
    assert client.get("/api/v1/people").status_code == 200
    assert DeviceSession.objects.get(user=cast.alice).two_factor


def test_a_mandatory_role_cannot_turn_two_factor_off(cast, agents_need_two_factor) -> None:
    client, device = at_the_code_step(cast.alice)
    client.post("/login/code/", {"code": code_for(device)})
    later(device)
    client.post("/account/two-factor/off/", {"code": code_for(device)})
    assert twofactor.has_two_factor(cast.alice)


def test_turning_two_factor_off_needs_a_current_code(cast) -> None:
    client, device = at_the_code_step(cast.alice)
    client.post("/login/code/", {"code": code_for(device, steps_ahead=1)})
    before = last_event_id()
    assert client.post("/account/two-factor/off/", {"code": "12345"}).status_code == 400
    assert twofactor.has_two_factor(cast.alice)
    client.post("/account/two-factor/off/", {"code": code_for(device)})
    assert twofactor.has_two_factor(cast.alice)  # the step before the one used at login: too old
    assert security_events(before) == [A.TWO_FACTOR_FAILED, A.TWO_FACTOR_FAILED]


def test_turning_two_factor_off_with_a_current_code(cast) -> None:
    client, device = at_the_code_step(cast.alice)
    client.post("/login/code/", {"code": code_for(device)})
    later(device)
    before = last_event_id()
    client.post("/account/two-factor/off/", {"code": code_for(device)})
    assert not twofactor.has_two_factor(cast.alice)
    assert security_events(before) == [A.TWO_FACTOR_DISABLED]


def test_new_recovery_codes_replace_the_old_ones(cast) -> None:
    device, codes = enrol(cast.alice)
    later(device)
    client = phone()
    password_login(client, "alice")
    client.post("/login/code/", {"code": code_for(device)})
    page = client.post("/account/two-factor/recovery-codes/").content.decode()
    fresh = list(StaticToken.objects.filter(device__user=cast.alice).values_list("token", flat=True))
    assert len(fresh) == 10
    assert all(code in page for code in fresh)
    assert not set(codes) & set(fresh)


def test_an_administrator_resets_a_lost_phones_two_factor(cast, client_for) -> None:
    enrol(cast.carol)
    client_for(cast.admin).post(f"/account/users/{cast.carol.pk}/reset-two-factor/")
    assert not twofactor.has_two_factor(cast.carol)
    assert client_for(cast.bob).post(f"/account/users/{cast.alice.pk}/reset-two-factor/").status_code == 403
