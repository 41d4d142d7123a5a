"""The edges of a campaign's life: erasure in the middle of it, pauses longer than an invitation
lives, reminders that outlive the question, consents given meanwhile, a form sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from registru.campaigns import services
from registru.campaigns.models import Campaign, InvitationStatus, Mailing
from registru.campaigns.services.mailings import send_mailing
from registru.conftest import login
from registru.consent import services as consent
from registru.consent.choices import ConsentMethod, ConsentState
from registru.consent.models import Consent, ConsentEvent
from registru.mail.models import MessageStatus, OutboundMessage
from registru.mail.services import deliver_due
from registru.people import services as people
from registru.testing.consent import make_campaign
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


def started(purposes: list, **overrides) -> Campaign:
    campaign = make_campaign(purposes, **overrides)
    services.start_campaign(campaign, actor=SETUP)
    return Campaign.objects.get(pk=campaign.pk)


def grant(person, purpose) -> None:
    notice = purpose.notices.get(language=person.preferred_language)
    consent.grant_consent(person, purpose, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=notice)


def states(person) -> dict[str, str]:
    return {row.purpose.code: row.state for row in Consent.objects.filter(person=person)}


def test_erasing_an_invited_person_closes_their_invitation_and_the_clock_keeps_going(
    cast, purposes, smtp_inbox
) -> None:
    erased, other = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    first = started([purposes["newsletter"]], non_responders="refuse", valid_days=10)
    services.advance()
    deliver_due()
    people.erase_person(erased, actor=cast.dora, reason="art. 17")
    assert first.invitations.get(person=erased).status == InvitationStatus.CANCELLED
    later = timezone.now() + timedelta(days=11)
    progress = services.advance(later)  # must not fail on the erased person
    assert progress.expired >= 1
    assert first.invitations.get(person=other).status == InvitationStatus.EXPIRED
    assert states(other) == {"newsletter": ConsentState.REFUSED}
    assert not ConsentEvent.objects.filter(person=erased).exists()


def test_the_expiry_sweep_passes_over_erased_people(cast, purposes) -> None:
    erased, other = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    newsletter = purposes["newsletter"]
    newsletter.validity_days = 30
    newsletter.save()
    for person in (erased, other):
        grant(person, newsletter)
    people.erase_person(erased, actor=cast.dora, reason="art. 17")
    assert consent.expire_consents(timezone.now() + timedelta(days=31)) == 1
    assert states(other) == {"newsletter": ConsentState.EXPIRED}


def test_a_pause_longer_than_the_invitation_lives_expires_nothing_never_sent(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]], non_responders="refuse", valid_days=10)
    services.pause_campaign(campaign, actor=SETUP)
    services.advance()  # the wave is due but held: queued, not sent
    services.advance(timezone.now() + timedelta(days=40))
    invitation = campaign.invitations.get(person=person)
    assert invitation.status != InvitationStatus.EXPIRED
    assert not ConsentEvent.objects.filter(person=person).exists()
    services.resume_campaign(campaign, actor=SETUP)
    services.advance()
    deliver_due()
    assert [m["To"] for m in smtp_inbox.messages].count(person.primary_email) == 1
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert invitation.expires_at is not None
    assert invitation.expires_at > timezone.now() + timedelta(days=9)  # counted from the sending


def test_a_reminder_queued_before_the_answer_is_not_sent_after_it(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]], reminders=1, reminder_days=3)
    services.advance()
    deliver_due()
    services.advance(timezone.now() + timedelta(days=3, minutes=1))  # the reminder is queued...
    invitation = campaign.invitations.get(person=person)
    services.answer_invitation(invitation, {"newsletter__email"}, actor=SETUP, evidence=consent.Evidence())
    deliver_due()  # ...and the gate stops it: the question has been answered
    assert [m["To"] for m in smtp_inbox.messages].count(person.primary_email) == 1
    reminder = OutboundMessage.objects.get(person=person, idempotency_key__endswith=":reminder-1")
    assert reminder.status == MessageStatus.BLOCKED
    assert "answered" in reminder.last_error


def test_no_consent_for_non_responders_never_overrides_a_consent_given_meanwhile(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    started([purposes["newsletter"], purposes["events"]], non_responders="refuse", valid_days=10)
    services.advance()
    deliver_due()
    grant(person, purposes["newsletter"])  # on paper, say, while the invitation was open
    services.advance(timezone.now() + timedelta(days=11))
    assert states(person) == {"newsletter": ConsentState.GRANTED, "events": ConsentState.REFUSED}


def test_an_empty_box_does_not_take_back_a_valid_consent(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    campaign = started([purposes["newsletter"], purposes["events"]], audience={"consent": "missing"})
    services.advance()
    deliver_due()
    invitation = campaign.invitations.get(person=person)
    services.answer_invitation(invitation, {"events__email"}, actor=SETUP, evidence=consent.Evidence())
    assert states(person) == {"newsletter": ConsentState.GRANTED, "events": ConsentState.GRANTED}


def test_a_mailing_form_sent_twice_queues_one_mailing(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract")
    grant(person, purposes["newsletter"])
    form = {"purpose": purposes["newsletter"].pk, "subject_ro": "Noutăți", "body_ro": "Bună!",
            "subject_en": "News", "body_en": "Hello!", "token": "6f1c1a52-4a1e-4d8e-9a43-3f0b8e2f6a11"}  # fmt: skip
    client = login(cast.mara)
    for _ in range(2):
        assert client.post("/campaigns/mailings/new/", form).status_code == 302
    assert Mailing.objects.count() == 1
    assert OutboundMessage.objects.filter(person=person, kind="marketing").count() == 1
    # A new form (a new token) is a new mailing.
    values = {"purpose": purposes["newsletter"], "subject_ro": "A doua", "body_ro": "Bună!",
              "subject_en": "Second", "body_en": "Hello!"}  # fmt: skip
    send_mailing(values, actor=SETUP)
    assert Mailing.objects.count() == 2


def test_the_page_of_an_answered_invitation_still_says_so(cast, purposes) -> None:
    # Sanity of the portal after the gate change: a closed invitation answers 409, not 500.
    from registru.portal import links

    person = PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]])
    services.advance()
    invitation = campaign.invitations.get(person=person)
    services.answer_invitation(invitation, set(), actor=SETUP, evidence=consent.Evidence())
    url = links.invitation_url(invitation.pk, person.pk, campaign.pk, invitation.notices)
    assert Client().get(url.removeprefix(links.absolute(""))).status_code == 409


def test_the_mailing_sent_message_counts_one_person_in_the_singular(cast, purposes) -> None:
    grant(PersonFactory(lawful_basis="contract"), purposes["newsletter"])
    form = {"purpose": purposes["newsletter"].pk, "subject_ro": "Noutăți", "body_ro": "Bună!",
            "subject_en": "News", "body_en": "Hello!", "token": "0d3cf5b6-81a4-4f7e-a0c2-5b7e1f0e9d21"}  # fmt: skip
    page = login(cast.mara).post("/campaigns/mailings/new/", form, follow=True).content.decode()
    assert "Mailing queued for 1 person with a valid consent." in page


def test_a_mailing_puts_the_given_name_in_the_subject_too(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract", given_name="Ecaterina", preferred_language="ro")
    grant(person, purposes["newsletter"])
    values = {"purpose": purposes["newsletter"], "subject_ro": "Bună, {name}!", "body_ro": "Noutăți, {name}.",
              "subject_en": "Hello, {name}!", "body_en": "News, {name}."}  # fmt: skip
    send_mailing(values, actor=SETUP)
    message = OutboundMessage.objects.get(person=person, kind="marketing")
    assert message.subject == "Bună, Ecaterina!"
