"""Personal API tokens: stored hashed, shown once, expiring, revocable."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from registru.accounts import services
from registru.accounts.models import ApiToken
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db


def api(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_it_stores_only_the_digest_of_a_token(cast) -> None:
    token, raw = services.create_api_token(cast.alice, "ERP", actor=cast.alice)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in str(stored)
    assert stored["digest"] == hashlib.sha256(raw.encode()).hexdigest()


def test_it_accepts_a_valid_token_and_notes_its_use(cast) -> None:
    token, raw = services.create_api_token(cast.alice, "ERP", actor=cast.alice)
    assert api(raw).get("/api/v1/people").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_it_refuses_a_revoked_token(cast) -> None:
    token, raw = services.create_api_token(cast.alice, "ERP", actor=cast.alice)
    services.revoke_api_token(token, actor=cast.alice)
    assert api(raw).get("/api/v1/people").status_code == 401


def test_it_refuses_an_expired_token(cast) -> None:
    token, raw = services.create_api_token(cast.alice, "ERP", actor=cast.alice, days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api(raw).get("/api/v1/people").status_code == 401


def test_it_refuses_the_token_of_a_deactivated_user(cast) -> None:
    from registru.accounts import services as accounts

    _token, raw = services.create_api_token(cast.alice, "ERP", actor=cast.alice)
    accounts.update_user(cast.alice, {"is_active": False}, actor=SETUP)
    assert api(raw).get("/api/v1/people").status_code == 401


def test_it_shows_a_new_token_once_on_the_account_page(cast, client_for) -> None:
    client = client_for(cast.alice)
    created = client.post("/account/", {"name": "Integrare ERP", "days": 30}).content.decode()
    [token] = ApiToken.objects.filter(user=cast.alice)
    assert token.prefix in created
    assert "rgs_" in created
    again = client.get("/account/").content.decode()
    assert token.prefix in again
    assert created.split('id="new-token">')[1].split("<")[0] not in again


def test_it_revokes_a_token_from_the_account_page_but_not_someone_elses(cast, client_for) -> None:
    token, _raw = services.create_api_token(cast.carol, "ERP", actor=cast.carol)
    assert client_for(cast.alice).post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    client_for(cast.carol).post(f"/account/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_it_records_token_creation_and_revocation_in_the_trail(cast) -> None:
    from registru.audit.models import AuditEvent

    token, _raw = services.create_api_token(cast.alice, "ERP", actor=cast.alice)
    services.revoke_api_token(token, actor=cast.alice)
    assert list(
        AuditEvent.objects.filter(target_type="accounts.apitoken", target_id=token.pk)
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["token.created", "token.revoked"]


def test_the_command_line_prints_a_working_token(cast) -> None:
    out = io.StringIO()
    call_command("token", "create", "alice", "--name", "ERP", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("rgs_")
    assert api(raw).get("/api/v1/people").status_code == 200


def test_the_command_line_refuses_a_role_without_api_access(cast) -> None:
    with pytest.raises(CommandError, match="may not use the API"):
        call_command("token", "create", "audra")
    assert not ApiToken.objects.filter(user=cast.audra).exists()
