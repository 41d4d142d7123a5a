"""Who decides an access request, and what a decision may not do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.services import grants
from registru.accounts.tests.access import ask, prepare
from registru.core.errors import ConflictError, NotInScopeError

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(cast):
    prepare(cast)
    return cast


def deciders(request: AccessRequest) -> set[str]:
    return {user.username for user in grants.deciders_of(request)}


def test_it_sends_a_request_to_the_owner_the_team_manager_and_the_dpo(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    assert deciders(request) == {"andrei", "bob", "dora"}


def test_it_sends_a_request_for_an_employee_to_the_employers_owner(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    assert deciders(request) == {"carol", "dora"}


def test_it_never_lets_the_requester_decide_their_own_request(ready, client_for) -> None:
    # Made directly: the DPO would qualify as a decider, and still may not decide it.
    request = AccessRequest.objects.create(
        requester=ready.dora, person=ready.carol_person, access="view", days=3, reason="x",
        settle_after=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    assert not grants.requests_to_decide(ready.dora).filter(pk=request.pk).exists()
    with pytest.raises(PermissionDenied):
        grants.approve_access_request(request, actor=ready.dora)
    response = client_for(ready.dora).post(f"/account/access/{request.pk}/approve/", {"days": 3, "access": "view"})
    assert response.status_code == 403
    assert AccessRequest.objects.get(pk=request.pk).status == "pending"


def test_it_refuses_a_decision_by_someone_neither_owner_manager_nor_dpo(ready, client_for) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    for outsider in (ready.carol, ready.admin):
        with pytest.raises(NotInScopeError):
            grants.approve_access_request(request, actor=outsider)
        response = client_for(outsider).post(f"/account/access/{request.pk}/approve/", {"days": 3, "access": "view"})
        assert response.status_code == 404
        assert client_for(outsider).get(f"/account/access/{request.pk}/").status_code == 404
    assert AccessRequest.objects.get(pk=request.pk).status == "pending"


def test_it_lets_the_team_manager_approve(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    assert grants.approve_access_request(request, actor=ready.bob).status == "approved"


def test_it_refuses_a_second_approval(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    grants.approve_access_request(request, actor=ready.bob, days=2)
    first = AccessRequest.objects.get(pk=request.pk)
    with pytest.raises(ConflictError):
        grants.approve_access_request(request, actor=ready.dora)
    assert AccessRequest.objects.get(pk=request.pk).expires_at == first.expires_at
    assert AccessRequest.objects.get(pk=request.pk).decided_by == ready.bob


def test_it_refuses_to_approve_a_withdrawn_request(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    grants.withdraw_access_request(request, actor=ready.alice)
    with pytest.raises(ConflictError):
        grants.approve_access_request(request, actor=ready.bob)
    assert AccessRequest.objects.get(pk=request.pk).status == "withdrawn"


def test_it_refuses_to_give_more_days_than_asked(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email, days=3)
    with pytest.raises(ValidationError):
        grants.approve_access_request(request, actor=ready.bob, days=4)
    assert AccessRequest.objects.get(pk=request.pk).status == "pending"


def test_it_refuses_to_give_change_for_a_view_request(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    with pytest.raises(ValidationError):
        grants.approve_access_request(request, actor=ready.bob, access="change")
    assert AccessRequest.objects.get(pk=request.pk).status == "pending"


def test_it_refuses_a_request_with_a_note_for_the_requester(ready, client_for) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    grants.refuse_access_request(request, actor=ready.andrei, note="Vorbește cu mine.")
    client = client_for(ready.alice)
    page = client.get(f"/account/access/{request.pk}/").content.decode()
    assert ">waiting for a decision<" in page  # until settle_after (test_review_fixes_settling)
    assert "Vorbește cu mine." not in page
    AccessRequest.objects.filter(pk=request.pk).update(settle_after=timezone.now() - timedelta(seconds=1))
    page = client.get(f"/account/access/{request.pk}/").content.decode()
    assert ">refused<" in page
    assert "Vorbește cu mine." in page


def test_it_refuses_withdrawal_by_anyone_but_the_requester(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    with pytest.raises(NotInScopeError):
        grants.withdraw_access_request(request, actor=ready.bob)
    assert AccessRequest.objects.get(pk=request.pk).status == "pending"


def test_it_refuses_revocation_by_an_outsider(ready) -> None:
    request = grants.approve_access_request(ask(ready.alice, ready.andrei_person.primary_email), actor=ready.bob)
    with pytest.raises(NotInScopeError):
        grants.revoke_access_grant(request, actor=ready.carol, reason="Nu.")
    assert AccessRequest.objects.get(pk=request.pk).status == "approved"


def test_it_lets_the_dpo_revoke_a_grant_someone_else_approved(ready) -> None:
    request = grants.approve_access_request(ask(ready.alice, ready.andrei_person.primary_email), actor=ready.bob)
    assert grants.revoke_access_grant(request, actor=ready.dora, reason="Audit.").status == "revoked"


def test_it_lets_a_request_lapse_when_nobody_decides_in_time(ready) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    AccessRequest.objects.filter(pk=request.pk).update(settle_after=timezone.now() - timedelta(seconds=1))
    assert not grants.requests_to_decide(ready.bob).filter(pk=request.pk).exists()
    assert grants.settle_lapsed_requests() == 1
    assert AccessRequest.objects.get(pk=request.pk).status == "refused"


def test_it_shows_the_decider_the_record_and_the_requester_only_the_hint(ready, client_for) -> None:
    request = ask(ready.alice, ready.andrei_person.primary_email)
    for_decider = client_for(ready.bob).get(f"/account/access/{request.pk}/").content.decode()
    assert ready.andrei_person.family_name in for_decider
    assert f"/account/access/{request.pk}/approve/" in for_decider
    for_requester = client_for(ready.alice).get(f"/account/access/{request.pk}/").content.decode()
    assert ready.andrei_person.family_name not in for_requester
    assert f"/account/access/{request.pk}/approve/" not in for_requester


def test_the_decision_page_gives_each_forms_note_its_own_id_and_a_refusal_keeps_its_note(ready, client_for) -> None:
    import re

    request = ask(ready.alice, ready.andrei_person.primary_email)
    client = client_for(ready.andrei)
    page = client.get(f"/account/access/{request.pk}/").content.decode()
    ids = re.findall(r'id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "every id on the page is unique"
    assert 'for="refuse_note"' in page
    client.post(f"/account/access/{request.pk}/refuse/", {"note": "Nu e clientul tău."})
    refused = AccessRequest.objects.get(pk=request.pk)
    assert (refused.status, refused.decision_note) == ("refused", "Nu e clientul tău.")
