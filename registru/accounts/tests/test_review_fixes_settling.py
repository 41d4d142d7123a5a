"""Review fix: the status timeline of a request does not tell whether it named a record.

Matched and unmatched requests lapse at a moment drawn from one distribution, which allows
early lapses for both, and each user may file only so many requests a day, the limit saying
the same whatever they named.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.services import grants
from registru.accounts.tests.access import ask, prepare

pytestmark = pytest.mark.django_db
EARLY = timedelta(hours=1)  # unmatched requests used to wait 4 hours at least, matched ones 7 days


@pytest.fixture
def ready(cast):
    prepare(cast)
    return cast


def fill_the_day(user) -> None:
    for number in range(grants.FILINGS_PER_WINDOW):
        ask(user, f"nimeni{number}@firma.ro")


def delay(request: AccessRequest) -> timedelta:
    assert request.settle_after is not None
    return request.settle_after - request.created_at


@pytest.mark.parametrize("draw", ["lowest", "highest"])
def test_it_draws_the_lapse_alike_for_matched_and_unmatched(ready, draw, monkeypatch) -> None:
    monkeypatch.setattr(grants.secrets, "randbelow", lambda n: 0 if draw == "lowest" else n - 1)
    matched = ask(ready.alice, ready.carol_person.primary_email)
    unmatched = ask(ready.andrei, "pnimeni@firma.ro")
    assert abs(delay(matched) - delay(unmatched)) < timedelta(seconds=5)


def test_it_can_let_a_matched_request_lapse_early(ready, monkeypatch) -> None:
    monkeypatch.setattr(grants.secrets, "randbelow", lambda n: 0)
    assert delay(ask(ready.alice, ready.carol_person.primary_email)) < EARLY


def test_it_can_let_an_unmatched_request_lapse_early(ready, monkeypatch) -> None:
    monkeypatch.setattr(grants.secrets, "randbelow", lambda n: 0)
    assert delay(ask(ready.alice, "pnimeni@firma.ro")) < EARLY


def test_it_never_lets_a_request_wait_past_the_waiting_time(ready, monkeypatch) -> None:
    monkeypatch.setattr(grants.secrets, "randbelow", lambda n: n - 1)
    assert delay(ask(ready.alice, ready.carol_person.primary_email)) <= grants.PENDING_FOR


@pytest.mark.parametrize("matched", [True, False])
def test_it_refuses_a_filing_past_the_daily_limit_alike(ready, matched) -> None:
    fill_the_day(ready.alice)
    with pytest.raises(ValidationError) as caught:
        ask(ready.alice, ready.carol_person.primary_email if matched else "pnimeni@firma.ro")
    assert (caught.value.code, caught.value.messages) == (
        "too_many_requests",
        ["You have filed 10 access requests in the last 24 hours, the most allowed: try again later."],
    )


def test_it_counts_withdrawn_requests_against_the_limit(ready) -> None:
    fill_the_day(ready.alice)
    for request in AccessRequest.objects.filter(requester=ready.alice):
        grants.withdraw_access_request(request, actor=ready.alice)
    with pytest.raises(ValidationError):
        ask(ready.alice, "pnimeni@firma.ro")


def test_it_counts_the_last_24_hours_only(ready) -> None:
    fill_the_day(ready.alice)
    AccessRequest.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert ask(ready.alice, "pnimeni@firma.ro").pk


def test_it_counts_each_user_on_their_own(ready) -> None:
    fill_the_day(ready.alice)
    assert ask(ready.andrei, "pnimeni@firma.ro").pk


def test_it_shows_the_limit_on_the_form_and_files_nothing(ready, client_for) -> None:
    fill_the_day(ready.alice)
    data = {"identified_by": "email", "identifier": "pnimeni@firma.ro", "access": "view", "days": 5, "reason": "Eu."}
    response = client_for(ready.alice).post("/account/access/", data)
    assert response.status_code == 200
    assert "the most allowed: try again later" in response.content.decode()
    assert AccessRequest.objects.filter(requester=ready.alice).count() == grants.FILINGS_PER_WINDOW
