"""Marketing mail and the person's way out: a mailing through the send gate (checked at a real SMTP
server), one-click unsubscribe as mail clients send it (RFC 8058), and the preference centre."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from registru.audit.models import AuditEvent
from registru.campaigns.models import Mailing
from registru.campaigns.services.mailings import send_mailing
from registru.consent import services as consent
from registru.consent.choices import ConsentKind, ConsentMethod, ConsentState
from registru.consent.models import Consent, ConsentEvent, Purpose
from registru.core.context import service_scope
from registru.mail.models import MessageStatus, OutboundMessage
from registru.mail.services import deliver_due
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.portal import links
from registru.portal.tokens import TokenUse, make
from registru.testing.factories import SETUP, PersonFactory
from registru.testing.smtp import body_of

pytestmark = pytest.mark.django_db
ONE_CLICK = "List-Unsubscribe=One-Click"


def grant(person: Person, purpose: Purpose, channel: str = "email") -> None:
    notice = purpose.notices.filter(language=person.preferred_language).order_by("-version").first()
    consent.grant_consent(person, purpose, channel, actor=SETUP, method=ConsentMethod.WEB_FORM, notice=notice)


def state_of(person: Person) -> dict[tuple[str, str], str]:
    return {(row.purpose.code, row.channel): row.state for row in Consent.objects.filter(person=person)}


def restrict(person: Person) -> None:
    # Restriction (Art. 18) has no page yet; the status is what the gate and the portal read.
    with transaction.atomic(), service_scope():
        Person.objects.filter(pk=person.pk).update(status=PersonStatus.RESTRICTED)


def path_of(url: str) -> str:
    return url.removeprefix(links.absolute(""))


def mailing(purpose: Purpose) -> Mailing:
    values = {"purpose": purpose, "subject_ro": "Noutăți", "body_ro": "Bună, {name}!",
              "subject_en": "News", "body_en": "Hello {name}!"}  # fmt: skip
    return send_mailing(values, actor=SETUP)


# The mailing and the gate, at the SMTP server ----------------------------------------------


def test_a_mailing_reaches_only_who_consents_at_send_time(cast, purposes, smtp_inbox) -> None:
    newsletter = purposes["newsletter"]
    keeps, leaves, never, restricted = (PersonFactory(lawful_basis="contract") for _ in range(4))
    for person in (keeps, leaves, restricted):
        grant(person, newsletter)
    grant(never, purposes["offers"])  # another purpose does not count
    sent = mailing(newsletter)
    assert sent.recipients == 3  # queued for the three with a valid consent now
    # After queueing, one withdraws through the link in an earlier message; one is restricted.
    bare = Client(enforce_csrf_checks=True)
    response = bare.post(path_of(links.unsubscribe_url(leaves.pk, "newsletter")), ONE_CLICK,
                         content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert response.status_code == 200
    restrict(restricted)

    deliver_due()

    assert [m["To"] for m in smtp_inbox.messages] == [keeps.primary_email]
    statuses = dict(OutboundMessage.objects.filter(mailing_id=sent.pk).values_list("person_id", "status"))
    assert statuses == {keeps.pk: MessageStatus.SENT, leaves.pk: MessageStatus.BLOCKED,
                        restricted.pk: MessageStatus.BLOCKED}  # fmt: skip


def test_every_marketing_message_carries_one_click_unsubscribe_and_the_preference_centre(
    cast, purposes, smtp_inbox
) -> None:
    person = PersonFactory(lawful_basis="contract", preferred_language="en")
    grant(person, purposes["events"])
    mailing(purposes["events"])
    deliver_due()
    (message,) = smtp_inbox.messages
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    unsubscribe = re.fullmatch(r"<(https?://\S+/p/u/\S+/)>", message["List-Unsubscribe"])
    assert unsubscribe, message["List-Unsubscribe"]
    body = body_of(message)
    assert "Hello " + person.given_name in body
    assert unsubscribe.group(1) in body
    assert "/p/preferences/" in body
    # The header's link, posted as a mail client does, withdraws that purpose.
    Client(enforce_csrf_checks=True).post(
        path_of(unsubscribe.group(1)), ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )
    assert state_of(person) == {("events", "email"): ConsentState.WITHDRAWN}


# One-click unsubscribe ---------------------------------------------------------------------


def test_unsubscribe_withdraws_exactly_that_purpose_on_email(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract")
    for purpose, channel in (("newsletter", "email"), ("offers", "email"), ("offers", "sms")):
        grant(person, purposes[purpose], channel)
    path = path_of(links.unsubscribe_url(person.pk, "offers"))
    response = Client(enforce_csrf_checks=True).post(path, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert state_of(person) == {
        ("newsletter", "email"): ConsentState.GRANTED,
        ("offers", "email"): ConsentState.WITHDRAWN,
        ("offers", "sms"): ConsentState.GRANTED,  # the link came by email: SMS is another choice
    }
    withdrawal = ConsentEvent.objects.get(person=person, kind=ConsentKind.WITHDRAWN)
    assert withdrawal.method == ConsentMethod.UNSUBSCRIBE_LINK
    assert AuditEvent.objects.filter(subject_id=person.pk, action="consent.withdrawn", channel="portal").count() == 1


def test_unsubscribing_again_records_nothing_more(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    path = path_of(links.unsubscribe_url(person.pk, "newsletter"))
    client = Client()
    for _ in range(2):
        assert client.post(path, ONE_CLICK, content_type="application/x-www-form-urlencoded").status_code == 200
    # RFC 8058 prefers multipart/form-data; some mail clients send that.
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert ConsentEvent.objects.filter(person=person, kind=ConsentKind.WITHDRAWN).count() == 1


def consent_records(person: Person) -> tuple[Any, ...]:
    """Everything an unsubscribe could change: the state, the ledger, the audit trail."""
    return (
        sorted(Consent.objects.filter(person=person).values_list("id", "state", "last_event_id")),
        ConsentEvent.objects.filter(person=person).count(),
        AuditEvent.objects.count(),
    )


def test_opening_the_unsubscribe_link_only_asks(cast, purposes) -> None:
    # Mail scanners fetch links; a GET must withdraw nothing.
    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    before = consent_records(person)
    path = path_of(links.unsubscribe_url(person.pk, "newsletter"))
    for _ in range(2):
        response = Client().get(path)
        assert response.status_code == 200
        assert b"<form" in response.content
    assert consent_records(person) == before
    assert state_of(person) == {("newsletter", "email"): ConsentState.GRANTED}
    # The button on that page, pressed in a browser (no cookie, no CSRF token), withdraws.
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.content.decode()))
    assert Client(enforce_csrf_checks=True).post(path, fields).status_code == 200
    assert state_of(person) == {("newsletter", "email"): ConsentState.WITHDRAWN}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("", "application/x-www-form-urlencoded"),  # a bare POST (a link checker, a prefetch)
        ("List-Unsubscribe=No", "application/x-www-form-urlencoded"),
        ("List-Unsubscribe=one-click-please", "application/x-www-form-urlencoded"),
        ("choice=newsletter__email", "application/x-www-form-urlencoded"),
        ('{"List-Unsubscribe": "One-Click"}', "application/json"),  # not form-encoded
        ("List-Unsubscribe=One-Click", "text/plain"),
    ],
)
def test_it_refuses_a_one_click_post_without_the_rfc_8058_body(cast, purposes, body: str, content_type: str) -> None:
    person = PersonFactory(lawful_basis="contract", preferred_language="en")
    grant(person, purposes["newsletter"])
    before = consent_records(person)
    path = path_of(links.unsubscribe_url(person.pk, "newsletter"))
    response = Client(enforce_csrf_checks=True).post(path, body, content_type=content_type)
    assert response.status_code == 400
    assert "This request did not ask to unsubscribe" in response.content.decode()
    assert consent_records(person) == before


def test_an_unsubscribe_link_cannot_be_turned_to_another_purpose_or_person(cast, purposes) -> None:
    person, other = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    for someone in (person, other):
        grant(someone, purposes["newsletter"])
        grant(someone, purposes["offers"])
    # Signed with the right key, even: the nonce is derived for one person and one purpose.
    nonce = links.derived_nonce(TokenUse.UNSUBSCRIBE, person.pk, "newsletter")
    for forged in (make(TokenUse.UNSUBSCRIBE, other.pk, nonce, "newsletter"),
                   make(TokenUse.UNSUBSCRIBE, person.pk, nonce, "offers")):  # fmt: skip
        response = Client().post(f"/p/u/{forged}/", ONE_CLICK, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400
    assert not ConsentEvent.objects.filter(kind=ConsentKind.WITHDRAWN).exists()


def test_an_unsubscribe_link_cannot_open_the_preference_centre_to_grant(cast, purposes) -> None:
    # The unsubscribe link travels in a header any mail client may fetch: it only ever withdraws.
    person = PersonFactory(lawful_basis="contract")
    token = path_of(links.unsubscribe_url(person.pk, "newsletter")).split("/")[3]
    client = Client()
    for method in ("get", "post"):
        response = getattr(client, method)(f"/p/preferences/{token}/", {"choice": ["newsletter__email"]})
        assert response.status_code == 400
    assert not ConsentEvent.objects.filter(person=person).exists()


# The preference centre ---------------------------------------------------------------------


def preferences(person: Person) -> tuple[Client, str, Any]:
    client = Client(enforce_csrf_checks=True)
    path = path_of(links.preferences_url(person.pk))
    response = client.get(path)
    assert response.status_code == 200
    return client, path, response


def csrf_of(response: Any) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert found
    return found.group(1).decode()


def test_the_preference_centre_shows_and_changes_every_purpose_and_channel(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract", preferred_language="ro")
    grant(person, purposes["newsletter"])
    grant(person, purposes["offers"], "sms")
    client, path, page = preferences(person)
    boxes = re.findall(rb'name="choice" value="([a-z_]+)"', page.content)
    assert sorted(boxes) == [b"events__email", b"newsletter__email", b"offers__email", b"offers__sms"]
    assert "Vă trimitem buletin informativ".encode() in page.content  # the notice, in their language
    # Keep the newsletter, give up offers by SMS, take events by email.
    response = client.post(path, {"choice": ["newsletter__email", "events__email"],
                                  "csrfmiddlewaretoken": csrf_of(page)})  # fmt: skip
    assert response.status_code == 200
    assert state_of(person) == {
        ("newsletter", "email"): ConsentState.GRANTED,
        ("offers", "sms"): ConsentState.WITHDRAWN,
        ("events", "email"): ConsentState.GRANTED,
    }
    granted = ConsentEvent.objects.get(person=person, purpose__code="events")
    assert granted.method == ConsentMethod.PREFERENCE_CENTRE
    assert granted.notice == purposes["events"].notices.get(language="ro")


def test_the_preference_centre_refuses_a_post_without_its_csrf_token(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    client, path, _ = preferences(person)
    assert client.post(path, {"choice": []}).status_code == 403
    assert state_of(person) == {("newsletter", "email"): ConsentState.GRANTED}


def test_a_box_that_was_not_offered_changes_nothing(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    client, path, page = preferences(person)
    response = client.post(path, {"choice": ["newsletter__email", "offers__fax"],
                                  "csrfmiddlewaretoken": csrf_of(page)})  # fmt: skip
    assert response.status_code == 400
    assert ConsentEvent.objects.filter(person=person).count() == 1


def test_a_restricted_person_may_still_withdraw_but_not_grant(cast, purposes) -> None:
    # Art. 18 restricts processing; Art. 7(3) keeps withdrawal possible at any time.
    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    grant(person, purposes["events"])
    restrict(person)
    bare = Client(enforce_csrf_checks=True)
    response = bare.post(path_of(links.unsubscribe_url(person.pk, "events")), ONE_CLICK,
                         content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert response.status_code == 200
    client, path, page = preferences(person)
    # Untick the newsletter, tick offers by email: the withdrawal counts, the grant waits.
    client.post(path, {"choice": ["offers__email"], "csrfmiddlewaretoken": csrf_of(page)})
    assert state_of(person) == {("newsletter", "email"): ConsentState.WITHDRAWN,
                                ("events", "email"): ConsentState.WITHDRAWN}  # fmt: skip


def test_an_archived_person_may_withdraw_but_not_grant(cast, purposes) -> None:
    # Archived people are asked nothing (no invitation opens for them, the gate sends them
    # nothing): their old preference link must not record a new consent either.
    from registru.people import services as people

    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    people.archive_person(person, actor=cast.dora, reason="no longer a customer")
    client, path, page = preferences(person)
    audited = AuditEvent.objects.count()
    client.post(path, {"choice": ["offers__email", "events__email"], "csrfmiddlewaretoken": csrf_of(page)})
    assert state_of(person) == {("newsletter", "email"): ConsentState.WITHDRAWN}
    assert ConsentEvent.objects.filter(person=person).count() == 2  # the grant before, the withdrawal now
    assert AuditEvent.objects.count() == audited + 1  # the withdrawal, nothing more


def test_the_unsubscribe_link_of_a_merged_duplicate_withdraws_on_the_record_it_became(cast, purposes) -> None:
    # Messages sent before the merge still sit in the inbox: their link must still be a way out.
    from registru.people import services as people

    kept, duplicate = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    for person in (kept, duplicate):
        grant(person, purposes["newsletter"])
        grant(person, purposes["offers"])
    path = path_of(links.unsubscribe_url(duplicate.pk, "newsletter"))
    people.merge_people(kept, duplicate, actor=cast.dora, reason="the same person")
    response = Client(enforce_csrf_checks=True).post(path, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert state_of(kept) == {
        ("newsletter", "email"): ConsentState.WITHDRAWN,
        ("offers", "email"): ConsentState.GRANTED,
    }


def test_an_erased_person_s_links_open_nothing(cast, purposes) -> None:
    from registru.people import services as people

    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    paths = [path_of(links.preferences_url(person.pk)), path_of(links.unsubscribe_url(person.pk, "newsletter"))]
    people.erase_person(person, actor=cast.dora, reason="art. 17")
    for path in paths:
        assert Client().post(path, ONE_CLICK, content_type="application/x-www-form-urlencoded").status_code == 400
    assert ConsentEvent.objects.filter(person=person).count() == 1
