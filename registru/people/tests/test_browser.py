"""The pages as an agent uses them on a phone, in Debian's chromium driven by Playwright."""

from __future__ import annotations

import re
from typing import Any

import pytest

from registru.audit.models import AuditEvent
from registru.people.models import Person
from registru.testing.browser import on_desktop
from registru.testing.factories import PASSWORD, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def open_phone(browser: Any, live_server: Any, locale: str) -> Any:
    context = browser.new_context(viewport=PHONE, locale=locale, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.base = live_server.url
    return page


def log_in(page: Any, username: str) -> None:
    page.goto(page.base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/people/$"))


def edit_phone_and_check_history(page: Any, labels: dict[str, str]) -> None:
    page.fill("#id_q", "stefanescu")
    result = page.locator("#results a", has_text="Ștefănescu")
    result.wait_for()
    assert page.locator("#results tbody tr").count() == 1
    result.click()
    page.get_by_role("button", name=labels["edit"], exact=True).click()
    page.locator("input[name=phones]").first.fill("0744 555 666")
    page.get_by_role("button", name=labels["save"]).click()
    page.wait_for_url(re.compile(r".*/people/\d+/$"))
    page.get_by_role("link", name=labels["history"]).click()
    event = page.locator("article.event").first
    assert "+40744555666" in event.inner_text()
    assert labels["via"] in event.inner_text()


def test_an_agent_edits_a_phone_on_a_phone_and_sees_it_in_history(cast: Any, browser: Any, live_server: Any) -> None:
    page = open_phone(browser, live_server, "en-GB")
    log_in(page, "alice")
    edit_phone_and_check_history(page, {"edit": "Edit", "save": "Save", "history": "History", "via": "via web"})
    person = Person.objects.get(pk=cast.alice_person.pk)
    assert person.phones[0] == "+40744555666"
    assert (
        AuditEvent.objects.filter(
            subject_id=person.pk, action="person.updated", channel="ui", actor_id=cast.alice.pk
        ).count()
        == 1
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
        "the page scrolls sideways on a phone"
    )
    assert page.errors == []


def test_the_same_in_romanian(cast: Any, browser: Any, live_server: Any) -> None:
    page = open_phone(browser, live_server, "ro-RO")
    log_in(page, "alice")
    assert page.locator("h1").inner_text() == "Persoane"
    edit_phone_and_check_history(
        page, {"edit": "Editează", "save": "Salvează", "history": "Istoric", "via": "prin web"}
    )
    assert Person.objects.get(pk=cast.alice_person.pk).phones[0] == "+40744555666"
    assert page.errors == []


def test_the_language_switch_changes_the_interface(cast: Any, browser: Any, live_server: Any) -> None:
    page = open_phone(browser, live_server, "en-GB")
    log_in(page, "alice")
    page.get_by_role("button", name="Romanian").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Persoane"


def open_desktop(browser: Any, live_server: Any) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB").new_page()
    page.set_default_timeout(15_000)
    page.base = live_server.url
    page.posted = []
    page.on("request", lambda sent: page.posted.append(sent.post_data or "") if sent.method == "POST" else None)
    return page


def test_enter_in_the_people_search_searches_instead_of_asking_for_an_export(
    cast: Any, browser: Any, live_server: Any
) -> None:
    page = open_desktop(browser, live_server)
    log_in(page, "alice")
    assert page.get_by_role("button", name="Export these people…").is_visible()
    page.fill("#id_q", "stefanescu")
    page.press("#id_q", "Enter")
    page.locator("#results a", has_text="Ștefănescu").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.url == live_server.url + "/people/"


def test_enter_in_the_organization_search_does_not_turn_the_page(cast: Any, browser: Any, live_server: Any) -> None:
    for number in range(26):
        OrganizationFactory(name=f"Brutăria {number:02} SRL", owner=cast.alice)
    page = open_desktop(browser, live_server)
    log_in(page, "alice")
    page.goto(page.base + "/organizations/")
    page.fill("#id_q", "brutaria")
    page.locator("#results button", has_text="Next").wait_for()
    page.press("#id_q", "Enter")
    page.wait_for_load_state("networkidle")
    assert page.locator("#results a", has_text="Brutăria 00 SRL").is_visible()
    assert [body for body in page.posted if "cursor=" in body] == []


def test_the_form_shown_again_after_the_duplicate_warning_has_one_row_per_contact(
    cast: Any, browser: Any, live_server: Any
) -> None:
    existing = Person.objects.get(pk=cast.alice_person.pk)
    page = open_desktop(browser, live_server)
    log_in(page, "alice")
    page.goto(page.base + "/people/new/")
    page.fill("#id_given_name", "Ioana")
    page.fill("#id_family_name", "Ștefănescu")
    page.locator("input[name=emails]").fill(existing.emails[0])
    page.locator("input[name=phones]").fill("0744 555 666")
    page.get_by_role("button", name="Save").click()
    page.locator("#possible-duplicates").wait_for()
    assert page.locator("input[name=emails]").count() == 1
    assert page.locator("input[name=phones]").count() == 1
    assert page.locator("input[name=primary_phones]").count() == 1
    page.locator("[data-add-row=phones-rows]").click()
    assert page.locator("input[name=phones]").nth(1).input_value() == ""
    assert not page.locator("input[name=primary_phones]").nth(1).is_checked()
    page.locator("input[name=phones]").nth(1).fill("0755 111 222")
    page.locator("input[name=add_anyway]").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/people/\d+/$"))
    added = Person.objects.exclude(pk=existing.pk).get(family_name="Ștefănescu")
    assert added.phones == ["+40744555666", "+40755111222"]


def alice_on_her_record(cast: Any, browser: Any, live_server: Any) -> Any:
    page = on_desktop(browser, live_server, "alice")
    page.goto(f"{page.base}/people/{cast.alice_person.pk}/")
    return page


def test_the_date_that_ends_an_employment_is_named_and_beside_its_button(
    cast: Any, browser: Any, live_server: Any
) -> None:
    page = alice_on_her_record(cast, browser, live_server)
    employment = page.locator("#employers article")
    date = employment.get_by_label("Until", exact=True)
    assert employment.locator("label", has_text="Until").is_visible()
    end = employment.get_by_role("button", name="End")
    date_box, end_box = date.bounding_box(), end.bounding_box()
    assert end_box["y"] < date_box["y"] + date_box["height"], "the End button sits beside its date, not below it"


def test_the_buttons_that_end_and_remove_an_employment_sit_on_one_line(
    cast: Any, browser: Any, live_server: Any
) -> None:
    page = alice_on_her_record(cast, browser, live_server)
    employment = page.locator("#employers article")
    end = employment.get_by_role("button", name="End").bounding_box()
    remove = employment.get_by_role("button", name="Remove").bounding_box()
    middle = lambda box: box["y"] + box["height"] / 2  # noqa: E731
    assert abs(middle(end) - middle(remove)) < 2, "Remove sits level with End"


def test_a_form_button_among_the_record_actions_sits_level_with_the_links(
    cast: Any, browser: Any, live_server: Any
) -> None:
    page = alice_on_her_record(cast, browser, live_server)
    edit = page.get_by_role("button", name="Edit").bounding_box()  # a link shown as a button
    archive = page.get_by_role("button", name="Archive").bounding_box()  # a form's button
    assert abs(edit["y"] - archive["y"]) < 2


def test_the_dpo_restricts_a_person_and_sees_the_banner(cast: Any, browser: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    person = cast.carol_person
    page = on_desktop(browser, live_server, "dora")
    page.goto(f"{page.base}/people/{person.pk}/")
    page.get_by_role("button", name="Restrict processing").click()
    page.wait_for_url(re.compile(r".*/restrict/$"))
    page.get_by_label("Objection pending verification (Art. 18(1)(d))").check()
    page.get_by_label("Reason").fill("Opoziție art. 21, cererea din 3 martie")
    page.get_by_role("button", name="Restrict processing").click()

    page.wait_for_url(re.compile(rf".*/people/{person.pk}/$"))
    banner = page.locator("#restriction")
    expect(banner).to_contain_text("Processing restricted (Art. 18 GDPR)")
    expect(banner).to_contain_text("Objection pending verification")
    expect(banner).to_contain_text("dora")
    assert Person.objects.get(pk=person.pk).status == "restricted"
    assert page.errors == []  # no script error, no refusal by the page's CSP
