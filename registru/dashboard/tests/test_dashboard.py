"""The dashboard: what is due and what is wrong, counted as the linked pages show it, for whom."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from registru.accounts.models import AccessRequest, User, ViewAlert, ViewBlock
from registru.accounts.models.grants import GrantAccess
from registru.accounts.services.budget import charge
from registru.accounts.services.grants import approve_access_request, file_access_request
from registru.accounts.services.policy import save_role_policy
from registru.audit.services.checkpoints import create_checkpoint
from registru.audit.services.verification import record_outcome, run_verification
from registru.campaigns import services as campaigns
from registru.conftest import Cast, login
from registru.core.context import service_scope
from registru.dashboard.selectors import overview_for
from registru.exports import services as exports
from registru.exports.models import ExportRequest
from registru.mail.models import MessageKind, MessageStatus, OutboundMessage
from registru.mail.services import queue_message
from registru.people import services as people
from registru.people.choices import RestrictionGround
from registru.people.models import Person
from registru.people.selectors import PeopleFilter
from registru.questionnaires import services as questionnaires
from registru.questionnaires.models import Request
from registru.testing.consent import make_campaign
from registru.testing.factories import SETUP, PersonFactory, UserFactory
from registru.testing.questionnaires import make_questionnaire

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _exports_elsewhere(settings: Any, tmp_path: Any) -> None:
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.EXPORT_APPROVAL_THRESHOLD = 0  # every export waits for a second person


@pytest.fixture
def healthy(cast: Cast) -> None:
    """The trail sealed, signed and verified just now: nothing wrong with it."""
    create_checkpoint()
    run_verification()


def page(user: User) -> str:
    response = login(user).get("/dashboard/")
    assert response.status_code == 200
    return response.content.decode()


def item(user: User, name: str, *, whole: bool = False) -> str:
    """The text of the link of one item of the user's dashboard, or of the whole item ("" when
    it is not there)."""
    found = re.search(rf'data-item="{name}">(.*?)</(?:li|div)>', page(user), re.DOTALL)
    if not found:
        return ""
    text = found.group(1) if whole else found.group(1).split("</a>")[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()


def export_by(user: User) -> ExportRequest:
    """An export of everyone in the user's scope, which waits for approval."""
    return exports.request_export(
        actor=user, criteria=PeopleFilter(), fields=["given_name", "family_name"], fmt="csv",
        purpose="Invitații la seminarul de primăvară",
    )  # fmt: skip


def access_request_for(person: Person, *, days: int = 5) -> AccessRequest:
    outsider = UserFactory(role="agent")  # no team: every record is outside their scope
    return file_access_request(
        actor=outsider, identified_by="email", identifier=person.primary_email, access=GrantAccess.VIEW,
        days=days, reason="are nevoie de contact pentru o licitație",
    )  # fmt: skip


def block_of(user: User) -> ViewBlock:
    alert = ViewAlert.objects.create(user=user, window="day", window_start=timezone.now(), level="hard", count=120)
    return ViewBlock.objects.create(user=user, alert=alert)


def correction_of(person: Person) -> None:
    """The person corrects their job title on a questionnaire whose corrections are reviewed."""
    questionnaire = make_questionnaire(review=True, fields=["job_title"], questions=[])
    questionnaires.run()
    request = Request.objects.get(questionnaire=questionnaire, person=person)
    submission = questionnaires.Submission(texts={"job_title": "Director de vânzări"}, answers={}, confirm_all=False)
    evidence = SimpleNamespace(ip="", user_agent="")
    questionnaires.submit(request, submission, actor=questionnaires.subject_actor(questionnaire), evidence=evidence)


def message_to(person: Person, key: str) -> OutboundMessage:
    return queue_message(actor=SETUP, key=key, person=person, recipient=person.primary_email, subject="Notificare",
                         body="Bună ziua!", kind=MessageKind.SERVICE)  # fmt: skip


def set_message(message: OutboundMessage, **state: Any) -> None:
    with transaction.atomic(), service_scope():
        OutboundMessage.objects.filter(pk=message.pk).update(**state)


# --- who has a dashboard, and where each role starts ------------------------------------------


