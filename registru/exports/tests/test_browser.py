"""An agent exports a filtered people list, in Debian's chromium driven by Playwright: from
the list's "Export these people…" button to the downloaded, watermarked CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from registru.audit.models import AuditEvent
from registru.exports import services
from registru.exports.models import ExportRequest, ExportRow, ExportStatus
from registru.testing.browser import PHONE, on_a_phone, on_desktop
from registru.testing.factories import PASSWORD, PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PURPOSE = "Invitații la seminarul de primăvară"


@pytest.fixture
def huey_immediate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run in the live server's thread when their transaction commits, not in the
    developer's queue file."""
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)


def _wait_until_ready(page: Any, export_id: int) -> None:
    """Reload the request's page until it says the file is ready (making it ourselves if no
    task runner did)."""
    for attempt in range(20):
        if ExportRequest.objects.get(pk=export_id).status == ExportStatus.APPROVED and attempt == 3:
            services.generate_export(export_id)
        page.reload()
        if page.locator("#export-progress .status-ready").count():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"export #{export_id} never became ready: {page.locator('#export-progress').inner_text()}")


def test_an_agent_exports_the_filtered_people_list_as_csv(
    cast: Any, browser: Any, site: Any, tmp_path: Path, huey_immediate: None
) -> None:
    chosen = [PersonFactory(owner=cast.alice, family_name="Zamfirescu") for _ in range(3)]
    others = [PersonFactory(owner=cast.alice, family_name=name) for name in ("Moldovan", "Ardeleanu")]
    page = on_desktop(browser, site, "alice")

    page.goto(page.base + "/people/")
    for person in others:
        page.locator("#results tbody tr", has_text=person.family_name).wait_for()
    page.fill("#id_q", "zamfir")
    expect(page.locator("#results tbody tr")).to_have_count(3)  # the page's CSP allows no eval
    expect(page.locator("#results tbody tr", has_text="Zamfirescu")).to_have_count(3)

    page.get_by_role("button", name="Export these people…").click()
    page.wait_for_url(re.compile(r".*/exports/new/$"))
    assert page.locator("#id_q").input_value() == "zamfir"
    assert "3 people in your scope match this filter." in page.locator("#export-preview").inner_text()
    assert "approved at once" in page.locator("#export-preview").inner_text()

    page.fill("#id_purpose", PURPOSE)
    page.get_by_label("CSV (UTF-8)").check()
    page.get_by_role("button", name="Ask for the export").click()
    page.wait_for_url(re.compile(r".*/exports/\d+/$"))
    export_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    export = ExportRequest.objects.get(pk=export_id)
    assert (export.requester_id, export.counted, export.format, export.needs_approval) == (
        cast.alice.pk, 3, "csv", False
    )  # fmt: skip

    _wait_until_ready(page, export_id)
    with page.expect_download() as info:
        page.locator("#export-progress").get_by_role("button", name="Download").click()
    download = info.value
    assert download.suggested_filename == f"registru-export-{export_id}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig"), newline="")))

    assert rows[0][0].startswith(f"Export #{export_id} for ")
    assert "(alice)" in rows[0][0]
    assert PURPOSE in rows[0][0]
    assert "confidential" in rows[1][0]
    header = rows[2]
    assert header[:2] == ["Given name", "Family name"]
    assert header[-1] == "Ref"
    canaries = set(ExportRow.objects.filter(request_id=export_id, canary=True).values_list("code", flat=True))
    people = [row for row in rows[3:] if row[-1] not in canaries]
    assert len(rows[3:]) == len(people) + len(canaries)
    # The whole names, unmasked (an agent sees names), of exactly the people the search chose.
    assert sorted((row[0], row[1]) for row in people) == sorted((p.given_name, p.family_name) for p in chosen)
    emails = header.index("Emails")
    assert sorted(row[emails] for row in people) == sorted(", ".join(p.emails) for p in chosen)
    assert "*" not in "".join(cell for row in people for cell in row[:-1])
    assert ExportRequest.objects.get(pk=export_id).downloads == 1
    assert AuditEvent.objects.filter(action="export.generated", target_id=str(export_id)).count() == 1
    assert AuditEvent.objects.filter(action="export.downloaded", actor_id=cast.alice.pk, channel="ui").count() == 1
    assert page.errors == []


def test_the_form_counts_again_as_the_filter_changes_before_a_purpose_is_typed(
    cast: Any, browser: Any, site: Any
) -> None:
    PersonFactory(owner=cast.alice, family_name="Zamfirescu")
    page = on_desktop(browser, site, "alice")
    page.goto(page.base + "/exports/new/")
    expect(page.locator("#export-preview")).to_contain_text("approved at once")

    page.check("#id_archived")  # nobody is archived

    expect(page.locator("#export-preview")).to_contain_text("0 people in your scope match this filter.")
    assert page.errors == []


def test_the_export_pages_fit_a_phone_in_romanian(cast: Any, browser: Any, live_server: Any) -> None:
    page = on_a_phone(browser, live_server)
    page.goto(page.base + "/login/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    for path in ("/exports/", "/exports/new/", "/exports/approvals/", "/exports/register/"):
        page.goto(page.base + path)
        assert page.locator("nav.subnav").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{path} scrolls sideways"
