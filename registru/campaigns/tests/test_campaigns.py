"""Consent campaigns through their services, against a real SMTP server: the audience, waves,
the send gate, the link, the answer, reminders, expiry, pausing, resuming and cancelling."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from registru.audit.models import AuditEvent
from registru.campaigns import services
from registru.campaigns.audience import Audience, select
from registru.campaigns.models import Campaign, CampaignStatus, Invitation, InvitationStatus
from registru.consent import services as consent
from registru.consent.choices import ConsentMethod, ConsentState
from registru.consent.models import Consent, ConsentEvent
from registru.core.context import service_scope
from registru.mail.models import OutboundMessage
from registru.mail.services import deliver_due
from registru.people import services as people
from registru.portal import links
from registru.testing.consent import make_campaign
from registru.testing.factories import SETUP, PersonFactory
from registru.testing.smtp import body_of

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/p/i/[^/\s]+/")


def link_in(message: Message) -> str:
    found = LINK.search(body_of(message))
    assert found, body_of(message)
    return found.group(0).split("/p/", 1)[1].join(["/p/", ""])


def run(now: Any = None) -> services.Progress:
    return services.advance(now)


def started(purposes: list[Any], **overrides: Any) -> Campaign:
    campaign = make_campaign(purposes, **overrides)
    services.start_campaign(campaign, actor=SETUP)
    return Campaign.objects.get(pk=campaign.pk)


# The audience -------------------------------------------------------------------------------


def test_the_audience_is_who_may_be_asked_and_lacks_consent(cast, purposes) -> None:
    newsletter = purposes["newsletter"]
    asked = PersonFactory(lawful_basis="legitimate_interest")
    has_consent = PersonFactory(lawful_basis="contract")
    consent.grant_consent(has_consent, newsletter, "email", actor=SETUP, method=ConsentMethod.WEB_FORM,
                          notice=newsletter.notices.filter(language="ro").first())  # fmt: skip
    refused = PersonFactory(lawful_basis="contract")
    consent.refuse_consent(refused, newsletter, "email", actor=SETUP, method=ConsentMethod.VERBAL)
    no_email = PersonFactory(emails=[], lawful_basis="contract")
    legal_only = PersonFactory(lawful_basis="legal_obligation")
    archived = PersonFactory(lawful_basis="contract")
    people.archive_person(archived, actor=SETUP)
    chosen = set(select(Audience(), [newsletter], ["email"]).values_list("pk", flat=True))
    assert asked.pk in chosen
    assert chosen.isdisjoint({has_consent.pk, refused.pk, no_email.pk, legal_only.pk, archived.pk})


def test_people_whose_processing_is_restricted_are_not_invited_by_a_new_campaign(cast, purposes) -> None:
    newsletter = purposes["newsletter"]
    asked, kept_out = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    people.restrict_processing(kept_out, actor=cast.dora, ground="accuracy_contested", reason="contestă datele")
    campaign = started([newsletter])
    invited = set(campaign.invitations.values_list("person_id", flat=True))
    assert (asked.pk in invited, kept_out.pk in invited) == (True, False)


def test_an_invitation_queued_before_a_restriction_does_not_leave(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    started([purposes["newsletter"]])
    run()  # the first wave is queued, the person's invitation with it
    assert OutboundMessage.objects.filter(person=person).exists()
    people.restrict_processing(person, actor=cast.dora, ground="legal_claims", reason="litigiu în curs")
    deliver_due()
    assert smtp_inbox.messages
    assert person.primary_email not in {message["To"] for message in smtp_inbox.messages}


def test_the_audience_filters_by_language_and_organization_status(cast, purposes) -> None:
    english = PersonFactory(preferred_language="en", lawful_basis="contract")
    romanian = PersonFactory(preferred_language="ro", lawful_basis="contract", employer=cast.alice_org)
    by_language = set(select(Audience(language="en"), [purposes["events"]], ["email"]).values_list("pk", flat=True))
    assert english.pk in by_language
    assert romanian.pk not in by_language
    status = cast.alice_org.status
    by_status = set(
        select(Audience(organization_status=status), [purposes["events"]], ["email"]).values_list("pk", flat=True)
    )
    assert romanian.pk in by_status
    assert english.pk not in by_status


def test_a_re_consent_wave_selects_consents_older_than_asked(cast, purposes) -> None:
    offers = purposes["offers"]
    old, recent = PersonFactory(lawful_basis="consent"), PersonFactory(lawful_basis="consent")
    for person in (old, recent):
        consent.grant_consent(person, offers, "email", actor=SETUP, method=ConsentMethod.WEB_FORM,
                              notice=offers.notices.filter(language="ro").first())  # fmt: skip
    with transaction.atomic(), service_scope():  # as if granted 800 days ago
        Consent.objects.filter(person=old).update(since=timezone.now() - timedelta(days=800))
    chosen = set(select(Audience(consent="older_than", months=24), [offers], ["email"]).values_list("pk", flat=True))
    assert old.pk in chosen
    assert recent.pk not in chosen


def test_a_person_is_in_one_running_campaign_per_purpose_at_most(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract")
    first = started([purposes["newsletter"]])
    second = started([purposes["newsletter"], purposes["events"]], name="Al doilea")
    third = started([purposes["events"]], name="Al treilea")
    assert first.invitations.filter(person=person).exists()
    assert not second.invitations.filter(person=person).exists()
    # Nobody asks them about events yet, so a campaign for events alone may.
    assert third.invitations.filter(person=person).exists()
    assert Invitation.objects.filter(person=person).count() == 2
    # Once the first campaign is over for them, newsletter may be asked again.
    services.cancel_campaign(first, actor=SETUP)
    fourth = started([purposes["newsletter"]], name="Al patrulea")
    assert fourth.invitations.filter(person=person).exists()


def test_starting_needs_a_draft_and_notices_in_both_languages(cast, purposes) -> None:
    campaign = started([purposes["newsletter"]])
    with pytest.raises(ValidationError):
        services.start_campaign(campaign, actor=SETUP)
    purposes["events"].notices.filter(language="en").delete()
    with pytest.raises(ValidationError):
        make_campaign([purposes["events"]])


# Waves, delivery, the link and the answer ----------------------------------------------------


def test_waves_go_out_an_hour_apart(cast, purposes, smtp_inbox) -> None:
    for _ in range(5):
        PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]], wave_size=3)
    invited = campaign.invitations.count()
    assert invited >= 5
    assert run().queued == 3
    assert run().queued == 0  # the next wave is not due yet
    deliver_due()
    assert len(smtp_inbox.messages) == 3
    assert run(timezone.now() + timedelta(hours=1, seconds=1)).queued == min(3, invited - 3)
    deliver_due()
    waves = set(campaign.invitations.filter(status=InvitationStatus.SENT).values_list("wave", flat=True))
    assert waves == {0, 1}


def test_a_campaign_end_to_end_through_the_link(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract", given_name="Ioana")
    chosen = [purposes["newsletter"], purposes["offers"], purposes["events"]]
    campaign = started(chosen, channels=["email"])
    run()
    deliver_due()
    message = next(m for m in smtp_inbox.messages if m["To"] == person.primary_email)
    assert "Ioana" in body_of(message)
    invitation = Invitation.objects.get(campaign=campaign, person=person)
    assert invitation.status == InvitationStatus.SENT
    assert invitation.sent_at is not None

    browser = Client(enforce_csrf_checks=False)
    page = browser.get(link_in(message))
    assert page.status_code == 200
    for purpose in chosen:
        assert purpose.notices.get(language="ro").text in page.content.decode()
    assert "checked" not in page.content.decode()  # nothing pre-ticked
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.SENT  # fetched is not opened

    answer = browser.post(link_in(message), {"choice": ["newsletter__email", "events__email"]},
                          HTTP_USER_AGENT="Mozilla/5.0 (Android)", REMOTE_ADDR="203.0.113.7")  # fmt: skip
    assert answer.status_code == 200
    states = dict(Consent.objects.filter(person=person).values_list("purpose__code", "state"))
    assert states == {"newsletter": "granted", "events": "granted", "offers": "refused"}
    events = ConsentEvent.objects.filter(person=person, invitation_id=invitation.pk)
    assert events.count() == 3
    assert {event.method for event in events} == {ConsentMethod.DOUBLE_OPT_IN}
    granted = events.get(purpose__code="newsletter")
    assert granted.notice_hash == purposes["newsletter"].notices.get(language="ro").text_hash
    assert "203.0.113.7" not in str(granted.evidence)  # evidence is stored encrypted
    assert AuditEvent.objects.filter(subject_id=person.pk, action="consent.granted").count() == 2
    assert AuditEvent.objects.filter(subject_id=person.pk, action="consent.refused").count() == 1
    invitation.refresh_from_db()
    assert (invitation.status, invitation.outcome) == (InvitationStatus.ANSWERED, "granted")


def test_answering_twice_changes_nothing(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    started([purposes["newsletter"]])
    run()
    deliver_due()
    url = link_in(next(m for m in smtp_inbox.messages if m["To"] == person.primary_email))
    assert Client().post(url, {"choice": ["newsletter__email"]}).status_code == 200
    ledger = ConsentEvent.objects.count()
    again = Client().post(url, {})
    assert again.status_code == 409
    assert "Ați răspuns deja" in again.content.decode()  # in the person's language (Romanian)
    assert ConsentEvent.objects.count() == ledger
    assert Consent.objects.get(person=person).state == ConsentState.GRANTED


def test_a_box_not_offered_is_refused_and_changes_nothing(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    started([purposes["newsletter"]])
    run()
    deliver_due()
    url = link_in(next(m for m in smtp_inbox.messages if m["To"] == person.primary_email))
    answer = Client().post(url, {"choice": ["newsletter__email", "offers__email"]})
    assert answer.status_code == 400
    assert not ConsentEvent.objects.filter(person=person).exists()


def test_invitations_are_not_sent_to_who_cannot_be_asked_any_more(cast, purposes, smtp_inbox) -> None:
    person = PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]])
    run()
    consent.refuse_consent(person, purposes["newsletter"], "email", actor=SETUP, method=ConsentMethod.VERBAL)
    deliver_due()
    assert person.primary_email not in {m["To"] for m in smtp_inbox.messages}
    assert Invitation.objects.get(campaign=campaign, person=person).status == InvitationStatus.BLOCKED


# Pause, resume, cancel ------------------------------------------------------------------------


def test_pausing_holds_queued_messages_and_resuming_sends_them(cast, purposes, smtp_inbox) -> None:
    PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]])
    run()
    services.pause_campaign(campaign, actor=SETUP)
    assert deliver_due().sent == 0
    assert smtp_inbox.messages == []
    assert run().queued == 0
    services.resume_campaign(campaign, actor=SETUP)
    assert deliver_due().sent == campaign.invitations.count()


def test_cancelling_stops_everything_and_closes_the_links(cast, purposes, smtp_inbox) -> None:
    first, second = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]], wave_size=1)
    run()
    deliver_due()
    sent = list(smtp_inbox.messages)
    assert len(sent) == 1
    services.cancel_campaign(campaign, actor=SETUP)
    assert run(timezone.now() + timedelta(hours=5)).queued == 0
    deliver_due()
    assert len(smtp_inbox.messages) == 1
    page = Client().post(link_in(sent[0]), {"choice": ["newsletter__email"]})
    assert page.status_code == 409
    assert not ConsentEvent.objects.filter(person__in=[first, second]).exists()
    assert set(campaign.invitations.values_list("status", flat=True)) == {InvitationStatus.CANCELLED}
    with pytest.raises(ValidationError):
        services.resume_campaign(campaign, actor=SETUP)


# Reminders, expiry, the end -----------------------------------------------------------------


def test_reminders_go_to_who_has_not_answered_up_to_the_count(cast, purposes, smtp_inbox) -> None:
    quiet, answering = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    started([purposes["newsletter"]], reminders=2, reminder_days=3)
    run()
    deliver_due()
    url = link_in(next(m for m in smtp_inbox.messages if m["To"] == answering.primary_email))
    Client().post(url, {"choice": []})
    base = timezone.now()
    assert run(base + timedelta(days=2)).reminded == 0
    assert run(base + timedelta(days=3, minutes=1)).reminded >= 1
    assert run(base + timedelta(days=3, minutes=2)).reminded == 0  # not twice for the same step
    assert run(base + timedelta(days=6, minutes=1)).reminded >= 1
    assert run(base + timedelta(days=20)).reminded == 0  # two at most
    deliver_due()
    to_quiet = [m for m in smtp_inbox.messages if m["To"] == quiet.primary_email]
    to_answering = [m for m in smtp_inbox.messages if m["To"] == answering.primary_email]
    assert len(to_quiet) == 3
    assert len(to_answering) == 1
    # The reminder opens the same invitation (the signature's timestamp may differ).
    first, reminder = (links.read_invitation(link_in(m).split("/")[3], timedelta(days=1)) for m in to_quiet[::2])
    assert (first.record_id, first.nonce) == (reminder.record_id, reminder.nonce)


@pytest.mark.parametrize("policy", ["nothing", "refuse"])
def test_invitations_expire_and_non_responders_are_handled_as_chosen(cast, purposes, smtp_inbox, policy) -> None:
    person = PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"], purposes["offers"]], channels=["email", "sms"],
                       valid_days=10, reminders=0, non_responders=policy)  # fmt: skip
    run()
    deliver_due()
    url = link_in(next(m for m in smtp_inbox.messages if m["To"] == person.primary_email))
    later = timezone.now() + timedelta(days=10, minutes=1)
    assert run(later).expired == campaign.invitations.count()
    invitation = Invitation.objects.get(campaign=campaign, person=person)
    assert invitation.status == InvitationStatus.EXPIRED
    states = set(Consent.objects.filter(person=person).values_list("purpose__code", "channel", "state"))
    if policy == "refuse":
        assert states == {("newsletter", "email", "refused"), ("offers", "email", "refused"),
                          ("offers", "sms", "refused")}  # fmt: skip
    else:
        assert states == set()
    assert Client().get(url).status_code == 410
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.FINISHED


def test_advancing_twice_at_once_queues_each_message_once(cast, purposes, smtp_inbox) -> None:
    for _ in range(4):
        PersonFactory(lawful_basis="contract")
    campaign = started([purposes["newsletter"]])
    run()
    # A second worker that missed the update replays the same wave: the keys make it a no-op.
    with transaction.atomic(), service_scope():
        Invitation.objects.filter(campaign=campaign).update(status=InvitationStatus.PENDING)
        services._queue_invitations(campaign, campaign.invitations.all(), timezone.now())
    assert OutboundMessage.objects.filter(campaign_id=campaign.pk).count() == campaign.invitations.count()
    deliver_due()
    assert len(smtp_inbox.message_ids()) == len(set(smtp_inbox.message_ids())) == campaign.invitations.count()


def test_each_step_of_the_lifecycle_is_in_the_trail_with_its_actor(cast, purposes) -> None:
    PersonFactory(lawful_basis="contract")
    campaign = make_campaign([purposes["newsletter"]], actor=cast.mara)
    services.start_campaign(campaign, actor=cast.mara)
    services.pause_campaign(campaign, actor=cast.bob)
    services.resume_campaign(campaign, actor=cast.bob)
    services.cancel_campaign(campaign, actor=cast.mara)
    trail = list(
        AuditEvent.objects.filter(target_id=campaign.pk, action__startswith="campaign.")
        .order_by("id")
        .values_list("action", "actor_id")
    )
    assert trail == [
        ("campaign.saved", cast.mara.pk), ("campaign.started", cast.mara.pk), ("campaign.paused", cast.bob.pk),
        ("campaign.resumed", cast.bob.pk), ("campaign.cancelled", cast.mara.pk),
    ]  # fmt: skip