def test_it_sends_anonymous_visitors_to_the_login_page(db: Any) -> None:
    response = Client().get("/dashboard/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/dashboard/")


def test_it_refuses_an_agent_whose_role_has_no_item(cast: Cast) -> None:
    assert login(cast.alice).get("/dashboard/").status_code == 403


def test_it_offers_the_agent_no_link_to_it(cast: Cast) -> None:
    assert "/dashboard/" not in login(cast.alice).get("/people/").content.decode()


def test_it_offers_a_manager_a_link_to_it_from_the_records(cast: Cast) -> None:
    assert 'href="/dashboard/"' in login(cast.bob).get("/people/").content.decode()


@pytest.mark.parametrize(
    ("role", "start"),
    [("dora", "/dashboard/"), ("audra", "/dashboard/"), ("mara", "/dashboard/"),
     ("bob", "/people/"), ("admin", "/people/"), ("alice", "/people/")],
)  # fmt: skip
def test_it_is_where_the_dpo_and_the_roles_without_records_start(cast: Cast, role: str, start: str) -> None:
    assert login(getattr(cast, role)).get("/")["Location"] == start


def test_it_is_never_cached(cast: Cast) -> None:
    assert login(cast.dora).get("/dashboard/")["Cache-Control"] == "no-store"


def test_it_puts_no_inline_script_or_style_in_the_page(cast: Cast) -> None:
    export_by(cast.alice)
    html = page(cast.dora)
    inline = (re.search(r"<script(?![^>]*\bsrc=)", html), " style=" in html, "<style" in html,
              re.search(r"\son[a-z]+=", html))  # fmt: skip
    assert inline == (None, False, False, None)


# --- the empty state, and the queries --------------------------------------------------------


def test_it_says_nothing_is_due_when_all_is_well(cast: Cast, healthy: None) -> None:
    assert "Nothing is due." in page(cast.dora)


def test_it_does_not_say_nothing_is_due_while_something_is(cast: Cast, healthy: None) -> None:
    export_by(cast.alice)
    assert "Nothing is due." not in page(cast.dora)


def test_it_counts_with_one_query_an_item_however_many_wait(
    cast: Cast, healthy: None, django_assert_num_queries: Any
) -> None:
    for _ in range(3):
        export_by(cast.alice)
        access_request_for(PersonFactory(owner=cast.carol))
    block_of(cast.carol)
    # The trail's verification, checkpoint and unsigned tail, alerts, exports, access requests,
    # grants ending, blocks, corrections and restrictions: one query each.
    with django_assert_num_queries(10):
        overview_for(cast.dora)


def test_the_page_makes_no_query_beyond_its_counts_and_the_session(
    cast: Cast, healthy: None, django_assert_num_queries: Any
) -> None:
    export_by(cast.alice)
    client = login(cast.dora)
    client.get("/dashboard/")  # the first request of a session records its device
    with django_assert_num_queries(10 + 3):  # the counts; the session, its user, its device
        client.get("/dashboard/")


# --- the audit trail --------------------------------------------------------------------------


def test_it_warns_when_events_wait_for_a_signature_for_twice_the_interval(cast: Cast, healthy: None) -> None:
    PersonFactory(owner=cast.alice)  # after the checkpoint: not signed yet
    later = timezone.now() + timedelta(minutes=31)
    assert overview_for(cast.dora, now=later).trail.checkpoint_overdue  # type: ignore[union-attr]
    assert item(cast.dora, "trail-checkpoint") == ""  # just written: not overdue now


def test_it_names_the_unsigned_tail_and_the_interval(cast: Cast, settings: Any) -> None:
    settings.AUDIT_CHECKPOINT_MINUTES = -1  # any tail is overdue at once, however fast the page is
    PersonFactory(owner=cast.alice)
    text = item(cast.dora, "trail-checkpoint")
    assert text.startswith("Events of the last ")
    assert "are not covered by a signed checkpoint yet; one is signed every" in text


