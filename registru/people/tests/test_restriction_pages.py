"""Restricting and lifting from the person's page and through the API: the DPO's, behind a
reason (and, to lift, the confirmation that the person was told); shown as a banner and a
status; refused to everyone else without changing anything."""

from __future__ import annotations

import json
from typing import Any

import pytest

from registru.audit.forms import READ_ACTIONS
from registru.audit.models import AuditEvent
from registru.people import services
from registru.people.models import Person
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


def restricted(person: Person, ground: str = "accuracy_contested") -> Person:
    return services.restrict_processing(person, actor=SETUP, ground=ground, reason="cererea din 3 martie")


def state(person: Person) -> tuple[Any, ...]:
    """What any of these requests could change: the record, and the trail but for reads (opening
    the record) and security events (a refusal is one)."""
    row = Person.objects.filter(pk=person.pk).values_list("status", "restriction_ground", "restricted_since", "version")
    changes = AuditEvent.objects.exclude(action__startswith="security.").exclude(action__in=READ_ACTIONS)
    return row.get(), changes.exclude(action="token.created").count()


def post_json(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


# The pages -------------------------------------------------------------------------------


def test_it_restricts_from_the_page_and_shows_the_banner(cast, client_for) -> None:
    client, person = client_for(cast.dora), cast.carol_person
    assert client.get(f"/people/{person.pk}/restrict/").status_code == 200
    response = client.post(f"/people/{person.pk}/restrict/", {"ground": "legal_claims", "reason": "cererea nr. 7"})
    assert response.status_code == 302
    page = client.get(f"/people/{person.pk}/").content.decode()
    banner = page[page.index('id="restriction"') :]
    assert "Needed by the person for legal claims" in banner
    assert AuditEvent.objects.get(action="person.restricted").actor_label in banner


def test_the_banner_is_on_the_history_tab_too(cast, client_for) -> None:
    person = restricted(cast.alice_person)
    page = client_for(cast.alice).get(f"/people/{person.pk}/history/").content.decode()
    assert 'id="restriction"' in page


def test_an_active_person_has_no_banner(cast, client_for) -> None:
    page = client_for(cast.dora).get(f"/people/{cast.alice_person.pk}/").content.decode()
    assert 'id="restriction"' not in page


def test_the_restrict_form_asks_for_a_ground_and_a_reason(cast, client_for) -> None:
    person = cast.carol_person
    before = state(person)
    response = client_for(cast.dora).post(f"/people/{person.pk}/restrict/", {"ground": "", "reason": ""})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"ground", "reason"}
    assert state(person) == before


def test_the_lift_form_requires_confirming_that_the_person_was_told(cast, client_for) -> None:
    person = restricted(cast.carol_person)
    before = state(person)
    response = client_for(cast.dora).post(f"/people/{person.pk}/lift-restriction/", {"reason": "verificat"})
    assert response.status_code == 200
    assert "person_informed" in response.context["form"].errors
    assert state(person) == before


def test_the_lift_form_says_the_person_must_be_told_first(cast, client_for) -> None:
    person = restricted(cast.carol_person)
    page = client_for(cast.dora).get(f"/people/{person.pk}/lift-restriction/").content.decode()
    assert "must be told before it is lifted" in page
    assert 'name="person_informed"' in page


def test_it_lifts_from_the_page_once_the_person_was_told(cast, client_for) -> None:
    person = restricted(cast.carol_person)
    body = {"reason": "datele corectate; anunțată telefonic", "person_informed": "on"}
    response = client_for(cast.dora).post(f"/people/{person.pk}/lift-restriction/", body)
    assert response.status_code == 302
    assert Person.objects.get(pk=person.pk).status == "active"


def test_restricting_twice_from_the_page_says_so_and_changes_nothing(cast, client_for) -> None:
    person = restricted(cast.carol_person)
    before = state(person)
    response = client_for(cast.dora).post(
        f"/people/{person.pk}/restrict/", {"ground": "legal_claims", "reason": "din nou"}, follow=True
    )
    assert "already restricted" in response.content.decode()
    assert state(person) == before


def test_the_dpo_is_offered_restrict_and_then_lift(cast, client_for) -> None:
    client, person = client_for(cast.dora), cast.carol_person
    assert f"/people/{person.pk}/restrict/" in client.get(f"/people/{person.pk}/").content.decode()
    restricted(person)
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert (f"/people/{person.pk}/restrict/" in page, f"/people/{person.pk}/lift-restriction/" in page) == (
        False,
        True,
    )


def test_a_restricted_person_is_offered_no_merge(cast, client_for) -> None:
    person = restricted(cast.alice_person)
    page = client_for(cast.alice).get(f"/people/{person.pk}/").content.decode()
    assert f"/people/{person.pk}/merge/" not in page


@pytest.mark.parametrize("role", ["alice", "bob", "admin"])
def test_others_are_offered_neither(cast, client_for, role: str) -> None:
    person = restricted(cast.alice_person)  # in alice's, bob's and admin's scope
    page = client_for(getattr(cast, role)).get(f"/people/{person.pk}/").content.decode()
    assert "/restrict/" not in page
    assert "/lift-restriction/" not in page


