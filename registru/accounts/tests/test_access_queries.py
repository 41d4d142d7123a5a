"""Grants cost nothing to users who have none: their people queries stay as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.services import grants
from registru.accounts.tests.access import CAROL_CUI, ask, prepare
from registru.core.scopes import Action, restrict
from registru.people.models import Person
from registru.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db
GRANTS_TABLE = AccessRequest._meta.db_table
PEOPLE_TABLE = Person._meta.db_table


def people_list_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/people/").status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_it_keeps_grants_out_of_the_people_list_query_of_a_user_without_grants(cast, client_for) -> None:
    for _ in range(30):
        PersonFactory(owner=cast.alice)
    statements = people_list_queries(client_for(cast.alice))
    people = [sql for sql in statements if f'"{PEOPLE_TABLE}"' in sql]
    assert people
    assert not [sql for sql in people if GRANTS_TABLE in sql]
    # The one look at the grants is the indexed check of the user's own, which reads no people.
    checks = [sql for sql in statements if GRANTS_TABLE in sql]
    assert checks
    assert all(f'"{PEOPLE_TABLE}"' not in sql for sql in checks)


def test_it_builds_the_same_people_query_after_a_grant_has_expired(cast) -> None:
    prepare(cast)
    before = str(restrict(cast.alice, Person).query)
    request = grants.approve_access_request(ask(cast.alice, cast.carol_person.primary_email), actor=cast.carol)
    assert str(restrict(cast.alice, Person).query) != before
    AccessRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert str(restrict(cast.alice, Person).query) == before


def test_it_leaves_a_view_grant_out_of_the_change_query(cast) -> None:
    prepare(cast)
    before = str(restrict(cast.alice, Person, Action.CHANGE).query)
    grants.approve_access_request(ask(cast.alice, cast.carol_person.primary_email), actor=cast.carol)
    assert str(restrict(cast.alice, Person, Action.CHANGE).query) == before


def test_the_scope_as_a_union_of_indexed_queries_lists_exactly_the_people_of_the_scope(cast) -> None:
    """``people_ids_in_scope``, where a search in a narrow scope may start, holds the same
    people as the scope policy: for every role, for both actions, with a person grant and an
    organization grant, leaving out a former employee; None for those who see everyone."""
    from datetime import date

    from registru.people.scopes import people_ids_in_scope
    from registru.people.services import related
    from registru.testing.factories import SETUP

    prepare(cast)
    PersonFactory(owner=cast.alice)
    PersonFactory(owner=cast.andrei)
    PersonFactory(owner=cast.bob)
    former = PersonFactory(owner=cast.dora)
    related.create_affiliation(
        former, cast.alice_org, {"since": date(2020, 1, 1), "until": date(2021, 1, 1)}, actor=SETUP
    )
    PersonFactory(employer=cast.carol_org)
    grants.approve_access_request(ask(cast.alice, cast.carol_person.primary_email), actor=cast.carol)
    grants.approve_access_request(ask(cast.andrei, CAROL_CUI, by="cui", access="change"), actor=cast.carol)

    everyone = {"dora", "admin"}
    for name in ("alice", "andrei", "bob", "carol", "dora", "admin", "mara", "audra"):
        user = getattr(cast, name)
        for action in (Action.VIEW, Action.CHANGE):
            ids = people_ids_in_scope(user, action)
            scope = set(restrict(user, Person, action).values_list("pk", flat=True))
            if name in everyone:
                assert ids is None, name
                continue
            assert ids is not None, name
            assert set(Person.objects.filter(pk__in=ids).values_list("pk", flat=True)) == scope, (name, action)
    alice_ids = people_ids_in_scope(cast.alice)
    assert alice_ids is not None
    alice = set(Person.objects.filter(pk__in=alice_ids).values_list("pk", flat=True))
    assert cast.carol_person.pk in alice  # granted
    assert former.pk not in alice  # worked at her organization, no longer