def test_it_does_not_warn_while_the_tail_is_younger_than_twice_the_interval(cast: Cast, healthy: None) -> None:
    PersonFactory(owner=cast.alice)
    later = timezone.now() + timedelta(minutes=29)
    assert not overview_for(cast.dora, now=later).trail.checkpoint_overdue  # type: ignore[union-attr]


def test_it_does_not_warn_when_every_event_is_signed(cast: Cast, healthy: None) -> None:
    later = timezone.now() + timedelta(days=3)
    assert not overview_for(cast.dora, now=later).trail.checkpoint_overdue  # type: ignore[union-attr]


def test_it_warns_when_the_last_verification_found_damage(cast: Cast, healthy: None) -> None:
    record_outcome({"finished_at": timezone.now(), "intact": False, "events": 3, "batches": 1, "unsealed": 0,
                    "first_finding": "event 2: edited"})  # fmt: skip
    assert item(cast.dora, "trail-damaged") == "The last verification found the audit trail damaged."


def test_it_shows_the_auditor_the_trail_and_nothing_else(cast: Cast, healthy: None) -> None:
    export_by(cast.alice)
    assert (item(cast.audra, "exports"), "Nothing is due." in page(cast.audra)) == ("", True)


def test_it_counts_the_alerts_of_viewing_above_the_limit_as_the_trail_lists_them(cast: Cast, healthy: None) -> None:
    save_role_policy("agent", {"views_per_hour_soft": 1, "views_per_hour_hard": 50, "views_per_day_soft": 50,
                               "views_per_day_hard": 100}, actor=SETUP)  # fmt: skip
    charge(cast.alice, [PersonFactory(owner=cast.alice).pk for _ in range(3)])
    link = re.search(r'data-item="view-alerts"><a href="([^"]+)"', page(cast.dora)).group(1)  # type: ignore[union-attr]
    listed = login(cast.dora).get(link.replace("&amp;", "&")).context["events"]
    assert (overview_for(cast.dora).view_alerts, len(listed)) == (1, 1)


def test_it_forgets_the_alerts_of_more_than_a_week_ago(cast: Cast, healthy: None) -> None:
    alert = ViewAlert.objects.create(user=cast.alice, window="hour", window_start=timezone.now(), level="soft", count=9)
    ViewAlert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(days=9))
    assert "Nothing is due." in page(cast.dora)


def test_it_shows_a_manager_nothing_of_the_trail(cast: Cast) -> None:
    ViewAlert.objects.create(user=cast.alice, window="hour", window_start=timezone.now(), level="soft", count=9)
    assert "Nothing is due." in page(cast.bob)  # no checkpoint, no verification: not bob's to know


# --- exports ----------------------------------------------------------------------------------


def test_it_counts_the_exports_waiting_for_approval_and_the_longest_wait(cast: Cast, healthy: None) -> None:
    export_by(cast.alice)
    export_by(cast.bob)
    assert item(cast.dora, "exports", whole=True) == "2 exports wait for your approval longest wait: 0 minutes"


def test_it_counts_for_a_manager_only_the_exports_of_their_team(cast: Cast, healthy: None) -> None:
    export_by(cast.carol)  # team B: not bob's to approve
    export_by(cast.alice)
    assert item(cast.bob, "exports") == "1 export waits for your approval"


def test_it_does_not_count_the_users_own_export(cast: Cast, healthy: None) -> None:
    export_by(cast.dora)
    assert "Nothing is due." in page(cast.dora)


# --- access requests and grants ---------------------------------------------------------------


def test_it_counts_the_access_requests_waiting_for_the_users_decision(cast: Cast, healthy: None) -> None:
    access_request_for(cast.carol_person)
    assert item(cast.dora, "access") == "1 access request waits for your decision"


def test_it_does_not_count_for_a_manager_a_request_outside_their_team(cast: Cast, healthy: None) -> None:
    access_request_for(cast.carol_person)  # carol is in team B
    assert item(cast.bob, "access") == ""


def test_it_counts_the_grants_that_end_within_three_days(cast: Cast, healthy: None) -> None:
    for days in (2, 10):
        approve_access_request(access_request_for(cast.andrei_person, days=days), actor=cast.bob)
    assert item(cast.bob, "grants-ending").startswith("1 access grant that you can revoke ends before")


