"""Device sessions: recorded at login, listed, ended by their user or an administrator, timed out."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from registru.accounts.models import DeviceSession
from registru.accounts.models.devices import SessionEnd
from registru.accounts.services import sessions
from registru.accounts.tests.logins import last_event_id, logged_in, password_login, phone, security_events
from registru.audit.actions import AuditAction as A
from registru.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_records_a_device_session_with_device_and_address_but_not_the_key(cast) -> None:
    client = phone()
    password_login(client, "alice")
    [session] = DeviceSession.objects.filter(user=cast.alice)
    raw_key = str(client.session.session_key)
    assert session.device == "Chrome 126 on Android 14 (Pixel 8)"
    assert session.ip_address == "127.0.0.1"
    assert session.key_digest == hashlib.sha256(raw_key.encode()).hexdigest()
    assert not any(raw_key in str(row) for row in DeviceSession.objects.values_list())


def test_it_refuses_to_end_another_users_session_and_changes_nothing(cast, client_for) -> None:
    carol = phone()
    password_login(carol, "carol")
    target = DeviceSession.objects.get(user=cast.carol)
    before = last_event_id()
    assert client_for(cast.alice).post(f"/account/sessions/{target.pk}/end/").status_code == 404
    assert DeviceSession.objects.get(pk=target.pk).ended_at is None
    assert security_events(before) == []
    assert carol.get("/people/").status_code == 200


def test_an_administrator_ends_a_session_and_its_next_request_is_logged_out(cast, client_for) -> None:
    carol = phone()
    password_login(carol, "carol")
    target = DeviceSession.objects.get(user=cast.carol)
    client_for(cast.admin).post(f"/account/sessions/{target.pk}/end/", {"back": "all"})
    ended = DeviceSession.objects.get(pk=target.pk)
    assert (ended.end_reason, ended.ended_by) == (SessionEnd.BY_ADMINISTRATOR, cast.admin)
    response = carol.get("/people/", follow=True)
    assert response.redirect_chain[0][0] == "/login/"
    assert "This session was ended by an administrator" in response.content.decode()
    assert not logged_in(carol)


def test_ending_your_own_current_session_logs_you_out(cast) -> None:
    client = phone()
    password_login(client, "alice")
    mine = DeviceSession.objects.get(user=cast.alice)
    response = client.post(f"/account/sessions/{mine.pk}/end/")
    assert response["Location"] == "/login/"
    assert not logged_in(client)
    assert DeviceSession.objects.get(pk=mine.pk).end_reason == SessionEnd.BY_USER


def test_ending_another_of_your_sessions_keeps_this_one(cast) -> None:
    laptop, lost_phone = phone(), phone()
    password_login(laptop, "alice")
    password_login(lost_phone, "alice")
    lost = DeviceSession.objects.filter(user=cast.alice).latest("id")
    laptop.post(f"/account/sessions/{lost.pk}/end/")
    assert laptop.get("/people/").status_code == 200
    assert lost_phone.get("/people/")["Location"] == "/login/"


@pytest.mark.parametrize(
    ("field", "age", "reason"),
    [("last_seen_at", timedelta(minutes=61), SessionEnd.IDLE), ("created_at", timedelta(hours=10), SessionEnd.EXPIRED)],
)
def test_it_ends_a_session_past_the_roles_timeout_with_one_event(cast, field, age, reason) -> None:
    client = phone()
    password_login(client, "alice")  # agents: 60 minutes idle, 10 hours in all
    DeviceSession.objects.filter(user=cast.alice).update(**{field: timezone.now() - age})
    before = last_event_id()
    response = client.get("/people/", follow=True)
    assert response.redirect_chain[0][0] == "/login/"
    assert not logged_in(client)
    assert DeviceSession.objects.get(user=cast.alice).end_reason == reason
    assert security_events(before) == [A.SESSION_ENDED]
    assert AuditEvent.objects.get(id__gt=before).actor_label == "session timeout"


def test_it_keeps_a_session_just_inside_its_idle_timeout(cast) -> None:
    client = phone()
    password_login(client, "alice")
    DeviceSession.objects.filter(user=cast.alice).update(last_seen_at=timezone.now() - timedelta(minutes=59))
    assert client.get("/people/").status_code == 200
    assert DeviceSession.objects.get(user=cast.alice).last_seen_at > timezone.now() - timedelta(minutes=1)


def test_it_notes_last_seen_at_most_once_a_minute(cast) -> None:
    client = phone()
    password_login(client, "alice")
    seen = DeviceSession.objects.get(user=cast.alice).last_seen_at
    client.get("/account/")
    assert DeviceSession.objects.get(user=cast.alice).last_seen_at == seen


def test_logging_out_ends_the_session_with_one_event(cast) -> None:
    client = phone()
    password_login(client, "alice")
    before = last_event_id()
    client.post("/logout/")
    assert DeviceSession.objects.get(user=cast.alice).end_reason == SessionEnd.LOGOUT
    assert security_events(before) == [A.SESSION_ENDED]


def test_an_administrator_ends_every_session_of_a_user(cast, client_for) -> None:
    first, second = phone(), phone()
    password_login(first, "carol")
    password_login(second, "carol")
    before = last_event_id()
    client_for(cast.admin).post(f"/account/users/{cast.carol.pk}/end-sessions/")
    assert not DeviceSession.objects.filter(user=cast.carol, ended_at__isnull=True).exists()
    assert security_events(before) == [A.SESSION_ENDED, A.SESSION_ENDED]
    assert first.get("/people/")["Location"] == "/login/"
    assert second.get("/people/")["Location"] == "/login/"


def test_only_administrators_see_every_users_sessions(cast, client_for) -> None:
    password_login(phone(), "carol")
    assert client_for(cast.bob).get("/account/sessions/").status_code == 403
    assert client_for(cast.bob).post(f"/account/users/{cast.carol.pk}/end-sessions/").status_code == 403
    assert DeviceSession.objects.filter(user=cast.carol, ended_at__isnull=True).count() == 1
    page = client_for(cast.admin).get(f"/account/sessions/?user={cast.carol.pk}").content.decode()
    assert "Android 14" in page
    assert cast.carol.username in page


def test_the_account_page_lists_your_sessions_and_marks_this_one(cast) -> None:
    client = phone()
    password_login(client, "alice")
    page = client.get("/account/").content.decode()
    assert "Your sessions" in page
    assert "this device" in page
    assert "Android 14" in page


def test_the_service_ends_a_session_once(cast) -> None:
    client = phone()
    password_login(client, "alice")
    session = DeviceSession.objects.get(user=cast.alice)
    before = last_event_id()
    assert sessions.end_session(session, actor=cast.admin, reason=SessionEnd.BY_ADMINISTRATOR)
    assert not sessions.end_session(session, actor=cast.admin, reason=SessionEnd.BY_ADMINISTRATOR)
    assert security_events(before) == [A.SESSION_ENDED]


def test_login_and_code_pages_are_not_stored_and_there_is_no_offline_copy(cast, client) -> None:
    for url in ("/login/", "/login/code/"):
        assert client.get(url)["Cache-Control"] == "no-store"
    login_page = client.get("/login/").content.decode()
    assert "serviceWorker" not in login_page
    assert 'rel="manifest"' not in login_page
    for path in ("/manifest.json", "/sw.js", "/service-worker.js"):
        assert client.get(path).status_code == 404
