"""A consent campaign end to end, in Debian's chromium driven by Playwright: a manager defines and
starts it on a desktop, the invitations reach a real SMTP server, a person opens their link on a
phone and agrees to two of the three purposes; the ledger, the current state, the audit trail,
the proof bundle and the campaign's progress all say the same, and the link works only once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from registru.audit.models import AuditEvent
from registru.campaigns import services
from registru.campaigns.models import Campaign, CampaignStatus, Invitation, InvitationStatus
from registru.consent import proof
from registru.consent.choices import ConsentKind, ConsentMethod
from registru.consent.models import Consent, ConsentEvent, Notice
from registru.core.context import Channel
from registru.mail.services import deliver_due
from registru.people.models import Person
from registru.testing.browser import PHONE, PHONE_AGENT, in_romanian, on_a_phone, on_desktop
from registru.testing.factories import OrganizationFactory, PersonFactory
from registru.testing.smtp import body_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CAMPAIGN = "Acord parteneri 2026"
LINK = re.compile(r"https?://\S+/p/i/[^/\s]+/")
ASKED = {"newsletter__email", "offers__email", "events__email"}
TICKED = {"newsletter__email", "events__email"}


# The steps ---------------------------------------------------------------------------------


def define_and_start(page: Any, purposes: dict[str, Any]) -> Campaign:
    """The manager fills in /campaigns/new/, saves the draft and starts it from its page."""
    from playwright.sync_api import expect

    page.goto(page.base + "/campaigns/new/")
    page.fill("#id_name", CAMPAIGN)
    for purpose in purposes.values():
        page.check(f"input[name=purposes][value='{purpose.pk}']")
    assert page.is_checked("input[name=channels][value=email]")  # email is asked by default
    assert not page.is_checked("input[name=channels][value=sms]")
    page.select_option("#id_consent", "missing")
    page.select_option("#id_organization_status", "partner")
    page.fill("#id_subject_ro", "Ne permiteți să vă scriem?")
    page.fill("#id_subject_en", "May we write to you?")
    # The form counts the audience as it is filled in: the three partners, nobody else.
    expect(page.locator("#audience-size")).to_have_text("3 people would be invited now.")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/$"))
    campaign = Campaign.objects.get(name=CAMPAIGN)
    assert campaign.status == CampaignStatus.DRAFT
    assert set(campaign.purposes.values_list("code", flat=True)) == set(purposes)
    assert campaign.channels == ["email"]
    assert campaign.audience["organization_status"] == "partner"
    assert page.locator("#audience-now").inner_text() == "3 people"

    page.once("dialog", lambda dialog: dialog.accept())  # "Start the campaign? ..."
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#campaign-status")).to_have_text(str(CampaignStatus.RUNNING.label))
    assert page.locator("[data-count=invited]").inner_text() == "3"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    return campaign


def invitations_delivered(inbox: Any, campaign: Campaign, selected: list[Person], live_server: Any) -> dict[int, str]:
    """The periodic step and the outbox's delivery, as the workers run them; then what arrived."""
    progress = services.advance()
    assert progress.queued == len(selected)
    report = deliver_due()
    assert (report.sent, report.blocked, report.deferred, report.failed) == (len(selected), 0, 0, 0)
    by_address = {person.primary_email: person for person in selected}
    assert sorted(str(message["To"]) for message in inbox.messages) == sorted(by_address), (
        "exactly one invitation per selected person, and none to anyone else"
    )
    message_ids = inbox.message_ids()
    assert all(re.fullmatch(r"<[^<>@\s]+@[^<>\s]+>", message_id) for message_id in message_ids), message_ids
    assert len(set(message_ids)) == len(selected)
    links = {}
    for message in inbox.messages:
        found = LINK.findall(body_of(message))
        assert len(found) == 1, body_of(message)
        assert found[0].startswith(f"{live_server.url}/p/i/")
        links[by_address[str(message["To"])].pk] = found[0]
    assert len(set(links.values())) == len(selected)
    sent = Invitation.objects.filter(campaign=campaign)
    assert sorted(sent.values_list("person_id", flat=True)) == sorted(person.pk for person in selected)
    assert {invitation.status for invitation in sent} == {InvitationStatus.SENT}
    return links