# --- viewing blocks ---------------------------------------------------------------------------


def test_it_counts_the_viewing_blocks_in_force_in_the_users_scope(cast: Cast, healthy: None) -> None:
    block_of(cast.carol)  # team B
    block_of(cast.andrei)
    assert (item(cast.dora, "blocks"), item(cast.bob, "blocks")) == (
        "2 viewing blocks in force", "1 viewing block in force"
    )  # fmt: skip


def test_it_forgets_a_block_once_lifted(cast: Cast, healthy: None) -> None:
    from registru.accounts.services.budget import lift_block

    lift_block(block_of(cast.andrei), actor=cast.bob, reason="verificare legitimă")
    assert item(cast.bob, "blocks") == ""


# --- corrections to review --------------------------------------------------------------------


def test_it_counts_the_corrections_to_review_of_people_in_the_users_scope(cast: Cast, healthy: None) -> None:
    correction_of(cast.alice_person)  # team A
    correction_of(cast.carol_person)  # team B
    assert (item(cast.dora, "reviews"), item(cast.bob, "reviews")) == (
        "2 corrections wait for your review", "1 correction waits for your review"
    )  # fmt: skip


# --- restrictions of processing -------------------------------------------------------------


def restrict(person: Person, dpo: User) -> None:
    people.restrict_processing(person, actor=dpo, ground=RestrictionGround.ACCURACY_CONTESTED, reason="art. 18")


def test_it_counts_for_the_dpo_the_restrictions_in_force(cast: Cast, healthy: None) -> None:
    restrict(cast.alice_person, cast.dora)
    restrict(cast.carol_person, cast.dora)
    assert item(cast.dora, "restrictions") == "2 people's processing is restricted"


def test_it_says_how_long_the_oldest_restriction_has_lasted(cast: Cast, healthy: None) -> None:
    restrict(cast.alice_person, cast.dora)
    two_days_ago = timezone.now() - timedelta(days=2)
    with service_scope():
        Person.objects.filter(pk=cast.alice_person.pk).update(restricted_since=two_days_ago)
    assert item(cast.dora, "restrictions", whole=True).endswith("the oldest in force for 2 days")


def test_a_lifted_restriction_is_no_longer_due(cast: Cast, healthy: None) -> None:
    restrict(cast.alice_person, cast.dora)
    lifted = Person.objects.get(pk=cast.alice_person.pk)
    people.lift_restriction(lifted, actor=cast.dora, reason="verified", person_informed=True)
    assert "Nothing is due." in page(cast.dora)


def test_only_who_may_lift_a_restriction_is_shown_it(cast: Cast, healthy: None) -> None:
    restrict(cast.alice_person, cast.dora)
    assert item(cast.bob, "restrictions") == ""


# --- mail -------------------------------------------------------------------------------------


def test_it_counts_for_the_administrator_the_messages_that_failed_this_week(cast: Cast) -> None:
    recent, old = message_to(cast.alice_person, "m-1"), message_to(cast.carol_person, "m-2")
    set_message(recent, status=MessageStatus.FAILED)
    set_message(old, status=MessageStatus.FAILED, next_attempt_at=timezone.now() - timedelta(days=9))
    assert item(cast.admin, "mail-failed").startswith("1 message failed since")


def test_it_counts_a_message_that_fails_at_its_last_attempt(cast: Cast, smtp_inbox: Any) -> None:
    from registru.mail.services import MAX_ATTEMPTS, deliver_due

    message = message_to(cast.alice_person, "m-3")
    set_message(message, attempts=MAX_ATTEMPTS - 1)
    smtp_inbox.refuse_next = 1
    deliver_due()
    assert OutboundMessage.objects.get(pk=message.pk).status == MessageStatus.FAILED
    assert overview_for(cast.admin).mail_failed == 1


def test_it_warns_of_messages_queued_more_than_15_minutes_ago(cast: Cast) -> None:
    set_message(message_to(cast.alice_person, "m-4"), next_attempt_at=timezone.now() - timedelta(minutes=16))
    message_to(cast.carol_person, "m-5")  # just queued: the worker has not had its minute yet
    assert item(cast.admin, "mail-overdue").startswith("1 message has waited more than 15 minutes")


