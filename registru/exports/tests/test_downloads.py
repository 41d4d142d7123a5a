"""Download links: the requester's only, expiring, limited in count; files deleted at expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from registru.audit.models import AuditEvent
from registru.exports import services
from registru.exports.models import ExportDownload, ExportRequest, ExportStatus
from registru.exports.services.requests import file_path
from registru.exports.tests.conftest import ask, made

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(cast):
    return made(ask(cast.alice))


def test_the_requester_downloads_the_file(cast, ready, client_for) -> None:
    response = client_for(cast.alice).get(f"/exports/{ready.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == file_path(ready).read_bytes()
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    assert ExportDownload.objects.get().user == cast.alice
    assert AuditEvent.objects.filter(action="export.downloaded", actor_id=cast.alice.pk).count() == 1


@pytest.mark.parametrize("who", ["andrei", "bob", "dora"])
def test_another_users_link_is_not_found(cast, ready, client_for, who) -> None:
    user = getattr(cast, who)
    assert client_for(user).get(f"/exports/{ready.pk}/download/").status_code == 404
    assert not ExportDownload.objects.exists()
    assert ExportRequest.objects.get(pk=ready.pk).downloads == 0
    assert AuditEvent.objects.filter(action="security.access_denied", actor_id=user.pk).exists()


def test_it_refuses_downloads_beyond_the_limit(cast, ready, client_for, settings) -> None:
    settings.EXPORT_MAX_DOWNLOADS = 2
    client = client_for(cast.alice)
    assert [client.get(f"/exports/{ready.pk}/download/").status_code for _ in range(3)] == [200, 200, 302]
    assert ExportDownload.objects.count() == 2


def test_it_refuses_an_expired_link_and_deletes_the_file(cast, ready, client_for) -> None:
    ExportRequest.objects.filter(pk=ready.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client_for(cast.alice).get(f"/exports/{ready.pk}/download/").status_code == 302
    assert not ExportDownload.objects.exists()
    assert services.expire_exports() == 1
    assert not file_path(ready).exists()
    assert ExportRequest.objects.get(pk=ready.pk).status == ExportStatus.EXPIRED
    assert AuditEvent.objects.filter(action="export.expired").count() == 1


def test_expiry_leaves_a_live_file_alone(cast, ready) -> None:
    assert services.expire_exports() == 0
    assert file_path(ready).exists()


def test_the_file_has_a_random_name_in_the_export_directory(cast, ready, settings) -> None:
    assert file_path(ready).parent == settings.EXPORT_DIR
    assert str(ready.pk) not in ready.file_name.split(".")[0][:2] or len(ready.file_name) > 30