def test_the_people_list_filters_by_the_restricted_status(cast, client_for) -> None:
    person = restricted(cast.alice_person)
    response = client_for(cast.dora).post("/people/", {"status": "restricted"})
    listed = {p.pk for p in response.context["page"].items}
    assert listed == {person.pk}


def test_the_people_list_shows_the_restricted_status(cast, client_for) -> None:
    restricted(cast.alice_person)
    row = client_for(cast.alice).get("/people/").content.decode().split("Ștefănescu", 1)[1].split("</td>", 1)[0]
    assert '<span class="badge">Restricted</span>' in row


def test_the_active_filter_leaves_restricted_people_out(cast, client_for) -> None:
    person = restricted(cast.alice_person)
    response = client_for(cast.dora).post("/people/", {"status": "active"})
    assert person.pk not in {p.pk for p in response.context["page"].items}


# Who may not -------------------------------------------------------------------------------


def page_restrict(client: Any, person: Person) -> Any:
    return client.post(f"/people/{person.pk}/restrict/", {"ground": "legal_claims", "reason": "încerc"})


def page_lift(client: Any, person: Person) -> Any:
    return client.post(f"/people/{person.pk}/lift-restriction/", {"reason": "încerc", "person_informed": "on"})


def api_restrict(client: Any, person: Person) -> Any:
    return post_json(client, f"/api/v1/people/{person.pk}/restrict", {"ground": "legal_claims", "reason": "încerc"})


def api_lift(client: Any, person: Person) -> Any:
    body = {"reason": "încerc", "person_informed": True}
    return post_json(client, f"/api/v1/people/{person.pk}/lift-restriction", body)


CALLS = {"page restrict": page_restrict, "page lift": page_lift, "api restrict": api_restrict, "api lift": api_lift}


def _client(name: str, user: Any, client_for: Any, api_for: Any) -> Any:
    return api_for(user) if name.startswith("api") else client_for(user)


def _target(name: str, person: Person) -> Person:
    return restricted(person) if name.endswith("lift") else person


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("role", ["alice", "bob", "admin"])
def test_a_role_other_than_the_dpo_is_refused_and_nothing_changes(cast, client_for, api_for, role, call) -> None:
    person = _target(call, cast.alice_person)  # in the scope of all three
    client = _client(call, getattr(cast, role), client_for, api_for)
    before = state(person)
    assert CALLS[call](client, person).status_code == 403
    assert state(person) == before


@pytest.mark.parametrize("call", sorted(CALLS))
def test_another_agents_record_is_not_even_found(cast, client_for, api_for, call) -> None:
    person = _target(call, cast.carol_person)
    client = _client(call, cast.alice, client_for, api_for)
    before = state(person)
    assert CALLS[call](client, person).status_code == 404
    assert state(person) == before
    assert AuditEvent.objects.filter(action="security.access_denied", actor_id=cast.alice.pk).count() == 1


# The API -----------------------------------------------------------------------------------


def test_the_dpo_restricts_through_the_api(cast, api_for) -> None:
    person = cast.carol_person
    response = api_restrict(api_for(cast.dora), person)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["restriction_ground"]) == ("restricted", "legal_claims")
    assert body["restricted_since"] is not None


def test_the_api_refuses_a_second_restriction_with_its_code(cast, api_for) -> None:
    person = restricted(cast.carol_person)
    before = state(person)
    response = api_restrict(api_for(cast.dora), person)
    assert (response.status_code, response.json()["code"]) == (409, "already_restricted")
    assert state(person) == before


def test_the_api_refuses_to_lift_unless_the_person_was_told(cast, api_for) -> None:
    person = restricted(cast.carol_person)
    before = state(person)
    body = {"reason": "verificat", "person_informed": False}
    response = post_json(api_for(cast.dora), f"/api/v1/people/{person.pk}/lift-restriction", body)
    assert response.status_code == 422
    assert ["body", "person_informed"] in [item["loc"] for item in response.json()["detail"]]
    assert state(person) == before


def test_the_api_refuses_a_ground_outside_article_18(cast, api_for) -> None:
    person = cast.carol_person
    before = state(person)
    body = {"ground": "annoying", "reason": "x"}
    response = post_json(api_for(cast.dora), f"/api/v1/people/{person.pk}/restrict", body)
    assert response.status_code == 422
    assert state(person) == before


def test_the_dpo_lifts_through_the_api(cast, api_for) -> None:
    person = restricted(cast.carol_person)
    response = api_lift(api_for(cast.dora), person)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["restriction_ground"]) == ("active", None)


def test_the_schema_declares_the_refusals(cast) -> None:
    from registru.config.api import api

    paths = api.get_openapi_schema()["paths"]
    for path in ("/api/v1/people/{person_id}/restrict", "/api/v1/people/{person_id}/lift-restriction"):
        assert {200, 403, 404, 409, 422} <= set(paths[path]["post"]["responses"]), path


def test_a_merged_record_cannot_be_restricted_through_the_api(cast, api_for) -> None:
    duplicate = PersonFactory(owner=cast.carol, family_name=cast.carol_person.family_name)
    services.merge_people(cast.carol_person, duplicate, actor=SETUP)
    before = state(duplicate)
    response = api_restrict(api_for(cast.dora), duplicate)
    assert (response.status_code, response.json()["code"]) == (409, "restrict_merged")
    assert state(duplicate) == before
