"""When an invitation counts as opened: when a person uses its page, not when its link is fetched.

Mail filters fetch the links in a message before the person sees it (and again when it is
opened): a fetch must leave the invitation, the campaign's counts and the audit trail as they
were. The page's script reports the person's first tap, click or key (``portal.js``); an answer
counts as opening too, for a browser that runs no script."""

from __future__ import annotations

import copy
import re
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from registru.audit.models import AuditEvent
from registru.campaigns import services as campaigns
from registru.campaigns.models import Invitation, InvitationStatus
from registru.campaigns.selectors import progress
from registru.core.context import service_scope
from registru.portal import links
from registru.testing.consent import make_campaign
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db
SCANNERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Microsoft Office Protocol Discovery",
    "Barracuda Sentinel (EE)",
    "",
)


@pytest.fixture
def sent(cast, purposes) -> Invitation:
    """One person invited to a running campaign, the message sent."""
    person = PersonFactory(lawful_basis="contract")
    campaign = make_campaign([purposes["newsletter"], purposes["events"]])
    campaigns.start_campaign(campaign, actor=SETUP)
    campaigns.advance()
    with transaction.atomic(), service_scope():  # as the delivery would
        campaign.invitations.update(status=InvitationStatus.SENT)
    return campaign.invitations.get(person=person)


def path_of(invitation: Invitation) -> str:
    url = links.invitation_url(invitation.pk, invitation.person_id, invitation.campaign_id, invitation.notices)
    return url.removeprefix(links.absolute(""))


def recorded(invitation: Invitation) -> tuple[Any, ...]:
    """What opening could change: the invitation, the campaign's count, the audit trail."""
    invitation.refresh_from_db()
    total, _waves = progress(invitation.campaign)
    return invitation.status, invitation.opened_at, total.counts["opened"], list(AuditEvent.objects.values_list("id"))


def opened_events(invitation: Invitation) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(action="invitation.opened", target_id=invitation.pk).values_list("action", "channel")
    )


def report_of(page: Any) -> tuple[str, str]:
    """The address the page's script reports to, and the form's CSRF token it sends along."""
    html = page.content.decode()
    [url] = re.findall(r'data-opened-url="([^"]+)"', html)
    [token] = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return url, token


def test_it_records_nothing_when_a_mail_filter_fetches_the_link(sent) -> None:
    before = recorded(sent)
    for agent in SCANNERS:
        for _ in range(2):
            assert Client(headers={"user-agent": agent}).get(path_of(sent)).status_code == 200
    assert recorded(sent) == before
    assert before[:3] == (InvitationStatus.SENT, None, 0)


def test_it_records_opened_once_when_the_page_reports_a_persons_first_interaction(sent) -> None:
    browser = Client(enforce_csrf_checks=True)
    url, token = report_of(browser.get(path_of(sent)))
    for _ in range(3):  # the script reports once; a page reloaded or opened twice reports again
        assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 204
    status, opened_at, counted, _trail = recorded(sent)
    assert (status, opened_at is not None, counted) == (InvitationStatus.OPENED, True, 1)
    assert opened_events(sent) == [("invitation.opened", "portal")]


def test_a_browser_without_script_counts_as_opened_when_the_person_answers(sent) -> None:
    browser = Client()
    assert browser.get(path_of(sent)).status_code == 200
    assert recorded(sent)[:3] == (InvitationStatus.SENT, None, 0)
    assert browser.post(path_of(sent), {"choice": ["newsletter__email"]}).status_code == 200
    status, opened_at, counted, _trail = recorded(sent)
    assert (status, opened_at == sent.answered_at, counted) == (InvitationStatus.ANSWERED, True, 1)
    assert opened_events(sent) == [("invitation.opened", "portal")]


def test_the_report_takes_no_get_no_post_from_elsewhere_and_no_altered_link(sent) -> None:
    browser = Client(enforce_csrf_checks=True)
    url, token = report_of(browser.get(path_of(sent)))
    before = recorded(sent)
    assert browser.get(url).status_code == 405  # a fetched link records nothing, here either
    assert Client(enforce_csrf_checks=True).post(url, {}).status_code == 403  # another site's form
    altered = url.replace("/p/i/", "/p/i/x")
    assert browser.post(altered, {"csrfmiddlewaretoken": token}).status_code == 400
    assert recorded(sent) == before


def test_a_report_after_the_answer_changes_nothing(sent) -> None:
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path_of(sent))
    url, token = report_of(page)
    assert browser.post(path_of(sent), {"choice": [], "csrfmiddlewaretoken": token}).status_code == 200
    before = recorded(sent)
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 409
    assert recorded(sent) == before
    assert len(opened_events(sent)) == 1


# As in test_links: SQLite's in-memory test database cannot hold two writers; CI runs this on
# PostgreSQL, where the race is real.
@pytest.mark.skipif(connection.vendor == "sqlite", reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_two_reports_at_the_same_moment_record_one_opening(cast, purposes) -> None:
    person = PersonFactory(lawful_basis="contract")
    campaign = make_campaign([purposes["newsletter"]])
    campaigns.start_campaign(campaign, actor=SETUP)
    campaigns.advance()
    invitation = campaign.invitations.get(person=person)
    browser = Client(enforce_csrf_checks=True)
    url, token = report_of(browser.get(path_of(invitation)))
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def report() -> None:
        try:
            barrier.wait()
            tab = Client(enforce_csrf_checks=True)  # the same browser's cookie, a client per thread
            tab.cookies = copy.deepcopy(browser.cookies)
            statuses.append(tab.post(url, {"csrfmiddlewaretoken": token}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=report) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [204, 204]
    assert len(opened_events(invitation)) == 1
