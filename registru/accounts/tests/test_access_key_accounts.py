"""Key accounts: organizations that need an access request even from the team's manager."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from registru.accounts.models import AccessRequest
from registru.accounts.services import grants
from registru.accounts.tests.access import ask, prepare
from registru.audit.models import AuditEvent
from registru.core.errors import NotInScopeError
from registru.core.scopes import restrict
from registru.people import services as people
from registru.people.models import Organization, Person
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db
ALICE_CUI = "10000024"


@pytest.fixture
def key_account(cast):
    prepare(cast)
    people.update_organization(cast.alice_org, {"cui": ALICE_CUI}, actor=SETUP)
    people.set_access_procedure(cast.alice_org, required=True, actor=cast.admin, reason="Client strategic.")
    return cast


def sees(user, record) -> bool:
    return restrict(user, type(record)).filter(pk=record.pk).exists()


def test_it_hides_a_key_account_and_its_people_from_the_teams_manager(key_account) -> None:
    assert not sees(key_account.bob, key_account.alice_org)
    assert not sees(key_account.bob, key_account.alice_person)


def test_it_keeps_what_the_team_owns_directly_visible_to_the_manager(key_account) -> None:
    assert sees(key_account.bob, key_account.andrei_person)


def test_it_keeps_a_key_account_visible_to_its_owner_the_dpo_and_administrators(key_account) -> None:
    for user in (key_account.alice, key_account.dora, key_account.admin):
        assert sees(user, key_account.alice_org)
        assert sees(user, key_account.alice_person)


def test_it_gives_the_manager_a_key_account_back_through_a_grant(key_account, client_for) -> None:
    request = ask(key_account.bob, ALICE_CUI, by="cui")
    grants.approve_access_request(request, actor=key_account.alice)
    assert sees(key_account.bob, key_account.alice_org)
    assert sees(key_account.bob, key_account.alice_person)
    assert client_for(key_account.bob).get(f"/organizations/{key_account.alice_org.pk}/").status_code == 200


def test_it_leaves_key_account_decisions_to_the_owner_and_the_dpo(key_account) -> None:
    request = ask(key_account.andrei, ALICE_CUI, by="cui")
    assert {user.username for user in grants.deciders_of(request)} == {"alice", "dora"}
    with pytest.raises(NotInScopeError):
        grants.approve_access_request(request, actor=key_account.bob)
    assert AccessRequest.objects.get(pk=request.pk).status == "pending"


def test_it_lets_the_manager_see_a_key_account_they_own(key_account) -> None:
    people.update_organization(key_account.alice_org, {"owner": key_account.bob}, actor=SETUP)
    assert sees(key_account.bob, Organization.objects.get(pk=key_account.alice_org.pk))


def test_it_lets_only_administrators_set_the_flag(cast) -> None:
    for user in (cast.bob, cast.dora, cast.alice):
        with pytest.raises(PermissionDenied):
            people.set_access_procedure(cast.alice_org, required=True, actor=user, reason="Vreau.")
    assert not Organization.objects.get(pk=cast.alice_org.pk).access_by_request


def test_it_sets_the_flag_from_the_organization_page_for_administrators_only(cast, client_for) -> None:
    url = f"/account/access/organizations/{cast.alice_org.pk}/"
    assert client_for(cast.bob).post(url, {"required": "on", "reason": "Vreau."}).status_code == 403
    assert not Organization.objects.get(pk=cast.alice_org.pk).access_by_request
    page = client_for(cast.admin).get(f"/organizations/{cast.alice_org.pk}/").content.decode()
    assert url in page
    assert url not in client_for(cast.alice).get(f"/organizations/{cast.alice_org.pk}/").content.decode()
    assert client_for(cast.admin).post(url, {"required": "on", "reason": "Client strategic."}).status_code == 302
    assert Organization.objects.get(pk=cast.alice_org.pk).access_by_request


def test_it_records_the_flag_with_its_reason(key_account) -> None:
    event = AuditEvent.objects.get(action="access.procedure_set", target_id=key_account.alice_org.pk)
    assert (event.actor_id, event.reason) == (key_account.admin.pk, "Client strategic.")


def test_it_clears_the_flag(key_account) -> None:
    people.set_access_procedure(
        key_account.alice_org, required=False, actor=key_account.admin, reason="Nu mai e cheie."
    )
    assert sees(key_account.bob, Person.objects.get(pk=key_account.alice_person.pk))
