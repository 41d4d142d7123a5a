"""Pages in Chromium for the browser tests: a desktop session of a staff user, a phone."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from registru.testing.factories import PASSWORD

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)


def open_page(browser: Any, live_server: Any, **context: Any) -> Any:
    """A page in a fresh context that collects script and console errors in ``page.errors``."""
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.base = live_server.url
    return page


def on_desktop(browser: Any, live_server: Any, username: str) -> Any:
    page = open_page(browser, live_server, viewport=DESKTOP, locale="en-GB", accept_downloads=True)
    page.goto(page.base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def on_a_phone(browser: Any, live_server: Any) -> Any:
    return open_page(
        browser, live_server, viewport=PHONE, locale="ro-RO", is_mobile=True, has_touch=True, user_agent=PHONE_AGENT
    )


def in_romanian(text: str) -> str:
    with translation.override("ro"):
        return gettext(text)
