"""The access-request procedure end to end: file, approve, use, expire, revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.services import grants
from registru.accounts.tests.access import CAROL_CUI, ask, patch, prepare
from registru.core.errors import ConflictError
from registru.core.scopes import Action, restrict
from registru.people.models import Organization, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(cast):
    prepare(cast)
    return cast


def granted_person(cast, access: str = "view") -> AccessRequest:
    request = ask(cast.alice, cast.carol_person.primary_email, access=access)
    return grants.approve_access_request(request, actor=cast.carol)


def test_it_files_a_request_by_email_for_the_person_it_names(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email.upper())
    assert (request.person, request.status) == (ready.carol_person, "pending")


def test_it_files_a_request_by_cui_for_the_organization_it_names(ready) -> None:
    request = ask(ready.alice, f"RO {CAROL_CUI}", by="cui")
    assert request.organization == ready.carol_org


def test_it_files_a_request_by_phone(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_phone.replace("+40", "0"), by="phone")
    assert request.person == ready.carol_person


def test_it_puts_an_approved_person_in_the_requesters_scope(ready) -> None:
    assert not restrict(ready.alice, Person).filter(pk=ready.carol_person.pk).exists()
    granted_person(ready)
    assert restrict(ready.alice, Person, Action.VIEW).filter(pk=ready.carol_person.pk).exists()


def test_it_opens_the_granted_person_on_the_pages_and_the_api(ready, client_for, api_for) -> None:
    granted_person(ready)
    pk = ready.carol_person.pk
    assert client_for(ready.alice).get(f"/people/{pk}/").status_code == 200
    assert api_for(ready.alice).get(f"/api/v1/people/{pk}").status_code == 200


def test_it_does_not_let_a_view_grant_change_the_record(ready, client_for, api_for) -> None:
    granted_person(ready)
    pk = ready.carol_person.pk
    assert not restrict(ready.alice, Person, Action.CHANGE).filter(pk=pk).exists()
    assert client_for(ready.alice).get(f"/people/{pk}/edit/").status_code == 404
    assert patch(api_for(ready.alice), f"/api/v1/people/{pk}", {"job_title": "CFO", "version": 1}).status_code == 404
    assert Person.objects.get(pk=pk).job_title == ""


def test_it_lets_a_change_grant_change_the_record(ready, client_for, api_for) -> None:
    granted_person(ready, access="change")
    pk = ready.carol_person.pk
    assert client_for(ready.alice).get(f"/people/{pk}/edit/").status_code == 200
    assert patch(api_for(ready.alice), f"/api/v1/people/{pk}", {"job_title": "CFO", "version": 1}).status_code == 200
    assert Person.objects.get(pk=pk).job_title == "CFO"


def test_it_gives_an_organization_grant_its_people_too(ready, client_for, api_for) -> None:
    request = ask(ready.alice, CAROL_CUI, by="cui")
    grants.approve_access_request(request, actor=ready.carol)
    assert restrict(ready.alice, Organization).filter(pk=ready.carol_org.pk).exists()
    assert restrict(ready.alice, Person).filter(pk=ready.carol_person.pk).exists()
    assert client_for(ready.alice).get(f"/organizations/{ready.carol_org.pk}/").status_code == 200
    assert api_for(ready.alice).get(f"/api/v1/organizations/{ready.carol_org.pk}").status_code == 200
    assert client_for(ready.alice).get(f"/organizations/{ready.carol_org.pk}/edit/").status_code == 404


def test_it_drops_an_expired_grant_at_once(ready, client_for, api_for) -> None:
    request = granted_person(ready)
    AccessRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    pk = ready.carol_person.pk
    assert not restrict(ready.alice, Person).filter(pk=pk).exists()
    assert client_for(ready.alice).get(f"/people/{pk}/").status_code == 404
    assert api_for(ready.alice).get(f"/api/v1/people/{pk}").status_code == 404


def test_it_drops_a_revoked_grant_at_once(ready, client_for, api_for) -> None:
    request = granted_person(ready)
    grants.revoke_access_grant(request, actor=ready.carol, reason="Clientul a plecat.")
    pk = ready.carol_person.pk
    assert not restrict(ready.alice, Person).filter(pk=pk).exists()
    assert client_for(ready.alice).get(f"/people/{pk}/").status_code == 404
    assert api_for(ready.alice).get(f"/api/v1/people/{pk}").status_code == 404


def test_the_requester_and_the_decider_read_why_a_grant_was_revoked(ready, client_for) -> None:
    request = granted_person(ready)
    grants.revoke_access_grant(request, actor=ready.carol, reason="  Clientul a plecat.  ")
    for user in (ready.alice, ready.carol):
        text = client_for(user).get(f"/account/access/{request.pk}/").content.decode()
        assert '<dd id="revocation-reason">Clientul a plecat.</dd>' in text


def test_it_lets_the_approver_shorten_the_grant(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email, days=10)
    approved = grants.approve_access_request(request, actor=ready.carol, days=2)
    assert approved.expires_at is not None
    assert approved.decided_at is not None
    assert approved.expires_at - approved.decided_at == timedelta(days=2)


def test_it_lets_the_approver_give_view_for_a_change_request(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email, access="change")
    grants.approve_access_request(request, actor=ready.carol, access="view")
    assert restrict(ready.alice, Person).filter(pk=ready.carol_person.pk).exists()
    assert not restrict(ready.alice, Person, Action.CHANGE).filter(pk=ready.carol_person.pk).exists()


def test_it_tells_a_user_who_already_has_the_record(ready) -> None:
    with pytest.raises(ConflictError) as caught:
        ask(ready.alice, ready.alice_person.primary_email)
    assert caught.value.code == "already_in_scope"
    assert not AccessRequest.objects.exists()


def test_it_lets_the_requester_withdraw_a_pending_request(ready, client_for) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    client_for(ready.alice).post(f"/account/access/{request.pk}/withdraw/")
    assert AccessRequest.objects.get(pk=request.pk).status == "withdrawn"


def test_it_runs_the_procedure_through_the_pages(ready, client_for) -> None:
    alice, carol = client_for(ready.alice), client_for(ready.carol)
    filed = alice.post(
        "/account/access/",
        {"identified_by": "email", "identifier": ready.carol_person.primary_email, "access": "view",
         "days": 5, "reason": "Preiau clientul."},
    )  # fmt: skip
    assert filed.status_code == 302
    request = AccessRequest.objects.get()
    assert f"#{request.pk}" in carol.get("/account/access/decide/").content.decode()
    carol.post(f"/account/access/{request.pk}/approve/", {"days": 3, "access": "view", "note": ""})
    assert alice.get(f"/people/{ready.carol_person.pk}/").status_code == 200
    carol.post(f"/account/access/{request.pk}/revoke/", {"reason": "Gata."})
    assert alice.get(f"/people/{ready.carol_person.pk}/").status_code == 404
