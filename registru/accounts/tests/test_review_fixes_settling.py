"""Review fix: the status timeline of a request does not tell whether it named a record.

Every request settles seven days after filing (``settle_after``), matched or not. An approval
is shown at once; a refusal by a decider is recorded at once but reads, to the requester, as
"waiting for a decision" until ``settle_after``, exactly like a request that matched nothing
(and like one nobody decided); from then on both read as refused and both requesters get the
same single notice, sent by the periodic settlement. Each user may file only so many requests
a day, the limit saying the same whatever they named.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.roles import Role
from registru.accounts.services import grants
from registru.accounts.tests.access import ask, events, prepare
from registru.core.errors import ConflictError
from registru.mail.models import OutboundMessage
from registru.testing.factories import UserFactory

pytestmark = pytest.mark.django_db
UNMATCHED = "pnimeni@firma.ro"  # masked like the cast's emails: p***@firma.ro
WAITING, REFUSED = ">waiting for a decision<", ">refused<"  # the status, as rendered
VOLATILE = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'), 'name="csrfmiddlewaretoken"'),
    (re.compile(r'nonce="[^"]*"'), 'nonce=""'),
    (re.compile(r"\d+"), "N"),  # request numbers, dates and times
]


def normalised(html: str) -> str:
    for pattern, replacement in VOLATILE:
        html = pattern.sub(replacement, html)
    return html


@pytest.fixture
def ready(cast):
    prepare(cast)
    return cast


@pytest.fixture
def twins(ready):
    """Two agents who look alike on their pages (same short name, same team, no records)."""
    team = ready.alice.team
    one = UserFactory(username="ana1", role=Role.AGENT, team=team, first_name="Ana", email="ana1@firma.test")
    two = UserFactory(username="ana2", role=Role.AGENT, team=team, first_name="Ana", email="ana2@firma.test")
    return ready, one, two


def age(*requests: AccessRequest, by: timedelta = grants.PENDING_FOR + timedelta(seconds=1)) -> None:
    """Move the requests into the past, as if filed ``by`` ago (their moment has come)."""
    AccessRequest.objects.filter(pk__in=[r.pk for r in requests]).update(
        created_at=F("created_at") - by, settle_after=F("settle_after") - by
    )


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def pages(client, request: AccessRequest) -> str:
    """The requester's list and the request's page, normalised."""
    listing = client.get("/account/access/").content.decode()
    detail = client.get(f"/account/access/{request.pk}/").content.decode()
    return normalised(listing) + normalised(detail)


def notices(user) -> list[str]:
    found = OutboundMessage.objects.filter(recipient=user.email).order_by("id")
    return [re.sub(r"\d+", "N", message.subject + "|" + message.body_text) for message in found]


def fetch(request: AccessRequest) -> AccessRequest:
    return AccessRequest.objects.get(pk=request.pk)


# --- one moment for every request --------------------------------------------------------------


@pytest.mark.parametrize("email", [UNMATCHED, None])
def test_it_gives_every_request_the_same_waiting_time(ready, email) -> None:
    request = ask(ready.alice, email or ready.carol_person.primary_email)
    assert request.settle_after is not None
    assert abs(request.settle_after - request.created_at - grants.PENDING_FOR) < timedelta(seconds=1)


def test_it_settles_an_undecided_matched_request_and_an_unmatched_one_at_the_same_moment(twins, monkeypatch) -> None:
    cast, one, two = twins
    matched, unmatched = ask(one, cast.carol_person.primary_email), ask(two, UNMATCHED)
    assert matched.settle_after is not None
    assert unmatched.settle_after is not None
    moment = max(matched.settle_after, unmatched.settle_after)
    at(monkeypatch, moment - timedelta(seconds=1))
    assert [fetch(r).shown_status for r in (matched, unmatched)] == ["waiting for a decision"] * 2
    assert grants.settle_lapsed_requests() == 0
    at(monkeypatch, moment + timedelta(seconds=1))
    assert [fetch(r).shown_status for r in (matched, unmatched)] == ["refused"] * 2
    assert grants.settle_lapsed_requests() == 2
    assert [fetch(r).status for r in (matched, unmatched)] == ["refused"] * 2
    assert notices(one) == notices(two) != []


# --- a decider's refusal is shown at the moment ------------------------------------------------


def test_it_shows_a_refusal_like_an_unmatched_request_until_the_moment(twins, client_for) -> None:
    cast, one, two = twins
    first, second = client_for(one), client_for(two)
    matched, unmatched = ask(one, cast.carol_person.primary_email), ask(two, UNMATCHED)
    grants.refuse_access_request(matched, actor=cast.carol)
    assert fetch(matched).status == "refused"  # recorded at once
    assert events(matched) == ["access.requested", "access.refused"]
    waiting = pages(first, matched)
    assert waiting == pages(second, unmatched)
    assert WAITING in waiting
    assert REFUSED not in waiting
    assert f"/account/access/{matched.pk}/withdraw/" in first.get(f"/account/access/{matched.pk}/").content.decode()
    assert grants.settle_lapsed_requests() == 0
    assert notices(one) == notices(two) == []

    age(matched, unmatched)
    settled = pages(first, matched)
    assert settled == pages(second, unmatched)
    assert REFUSED in settled
    assert WAITING not in settled
    assert "/withdraw/" not in settled
    assert grants.settle_lapsed_requests() == 2
    assert len(notices(one)) == 1
    assert notices(one) == notices(two)
    assert pages(first, matched) == pages(second, unmatched)


def test_it_keeps_the_note_and_the_decider_from_the_requester_until_the_moment(ready, client_for) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    grants.refuse_access_request(request, actor=ready.carol, note="Vorbește cu mine.")
    client = client_for(ready.alice)
    page = client.get(f"/account/access/{request.pk}/").content.decode()
    assert "Vorbește cu mine." not in page
    assert "carol" not in page
    assert WAITING in page
    age(request)
    page = client.get(f"/account/access/{request.pk}/").content.decode()
    assert "Vorbește cu mine." in page
    assert REFUSED in page
    assert "carol" not in page  # the decider is never named to the requester


def test_it_shows_the_deciders_the_refusal_at_once(ready, client_for) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    grants.refuse_access_request(request, actor=ready.carol, note="Nu.")
    for decider in (ready.carol, ready.dora):
        page = client_for(decider).get(f"/account/access/{request.pk}/").content.decode()
        assert REFUSED in page
        assert WAITING not in page
        assert "Nu." in page
        assert not grants.requests_to_decide(decider).filter(pk=request.pk).exists()


def test_it_shows_an_approval_at_once(ready, client_for) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    grants.approve_access_request(request, actor=ready.carol, note="Bine.")
    page = client_for(ready.alice).get(f"/account/access/{request.pk}/").content.decode()
    assert ">approved ·" in page
    assert "Bine." in page
    assert ready.carol_person.family_name in page  # the grant opens the record
    assert len(notices(ready.alice)) == 1
    assert grants.settle_lapsed_requests() == 0


def test_it_refuses_a_second_identical_request_while_a_refusal_is_not_shown(twins) -> None:
    cast, one, two = twins
    matched = ask(one, cast.carol_person.primary_email)
    ask(two, UNMATCHED)
    grants.refuse_access_request(matched, actor=cast.carol)
    codes = []
    for user, email in ((one, cast.carol_person.primary_email), (two, UNMATCHED)):
        with pytest.raises(ConflictError) as caught:
            ask(user, email)
        codes.append(caught.value.code)
    assert codes == ["duplicate_request", "duplicate_request"]


# --- withdrawing -------------------------------------------------------------------------------


def test_it_lets_the_requester_withdraw_a_refusal_not_shown_yet_like_an_unmatched_request(twins, client_for) -> None:
    cast, one, two = twins
    first, second = client_for(one), client_for(two)
    matched, unmatched = ask(one, cast.carol_person.primary_email), ask(two, UNMATCHED)
    grants.refuse_access_request(matched, actor=cast.carol, note="Nu.")
    assert first.post(f"/account/access/{matched.pk}/withdraw/").status_code == 302
    assert second.post(f"/account/access/{unmatched.pk}/withdraw/").status_code == 302
    assert [fetch(r).status for r in (matched, unmatched)] == ["withdrawn"] * 2
    assert events(matched) == ["access.requested", "access.refused", "access.withdrawn"]
    shown = pages(first, matched)
    assert shown == pages(second, unmatched)
    assert ">withdrawn by the requester<" in shown
    assert "Nu." not in shown
    age(matched, unmatched)
    assert grants.settle_lapsed_requests() == 0
    assert notices(one) == notices(two) == []
    assert pages(first, matched) == pages(second, unmatched)
    for_decider = client_for(cast.carol).get(f"/account/access/{matched.pk}/").content.decode()
    assert "refused, then withdrawn by the requester" in for_decider


def test_it_refuses_to_withdraw_once_the_refusal_is_shown(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    grants.refuse_access_request(request, actor=ready.carol)
    age(request)
    with pytest.raises(ConflictError):
        grants.withdraw_access_request(request, actor=ready.alice)
    assert fetch(request).status == "refused"


# --- the settlement job ------------------------------------------------------------------------


def test_the_settlement_run_twice_sends_nothing_new(twins) -> None:
    cast, one, two = twins
    refused, unmatched = ask(one, cast.carol_person.primary_email), ask(two, UNMATCHED)
    undecided = ask(cast.alice, cast.carol_person.primary_email)
    grants.refuse_access_request(refused, actor=cast.carol)
    age(refused, unmatched, undecided)
    assert grants.settle_lapsed_requests() == 3
    sent = list(OutboundMessage.objects.order_by("id").values_list("id", flat=True))
    assert len(sent) == 3
    assert grants.settle_lapsed_requests() == 0
    assert list(OutboundMessage.objects.order_by("id").values_list("id", flat=True)) == sent
    assert events(unmatched) == ["access.requested", "access.refused"]  # one lapse event


def test_the_settlement_does_not_look_at_old_refusals_again(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    grants.refuse_access_request(request, actor=ready.carol)
    age(request, by=grants.PENDING_FOR + grants.NOTICE_WITHIN + timedelta(minutes=1))
    assert not OutboundMessage.objects.exists()  # its notice is missing, and still it is not scanned
    assert grants.settle_lapsed_requests() == 0
    assert not OutboundMessage.objects.exists()


def test_the_settlement_notifies_a_long_lapsed_request_once(ready) -> None:
    """A pending request whose moment passed long ago (the job was down) is still refused and told."""
    request = ask(ready.alice, "pnimeni@firma.ro")
    age(request, by=grants.PENDING_FOR + grants.NOTICE_WITHIN + timedelta(days=1))
    assert grants.settle_lapsed_requests() == 1
    assert grants.settle_lapsed_requests() == 0
    assert len(notices(ready.alice)) == 1


# --- the daily limit ---------------------------------------------------------------------------


def fill_the_day(user) -> None:
    for number in range(grants.FILINGS_PER_WINDOW):
        ask(user, f"nimeni{number}@firma.ro")


@pytest.mark.parametrize("matched", [True, False])
def test_it_refuses_a_filing_past_the_daily_limit_alike(ready, matched) -> None:
    fill_the_day(ready.alice)
    with pytest.raises(ValidationError) as caught:
        ask(ready.alice, ready.carol_person.primary_email if matched else UNMATCHED)
    assert (caught.value.code, caught.value.messages) == (
        "too_many_requests",
        ["You have filed 10 access requests in the last 24 hours, the most allowed: try again later."],
    )


def test_it_counts_withdrawn_requests_against_the_limit(ready) -> None:
    fill_the_day(ready.alice)
    for request in AccessRequest.objects.filter(requester=ready.alice):
        grants.withdraw_access_request(request, actor=ready.alice)
    with pytest.raises(ValidationError):
        ask(ready.alice, UNMATCHED)


def test_it_counts_the_last_24_hours_only(ready) -> None:
    fill_the_day(ready.alice)
    AccessRequest.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert ask(ready.alice, UNMATCHED).pk


def test_it_counts_each_user_on_their_own(ready) -> None:
    fill_the_day(ready.alice)
    assert ask(ready.andrei, UNMATCHED).pk


def test_it_shows_the_limit_on_the_form_and_files_nothing(ready, client_for) -> None:
    fill_the_day(ready.alice)
    data = {"identified_by": "email", "identifier": UNMATCHED, "access": "view", "days": 5, "reason": "Eu."}
    response = client_for(ready.alice).post("/account/access/", data)
    assert response.status_code == 200
    assert "the most allowed: try again later" in response.content.decode()
    assert AccessRequest.objects.filter(requester=ready.alice).count() == grants.FILINGS_PER_WINDOW
