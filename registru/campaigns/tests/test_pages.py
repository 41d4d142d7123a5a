"""Who may see the campaign and Outbox pages, and what they show: counts, not people."""

from __future__ import annotations

import pytest

from registru.audit.models import AuditEvent
from registru.campaigns import services
from registru.campaigns.models import CampaignStatus
from registru.conftest import login
from registru.mail.models import OutboundMessage
from registru.testing.consent import make_campaign
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(cast, purposes):
    person = PersonFactory(lawful_basis="contract", given_name="Ecaterina", family_name="Vlăduțescu")
    campaign = make_campaign([purposes["newsletter"], purposes["events"]])
    services.start_campaign(campaign, actor=SETUP)
    services.advance()
    return campaign, person


@pytest.mark.parametrize("user", ["alice", "carol", "audra", "dora", "admin"])
def test_campaigns_are_run_by_managers_and_marketing_only(cast, running, user) -> None:
    campaign, _ = running
    client = login(getattr(cast, user))
    for url in ("/campaigns/", "/campaigns/new/", f"/campaigns/{campaign.pk}/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/campaigns/{campaign.pk}/pause/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING


def test_marketing_sees_how_a_campaign_goes_but_not_who_is_in_it(cast, running) -> None:
    campaign, person = running
    client = login(cast.mara)
    for url in (f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/progress/"):
        page = client.get(url).content.decode()
        assert "Vlăduțescu" not in page
        assert person.primary_email not in page
    assert str(campaign.invitations.count()) in client.get(f"/campaigns/{campaign.pk}/progress/").content.decode()


def test_marketing_pauses_and_resumes_a_campaign_from_its_page(cast, running) -> None:
    campaign, _ = running
    client = login(cast.mara)
    assert client.post(f"/campaigns/{campaign.pk}/pause/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    client.post(f"/campaigns/{campaign.pk}/resume/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING


@pytest.mark.parametrize("user", ["alice", "bob", "mara", "dora", "audra"])
def test_only_administrators_read_the_outbox(cast, running, user) -> None:
    message = OutboundMessage.objects.exclude(person=None).earliest("pk")
    client = login(getattr(cast, user))
    assert client.get("/outbox/").status_code == 403
    assert client.get(f"/outbox/{message.pk}/").status_code == 403


def test_reading_a_message_in_the_local_mailbox_is_recorded(cast, running, settings) -> None:
    settings.MAIL_TRANSPORT = "mailbox"
    message = OutboundMessage.objects.exclude(person=None).earliest("pk")
    admin = login(cast.admin)
    listing = admin.get("/outbox/").content.decode()
    assert f"/outbox/{message.pk}/" in listing
    page = admin.get(f"/outbox/{message.pk}/").content.decode()
    assert "/p/i/" in page  # the newcomer can click the consent link
    assert AuditEvent.objects.filter(action="mail.read", subject_id=message.person_id).count() == 1


def test_with_a_real_mail_server_the_outbox_shows_no_bodies(cast, running, settings) -> None:
    settings.MAIL_TRANSPORT = "smtp"
    message = OutboundMessage.objects.exclude(person=None).earliest("pk")
    page = login(cast.admin).get(f"/outbox/{message.pk}/").content.decode()
    assert "/p/i/" not in page
    assert not AuditEvent.objects.filter(action="mail.read").exists()
