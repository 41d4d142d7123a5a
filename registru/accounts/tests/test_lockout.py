"""Login throttling (django-axes) with a clear message, and one security event per attempt."""

from __future__ import annotations

import pytest

from registru.accounts.tests.logins import last_event_id, logged_in, password_login, phone, security_events
from registru.audit.actions import AuditAction as A
from registru.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_five_wrong_passwords_lock_the_account_out_with_a_message_and_an_event(cast) -> None:
    client = phone()
    before = last_event_id()
    answers = [password_login(client, "alice", "wrong password") for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200] * 4 + [429]
    page = answers[-1].content.decode()
    assert "Too many failed logins" in page
    assert "You can try again after" in page
    assert security_events(before) == [A.LOGIN_FAILED] * 4 + [A.LOGIN_LOCKED_OUT]


def test_the_right_password_still_fails_while_locked_out(cast) -> None:
    client = phone()
    for _ in range(5):
        password_login(client, "alice", "wrong password")
    before = last_event_id()
    answer = password_login(client, "alice")
    assert answer.status_code == 429
    assert not logged_in(client)
    assert client.get("/people/")["Location"].startswith("/login/")
    assert security_events(before) == [A.LOGIN_LOCKED_OUT]


def test_a_lockout_is_per_account_and_address(cast) -> None:
    client = phone()
    for _ in range(5):
        password_login(client, "alice", "wrong password")
    assert password_login(phone(), "bob").status_code == 302


def test_every_login_failure_and_session_end_is_exactly_one_event(cast) -> None:
    client = phone()
    before = last_event_id()
    password_login(client, "alice", "wrong password")
    password_login(client, "alice")
    client.post("/logout/")
    assert security_events(before) == [A.LOGIN_FAILED, A.LOGIN_SUCCEEDED, A.SESSION_ENDED]
    targets = set(AuditEvent.objects.filter(id__gt=before).values_list("target_type", "target_id"))
    assert targets == {("accounts.user", cast.alice.pk)}


def test_a_failed_login_for_an_unknown_name_is_recorded_without_the_name(cast) -> None:
    client = phone()
    before = last_event_id()
    password_login(client, "secret-typed-as-name", "wrong password")
    [event] = AuditEvent.objects.filter(id__gt=before)
    assert event.action == A.LOGIN_FAILED
    assert event.actor_id is None
    assert "secret-typed-as-name" not in event.canonical
    assert "secret-typed-as-name" not in event.actor_label + event.reason
    assert event.reason.startswith("unknown user name #")


def test_the_password_is_never_in_the_trail(cast) -> None:
    client = phone()
    before = last_event_id()
    password_login(client, "alice", "my-wrong-pass-123")
    password_login(client, "nobody", "my-wrong-pass-123")
    assert not any(
        "my-wrong-pass-123" in text
        for text in AuditEvent.objects.filter(id__gt=before).values_list("canonical", flat=True)
    )


def test_a_half_filled_form_is_not_a_login_attempt(cast) -> None:
    before = last_event_id()
    assert phone().post("/login/", {"username": "alice", "password": ""}).status_code == 200
    assert security_events(before) == []


def test_the_throttling_table_keeps_no_user_name(cast) -> None:
    from axes.models import AccessAttempt

    client = phone()
    for _ in range(3):
        password_login(client, "MyS3cretPassw0rd", "x")  # a password typed in the name field
    password_login(client, "alice", "wrong password")
    stored = " ".join(AccessAttempt.objects.values_list("username", flat=True))
    assert stored
    assert "MyS3cretPassw0rd" not in stored
    assert "alice" not in stored


def test_an_administrator_unlocks_a_user_name_from_the_command_line(cast) -> None:
    from django.core.management import call_command

    client = phone()
    for _ in range(5):
        password_login(client, "alice", "wrong password")
    assert password_login(client, "alice").status_code == 429
    call_command("user", "unlock", "alice")
    assert password_login(client, "alice").status_code == 302
