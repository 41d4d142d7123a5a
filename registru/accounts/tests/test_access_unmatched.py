"""A request whose identifier names no record looks exactly like one that does, to its requester."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.roles import Role
from registru.accounts.services import grants
from registru.accounts.tests.access import UNKNOWN_CUI, ask, prepare
from registru.mail.models import OutboundMessage
from registru.testing.factories import UserFactory

pytestmark = pytest.mark.django_db
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
def twins(cast):
    """Two agents who look alike on their pages (same short name, same team, no records)."""
    prepare(cast)
    team = cast.alice.team
    one = UserFactory(username="ana1", role=Role.AGENT, team=team, first_name="Ana", email="ana1@firma.test")
    two = UserFactory(username="ana2", role=Role.AGENT, team=team, first_name="Ana", email="ana2@firma.test")
    return cast, one, two


def file_through_the_page(client, email: str):
    data = {"identified_by": "email", "identifier": email, "access": "view", "days": 5, "reason": "Preiau clientul."}
    return client.post("/account/access/", data, follow=True)


def test_it_answers_and_lists_an_unmatched_request_like_a_matched_one(twins, client_for) -> None:
    cast, one, two = twins
    matched_email = cast.carol_person.primary_email  # persoanaN@firma.ro
    unmatched_email = "pnimeni@firma.ro"  # same masked form: p***@firma.ro
    first, second = client_for(one), client_for(two)
    answers = [file_through_the_page(first, matched_email), file_through_the_page(second, unmatched_email)]
    assert [answer.redirect_chain for answer in answers] == [[("/account/access/", 302)]] * 2
    assert normalised(answers[0].content.decode()) == normalised(answers[1].content.decode())
    matched, unmatched = AccessRequest.objects.get(requester=one), AccessRequest.objects.get(requester=two)
    assert (matched.person_id is not None, unmatched.person_id is None) == (True, True)
    pages = [first.get(f"/account/access/{matched.pk}/"), second.get(f"/account/access/{unmatched.pk}/")]
    assert normalised(pages[0].content.decode()) == normalised(pages[1].content.decode())


def test_it_lets_an_unmatched_request_be_withdrawn_like_any_other(twins, client_for) -> None:
    _cast, _one, two = twins
    request = ask(two, "pnimeni@firma.ro")
    client_for(two).post(f"/account/access/{request.pk}/withdraw/")
    assert AccessRequest.objects.get(pk=request.pk).status == "withdrawn"


def test_it_files_an_unmatched_cui_request(twins) -> None:
    _cast, one, _two = twins
    request = ask(one, UNKNOWN_CUI, by="cui")
    assert (request.organization_id, request.person_id, request.status) == (None, None, "pending")


def test_it_gives_nobody_an_unmatched_request_to_decide(twins) -> None:
    cast, one, _two = twins
    request = ask(one, "pnimeni@firma.ro")
    for decider in (cast.bob, cast.dora, cast.carol):
        assert not grants.requests_to_decide(decider).filter(pk=request.pk).exists()


@pytest.mark.parametrize("email", ["pnimeni@firma.ro", None])
def test_it_lets_every_request_wait_the_same_time(twins, email) -> None:
    cast, one, _two = twins
    before = timezone.now()
    request = ask(one, email or cast.carol_person.primary_email)
    assert request.settle_after is not None
    assert before + grants.PENDING_FOR <= request.settle_after <= timezone.now() + grants.PENDING_FOR


def test_it_refuses_a_lapsed_unmatched_request_with_the_notice_a_person_would_send(twins) -> None:
    cast, one, two = twins
    unmatched = ask(one, "pnimeni@firma.ro")
    matched = ask(two, cast.carol_person.primary_email)
    grants.refuse_access_request(matched, actor=cast.carol)
    assert AccessRequest.objects.get(pk=matched.pk).shown_status == "waiting for a decision"
    lapsed = timezone.now() - timedelta(seconds=1)
    AccessRequest.objects.filter(pk__in=[unmatched.pk, matched.pk]).update(settle_after=lapsed)
    for request in (matched, unmatched):  # before any settlement
        assert AccessRequest.objects.get(pk=request.pk).shown_status == "refused"
    grants.settle_lapsed_requests()
    bodies = [
        re.sub(r"\d+", "N", message.body_text)
        for message in OutboundMessage.objects.filter(recipient__in=[one.email, two.email]).order_by("recipient")
    ]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]


def test_it_treats_a_second_identical_request_alike_whether_it_matched_or_not(twins) -> None:
    from registru.core.errors import ConflictError

    cast, one, two = twins
    ask(one, cast.carol_person.primary_email)
    ask(two, "pnimeni@firma.ro")
    codes = []
    for user, email in ((one, cast.carol_person.primary_email), (two, "pnimeni@firma.ro")):
        with pytest.raises(ConflictError) as caught:
            ask(user, email)
        codes.append(caught.value.code)
    assert codes == ["duplicate_request", "duplicate_request"]
