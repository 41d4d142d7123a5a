"""The DPO asks for a long trail's PDF in Debian's chromium driven by Playwright: the progress
page polls (htmx, under the strict CSP) until the file is ready, without a reload, and the ZIP
of PDF parts downloads."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from registru.audit import exports, tasks
from registru.audit.services import export_jobs
from registru.core.context import Channel, audit_context
from registru.people import services
from registru.testing.browser import on_desktop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queued(cast: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """A trail longer than a PDF part (of 8 events here), and the jobs queued: the worker is
    the test, and nothing goes to a real queue."""
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(exports, "PDF_PART", 8)
    jobs: list[tuple[int, int]] = []
    monkeypatch.setattr(tasks, "make_trail_pdf", SimpleNamespace(enqueue=lambda *args: jobs.append(args)))
    for index in range(12):
        services.update_person(cast.alice_person, {"job_title": f"Funcția {index}"}, actor=cast.alice)
    return jobs


def test_the_dpo_watches_a_long_trail_pdf_being_made_and_downloads_it(
    browser: Any, site: Any, tmp_path: Path, queued: list[tuple[int, int]]
) -> None:
    page = on_desktop(browser, site, "dora")

    page.goto(page.base + "/audit/")
    page.get_by_role("button", name="PDF").click()
    page.wait_for_url(re.compile(r".*/audit/export/jobs/\d+/$"))
    expect(page.locator("#export-job")).to_contain_text("Queued")

    [(user_id, job_id)] = queued
    with audit_context(Channel.TASK):
        export_jobs.run_pdf(user_id, job_id)
    expect(page.locator("#export-job .status-ready")).to_be_visible(timeout=10_000)  # polled, not reloaded

    with page.expect_download() as info:
        page.locator("#export-job").get_by_role("button", name="Download").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "registru-trail-all-pdf.zip"
    with zipfile.ZipFile(saved) as archive:
        assert len(archive.namelist()) > 1
        assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())
    assert page.errors == []
