"""A PDF of a long trail is made in the background: asked for on the trail page or a History
tab, its progress shown on a page of its own, the file (a ZIP of PDF parts) downloaded by its
requester only, one at a time for each user, deleted when its time is up."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from registru.audit import exports
from registru.audit.models import AuditEvent
from registru.audit.services import export_jobs
from registru.people import services

pytestmark = pytest.mark.django_db
PART = 8


@pytest.fixture
def long_trail(cast, settings, tmp_path, monkeypatch):
    """A person with twenty events, and parts of eight events: their PDF is "long"."""
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(exports, "PDF_PART", PART)
    person = cast.andrei_person
    for index in range(20):
        services.update_person(person, {"job_title": f"Funcția {index}"}, actor=cast.andrei)
    return person


def ask(client: Any, person_id: int | None = None) -> Any:
    url = f"/people/{person_id}/history/export/?format=pdf" if person_id else "/audit/export/?format=pdf"
    return client.get(url)


def job_id_of(response: Any) -> int:
    assert response.status_code == 302, response.status_code
    return int(response["Location"].rstrip("/").rsplit("/", 1)[1])


@pytest.fixture
def worker(monkeypatch, django_capture_on_commit_callbacks):
    """Ask, and let the queue run the job as a worker would when the request commits."""

    def ask_and_run(client: Any, url: str) -> Any:
        monkeypatch.setattr(HUEY, "immediate", True)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                return client.get(url)
        finally:
            monkeypatch.setattr(HUEY, "immediate", False)

    return ask_and_run


def test_it_makes_a_long_pdf_in_the_background_and_shows_its_progress(
    cast, long_trail, client_for, worker, monkeypatch
) -> None:
    dora = client_for(cast.dora)
    seen = []
    update = export_jobs._update

    def update_and_look(job: export_jobs.TrailJob, **changes: Any) -> None:
        update(job, **changes)
        if job.status == "running" and changes.get("done"):
            seen.append(dora.get(f"/audit/export/jobs/{job.id}/", headers={"HX-Request": "true"}).content.decode())

    monkeypatch.setattr(export_jobs, "_update", update_and_look)
    url = f"/people/{long_trail.pk}/history/export/?format=pdf"
    job_id = job_id_of(worker(dora, url))

    total = AuditEvent.objects.filter(subject_id=long_trail.pk).exclude(action="trail.exported").count()
    assert f"{PART} of {total} events written" in seen[0]
    assert 'hx-trigger="every 2s"' in seen[0]
    page = dora.get(f"/audit/export/jobs/{job_id}/").content.decode()
    assert "Ready." in page
    assert "hx-trigger" not in page  # done: the page stops asking
    download = dora.get(f"/audit/export/jobs/{job_id}/download/")
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        parts = [archive.read(name) for name in archive.namelist()]
    assert len(parts) == -(-total // PART)
    assert all(part.startswith(b"%PDF") for part in parts)


def test_the_background_export_is_recorded_as_the_requesters(cast, long_trail, client_for, worker) -> None:
    url = f"/people/{long_trail.pk}/history/export/?format=pdf"
    worker(client_for(cast.dora), url)
    event = AuditEvent.objects.get(action="trail.exported")
    assert (event.actor_id, event.subject_id, event.channel) == (cast.dora.pk, long_trail.pk, "task")
    assert event.reason.startswith("PDF, ")


def test_a_short_pdf_is_still_made_at_once(cast, long_trail, client_for, monkeypatch) -> None:
    monkeypatch.setattr(exports, "PDF_PART", 1000)
    response = ask(client_for(cast.dora), long_trail.pk)
    assert response["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("other", ["audra", "bob", "dora2"])
def test_only_the_requester_sees_the_job_and_downloads_its_file(cast, long_trail, client_for, worker, other) -> None:
    from registru.accounts.roles import Role
    from registru.testing.factories import UserFactory

    url = f"/people/{long_trail.pk}/history/export/?format=pdf"
    job_id = job_id_of(worker(client_for(cast.dora), url))
    user = UserFactory(username="dora2", role=Role.DPO) if other == "dora2" else getattr(cast, other)
    stranger = client_for(user)
    assert stranger.get(f"/audit/export/jobs/{job_id}/").status_code == 404
    assert stranger.get(f"/audit/export/jobs/{job_id}/download/").status_code == 404
    assert client_for(cast.dora).get(f"/audit/export/jobs/{job_id}/download/").status_code == 200


def test_a_second_request_while_one_is_made_is_refused_with_a_message(cast, long_trail, client_for) -> None:
    dora = client_for(cast.dora)
    first = job_id_of(ask(dora, long_trail.pk))  # queued: no worker runs it
    second = ask(dora)
    assert second["Location"] == f"/audit/export/jobs/{first}/"
    page = dora.get(second["Location"]).content.decode()
    assert "An export of yours is still being made" in page
    assert "Queued" in page
    assert [path.name for path in export_jobs.user_directory(cast.dora.pk).iterdir() if path.is_dir()] == [str(first)]


def test_another_user_may_ask_while_one_users_export_is_made(cast, long_trail, client_for) -> None:
    job_id_of(ask(client_for(cast.dora), long_trail.pk))
    assert job_id_of(ask(client_for(cast.audra))) > 0


def test_a_new_request_is_taken_once_the_job_is_done_or_failed(cast, long_trail, client_for, monkeypatch) -> None:
    dora = client_for(cast.dora)
    first = job_id_of(ask(dora, long_trail.pk))

    def broken(**kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export_jobs, "export_trail", broken)
    with pytest.raises(OSError):
        export_jobs.run_pdf(cast.dora.pk, first)
    assert "could not be made" in dora.get(f"/audit/export/jobs/{first}/").content.decode()
    assert job_id_of(ask(dora, long_trail.pk)) != first


def test_a_job_whose_worker_died_does_not_block_its_user_for_ever(cast, long_trail, client_for, monkeypatch) -> None:
    dora = client_for(cast.dora)
    first = job_id_of(ask(dora, long_trail.pk))
    assert ask(dora, long_trail.pk)["Location"] == f"/audit/export/jobs/{first}/"
    monkeypatch.setattr(export_jobs, "STALE", timedelta(seconds=-1))  # as if long unchanged
    assert "could not be made" in dora.get(f"/audit/export/jobs/{first}/").content.decode()
    assert job_id_of(ask(dora, long_trail.pk)) != first
    later = timezone.now() + export_jobs.keep_for() + timedelta(seconds=1)
    monkeypatch.setattr(export_jobs, "timezone", SimpleNamespace(now=lambda: later))  # the jobs' clock only
    assert export_jobs.expire_jobs() == 2  # the dead one and the new one, never run either


def test_the_file_is_deleted_when_its_time_is_up(cast, long_trail, client_for, worker, monkeypatch) -> None:
    dora = client_for(cast.dora)
    url = f"/people/{long_trail.pk}/history/export/?format=pdf"
    job_id = job_id_of(worker(dora, url))
    job = export_jobs.job_for(cast.dora, job_id)
    assert job is not None
    assert export_jobs.expire_jobs() == 0  # still within its time
    assert job.file.exists()

    later = job.expires + timedelta(seconds=1)  # type: ignore[operator]
    monkeypatch.setattr(export_jobs, "timezone", SimpleNamespace(now=lambda: later))  # the jobs' clock only
    assert dora.get(f"/audit/export/jobs/{job_id}/download/").status_code == 404  # even before the sweep
    assert export_jobs.expire_jobs() == 1
    assert not job.directory.exists()
    assert dora.get(f"/audit/export/jobs/{job_id}/").status_code == 404