def test_it_shows_the_dpo_nothing_of_the_outbox(cast: Cast, healthy: None) -> None:
    set_message(message_to(cast.alice_person, "m-6"), status=MessageStatus.FAILED)
    assert "Nothing is due." in page(cast.dora)


# --- campaigns --------------------------------------------------------------------------------


def test_it_counts_for_marketing_the_paused_campaigns(cast: Cast, purposes: Any) -> None:
    campaign = make_campaign([purposes["newsletter"]])
    campaigns.start_campaign(campaign, actor=cast.mara)
    campaigns.pause_campaign(campaign, actor=cast.mara)
    assert item(cast.mara, "campaigns-paused") == "1 consent campaign is paused"


def test_it_tells_marketing_how_many_campaigns_run(cast: Cast, purposes: Any) -> None:
    campaigns.start_campaign(make_campaign([purposes["newsletter"]]), actor=cast.mara)
    assert item(cast.mara, "campaigns-running") == "1 consent campaign running"


# --- the links --------------------------------------------------------------------------------


PAGES = {
    "trail-unverified": "/audit/", "trail-checkpoint": "/audit/", "blocks": "/account/blocks/",
    "exports": "/exports/approvals/", "access": "/account/access/decide/",
    "grants-ending": "/account/access/decide/", "reviews": "/questionnaires/reviews/",
    "mail-overdue": "/outbox/?status=queued", "mail-failed": "/outbox/?status=failed",
    "campaigns-paused": "/campaigns/?status=paused", "campaigns-running": "/campaigns/?status=running",
    "campaigns-finished": "/campaigns/?status=finished", "restrictions": "/people/?status=restricted",
}  # fmt: skip
ITEMS = {
    "dora": {"trail-unverified", "trail-checkpoint", "blocks", "exports", "access", "grants-ending", "reviews",
             "restrictions"},
    "bob": {"blocks", "exports", "access", "grants-ending", "reviews", "campaigns-paused", "campaigns-running",
            "campaigns-finished"},
    "admin": {"mail-overdue", "mail-failed"},
    "mara": {"campaigns-paused", "campaigns-running", "campaigns-finished"},
}  # fmt: skip


@pytest.fixture
def everything(cast: Cast, purposes: Any, settings: Any) -> None:
    """Something due in every item, in team A (bob's)."""
    settings.AUDIT_CHECKPOINT_MINUTES = -1  # the unsigned tail is overdue at once
    export_by(cast.alice)
    access_request_for(cast.andrei_person)
    approve_access_request(access_request_for(cast.alice_person, days=1), actor=cast.bob)
    block_of(cast.andrei)
    correction_of(cast.alice_person)
    set_message(message_to(cast.alice_person, "m-7"), status=MessageStatus.FAILED)
    set_message(message_to(cast.andrei_person, "m-8"), next_attempt_at=timezone.now() - timedelta(hours=1))
    campaign = make_campaign([purposes["newsletter"]])
    campaigns.start_campaign(campaign, actor=cast.mara)
    campaigns.pause_campaign(campaign, actor=cast.mara)
    restrict(cast.alice_person, cast.dora)


@pytest.mark.parametrize("role", ITEMS)
def test_each_item_links_to_the_page_where_it_is_dealt_with(cast: Cast, everything: None, role: str) -> None:
    links = dict(re.findall(r'data-item="([^"]+)"><a href="([^"]+)"', page(getattr(cast, role))))
    assert {name: link.replace("&amp;", "&") for name, link in links.items()} == {
        name: PAGES[name] for name in ITEMS[role]
    }


@pytest.mark.parametrize("role", ITEMS)
def test_every_link_opens_a_page_the_user_may_see(cast: Cast, everything: None, role: str) -> None:
    user = getattr(cast, role)
    client = login(user)
    links = {link.replace("&amp;", "&") for link in re.findall(r'data-item="[^"]+"><a href="([^"]+)"', page(user))}
    assert {link: client.get(link).status_code for link in links} == dict.fromkeys(links, 200)
