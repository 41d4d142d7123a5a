"""The DPO's day starts at the dashboard, in Debian's chromium driven by Playwright: log in, read
what is due, follow it to the page where it is dealt with."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from registru.dashboard.tests.test_dashboard import export_by
from registru.testing.browser import on_desktop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dpo_lands_on_the_dashboard_and_follows_an_export_to_its_approval(
    cast: Any, browser: Any, site: Any, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.EXPORT_APPROVAL_THRESHOLD = 0
    export = export_by(cast.alice)
    page = on_desktop(browser, site, "dora")

    expect(page).to_have_url(re.compile(r".*/dashboard/$"))
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard")).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_role("link", name="1 export waits for your approval").click()

    page.wait_for_url(re.compile(r".*/exports/approvals/$"))
    expect(page.get_by_role("link", name=str(export.pk), exact=True)).to_be_visible()
    assert page.errors == []  # no script error, no refusal by the page's CSP


def test_the_dpos_menu_holds_on_one_line_on_a_desktop(cast: Any, browser: Any, site: Any) -> None:
    page = on_desktop(browser, site, "dora")  # the longest menu of any role
    page.locator(".language-switch button[value=ro]").click()  # and the longer words
    page.wait_for_load_state()
    page.set_viewport_size({"width": 1200, "height": 900})  # a laptop: the page is 950 px wide
    links = page.locator("nav.main-nav a")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, "the account and the language sit above the menu, not in its row"
