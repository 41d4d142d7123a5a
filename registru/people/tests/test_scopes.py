"""Invariant 5: what each role sees through restrict(), the one read path."""

from __future__ import annotations

import pytest

from registru.core.scopes import Action, restrict
from registru.people import services
from registru.people.models import Organization, Person
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db


def visible_people(user) -> set[str]:
    return set(restrict(user, Person).values_list("family_name", flat=True))


def test_it_shows_an_agent_their_own_and_their_organizations_people(cast) -> None:
    assert visible_people(cast.alice) == {"Ștefănescu"}
    assert visible_people(cast.andrei) == {"Rădulescu"}
    assert visible_people(cast.carol) == {"Țurcanu"}


def test_it_shows_a_manager_the_teams_records(cast) -> None:
    assert visible_people(cast.bob) == {"Ștefănescu", "Rădulescu"}
    assert set(restrict(cast.bob, Organization).values_list("name", flat=True)) == {"Țesătoria Mureșul SRL"}


def test_it_shows_the_dpo_and_administrators_everything(cast) -> None:
    everyone = {"Ștefănescu", "Rădulescu", "Țurcanu"}
    assert visible_people(cast.dora) == everyone
    assert visible_people(cast.admin) == everyone


def test_it_shows_marketing_and_auditors_no_one(cast) -> None:
    assert visible_people(cast.mara) == set()
    assert visible_people(cast.audra) == set()
    assert not restrict(cast.audra, Organization).exists()


def test_it_hides_people_whose_affiliation_ended(cast) -> None:
    [affiliation] = cast.alice_person.affiliations.all()
    services.update_affiliation(affiliation, {"since": "2020-01-01", "until": "2021-06-30"}, actor=SETUP)
    assert visible_people(cast.alice) == set()


def test_it_shows_nothing_to_inactive_users(cast) -> None:
    from registru.accounts import services as accounts

    accounts.update_user(cast.dora, {"is_active": False}, actor=SETUP)
    assert not restrict(cast.dora, Person, Action.VIEW).exists()