def answer_on_a_phone(page: Any, link: str, purposes: dict[str, Any], person: Person) -> None:
    """The person reads who asks and why, ticks two of the three boxes and confirms. The first
    tap, not the page's loading, counts the invitation as opened."""
    from playwright.sync_api import expect

    response = page.goto(link)
    assert response.status == 200
    assert page.locator("h1").inner_text() == in_romanian("May we write to you?")
    assert settings.ORGANIZATION_NAME in page.locator("header").inner_text()
    assert settings.ORGANIZATION_NAME in page.locator("main").inner_text()  # who asks, in the text too
    for code, purpose in purposes.items():
        article = page.locator(f"#purpose-{code}")
        assert article.locator("h2").inner_text() == purpose.name_ro
        if not article.locator("details").evaluate("details => details.open"):
            article.locator("summary").tap()  # the notice is one tap away, or shown already
        notice = article.locator(".notice-text")
        expect(notice).to_be_visible()
        assert notice.inner_text().strip() == purpose.notices.get(language="ro").text
    boxes = page.locator("input[type=checkbox][name=choice]")
    assert boxes.count() == len(ASKED)
    assert {boxes.nth(i).get_attribute("value") for i in range(boxes.count())} == ASKED
    assert [boxes.nth(i).is_checked() for i in range(boxes.count())] == [False] * len(ASKED), "nothing pre-ticked"
    # Shown in a browser, scripts run, but nobody has touched it yet: not opened.
    assert not_opened_yet(person)
    first, *others = sorted(TICKED)
    with page.expect_response(lambda response: response.url.endswith("/opened/")) as reported:
        page.locator(f"input[name=choice][value='{first}']").tap()
    assert reported.value.status == 204
    assert Invitation.objects.get(person=person).status == InvitationStatus.OPENED
    for value in others:
        page.locator(f"input[name=choice][value='{value}']").tap()
    assert {boxes.nth(i).get_attribute("value") for i in range(boxes.count()) if boxes.nth(i).is_checked()} == TICKED
    with page.expect_navigation() as answered:
        page.locator("#consent-form button[type=submit]").tap()
    assert answered.value.status == 200
    assert page.locator("h1").inner_text() == in_romanian("Thank you, your choices are recorded")
    granted = page.locator("main li").all_inner_texts()
    assert sorted(item.split(" (")[0] for item in granted) == sorted(
        [purposes["newsletter"].name_ro, purposes["events"].name_ro]
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    assert page.errors == []


def not_opened_yet(person: Person) -> bool:
    invitation = Invitation.objects.get(person=person)
    trail = AuditEvent.objects.filter(subject_id=person.pk, action="invitation.opened")
    return (invitation.status, invitation.opened_at, trail.exists()) == (InvitationStatus.SENT, None, False)


def ledger_state_and_trail_agree(person: Person, campaign: Campaign, purposes: dict[str, Any]) -> list[ConsentEvent]:
    invitation = Invitation.objects.get(campaign=campaign, person=person)
    assert (invitation.status, invitation.outcome) == (InvitationStatus.ANSWERED, "granted")
    expected = {"newsletter": ConsentKind.GRANTED, "offers": ConsentKind.REFUSED, "events": ConsentKind.GRANTED}
    events = list(ConsentEvent.objects.filter(person=person).select_related("purpose", "notice").order_by("id"))
    assert {event.purpose.code: event.kind for event in events} == expected
    assert len(events) == 3
    for event in events:
        notice = Notice.objects.get(pk=invitation.notices[event.purpose.code])
        assert (notice.purpose_id, notice.language) == (event.purpose_id, "ro")
        assert event.channel == "email"
        assert event.method == ConsentMethod.DOUBLE_OPT_IN
        assert (event.campaign_id, event.invitation_id) == (campaign.pk, invitation.pk)
        assert event.notice_id == notice.pk
        assert event.notice_hash == notice.text_hash == Notice.hash_of(notice.text)
        assert PHONE_AGENT not in json.dumps(event.evidence), "evidence is stored encrypted"

    current = {consent.purpose.code: consent for consent in Consent.objects.filter(person=person)}
    assert {code: consent.state for code, consent in current.items()} == {
        "newsletter": "granted", "offers": "refused", "events": "granted",
    }  # fmt: skip
    for event in events:
        state = current[event.purpose.code]
        assert (state.channel, state.last_event_id, state.notice_hash) == ("email", event.pk, event.notice_hash)

    trail = AuditEvent.objects.filter(target_type=ConsentEvent._meta.label_lower, target_id__in=[e.pk for e in events])
    assert sorted(trail.values_list("target_id", "action")) == sorted(
        (event.pk, f"consent.{event.kind}") for event in events
    )
    assert set(trail.values_list("subject_id", "channel")) == {(person.pk, Channel.PORTAL.value)}
    assert AuditEvent.objects.filter(subject_id=person.pk, action="invitation.opened").count() == 1
    return events


def proof_lists_them(bundle: dict[str, Any], events: list[ConsentEvent], purposes: dict[str, Any]) -> None:
    assert bundle["person"]["id"] == events[0].person_id
    assert [row["id"] for row in bundle["events"]] == [event.pk for event in events]
    for row, event in zip(bundle["events"], events, strict=True):
        assert (row["purpose"], row["channel"], row["kind"], row["method"]) == (
            event.purpose.code, "email", event.kind, ConsentMethod.DOUBLE_OPT_IN,
        )  # fmt: skip
        assert (row["campaign_id"], row["invitation_id"]) == (event.campaign_id, event.invitation_id)
        assert (row["notice"], row["notice_hash"], row["notice_hash_matches"]) == (
            event.notice_id, event.notice_hash, True,
        )  # fmt: skip
        assert row["evidence"]["user_agent"] == PHONE_AGENT
        assert row["evidence"]["ip"] == "127.0.0.1"
        assert row["audit_event"] is not None
    notices = {row["purpose"]: row for row in bundle["notices"]}
    assert set(notices) == set(purposes)
    for code, purpose in purposes.items():
        assert notices[code]["text"] == purpose.notices.get(language="ro").text
        assert notices[code]["hash_verified"] is True
    assert {(row["purpose"], row["state"]) for row in bundle["consents"]} == {
        ("newsletter", "granted"), ("offers", "refused"), ("events", "granted"),
    }  # fmt: skip
    assert bundle["verification"]["notice_hashes_verified"] is True
    assert bundle["verification"]["events_match_their_notices"] is True


def snapshot(person: Person, invitation: Invitation) -> tuple[Any, ...]:
    invitation.refresh_from_db()
    return (
        list(ConsentEvent.objects.filter(person=person).values_list("id", "kind")),
        list(Consent.objects.filter(person=person).order_by("id").values_list("id", "state", "last_event_id")),
        list(AuditEvent.objects.filter(subject_id=person.pk).values_list("id", flat=True)),
        (invitation.status, invitation.outcome, invitation.answered_at, invitation.opened_at),
    )


# The test ----------------------------------------------------------------------------------


def test_a_campaign_from_the_managers_desktop_to_a_persons_phone_and_the_proof(
    cast: Any, purposes: dict[str, Any], smtp_inbox: Any, browser: Any, site: Any
) -> None:
    partners = OrganizationFactory(name="Parteneri Ardeal SRL", status="partner")
    selected = [
        PersonFactory(given_name=name, lawful_basis="contract", employer=partners)
        for name in ("Ana", "Bogdan", "Cezar")
    ]
    # Not selected: a contract at a customer, and a partner held only on a legal obligation.
    PersonFactory(lawful_basis="contract", employer=cast.alice_org)
    PersonFactory(lawful_basis="legal_obligation", employer=partners)

    manager = on_desktop(browser, site, "bob")
    campaign = define_and_start(manager, purposes)
    links = invitations_delivered(smtp_inbox, campaign, selected, site)

    person = selected[1]
    phone = on_a_phone(browser, site)
    answer_on_a_phone(phone, links[person.pk], purposes, person)

    events = ledger_state_and_trail_agree(person, campaign, purposes)
    for other in (selected[0], selected[2]):
        assert not ConsentEvent.objects.filter(person=other).exists()
    proof_lists_them(proof.build(person, generated_by="test"), events, purposes)

    # The campaign's page shows the answer in its progress.
    manager.goto(f"{manager.base}/campaigns/{campaign.pk}/")
    expected = {"invited": "3", "sent": "3", "opened": "1", "granted": "1", "refused": "0"}
    assert {key: manager.locator(f"[data-count={key}]").inner_text() for key in expected} == expected
    assert manager.errors == []

    # The same link again: "already answered", and nothing changes.
    invitation = Invitation.objects.get(campaign=campaign, person=person)
    before = snapshot(person, invitation)
    again = phone.goto(links[person.pk])
    assert again.status == 409
    assert phone.locator("h1").inner_text() == in_romanian("You have already answered")
    assert phone.locator("input[type=checkbox]").count() == 0
    assert snapshot(person, invitation) == before

    # The DPO downloads the proof bundle as JSON: the same three events and the notices' texts.
    dpo = on_desktop(browser, site, "dora")
    dpo.goto(f"{dpo.base}/consent/people/{person.pk}/")
    with dpo.expect_download() as download:
        dpo.locator(f"a[href='/consent/people/{person.pk}/proof.json']").click()
    assert download.value.suggested_filename == f"consent-proof-{person.pk}.json"
    downloaded = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    proof_lists_them(downloaded, events, purposes)
    assert downloaded["generated_by"] != "test"
    assert dpo.errors == []
