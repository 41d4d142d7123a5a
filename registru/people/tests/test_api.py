"""The REST API: CRUD within scope, keyset pagination, conflicts, tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from registru.audit.models import AuditEvent
from registru.people.models import Organization, Person
from registru.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(client: Client, url: str, body: dict) -> Any:
    return client.post(url, data=json.dumps(body), content_type=JSON)


def patch(client: Client, url: str, body: dict) -> Any:
    return client.patch(url, data=json.dumps(body), content_type=JSON)


def test_it_creates_reads_and_updates_a_person_with_an_audit_trail(cast, api_for) -> None:
    api = api_for(cast.alice)
    created = post(api, "/api/v1/people", {"given_name": "Ana", "family_name": "Pop", "phones": ["0722 000 001"]})
    assert created.status_code == 201, created.content
    person_id = created.json()["id"]
    assert created.json()["phones"] == ["+40722000001"]
    changed = patch(api, f"/api/v1/people/{person_id}", {"job_title": "CFO", "version": 1})
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    event = AuditEvent.objects.get(subject_id=person_id, action="person.updated")
    assert (event.channel, event.request_id) == ("api", changed["X-Request-ID"])
    history = api.get(f"/api/v1/people/{person_id}/history").json()["items"]
    assert [item["action"] for item in history] == ["person.updated", "person.created"]


def test_it_answers_409_for_a_stale_version(cast, api_for) -> None:
    api = api_for(cast.andrei)
    url = f"/api/v1/people/{cast.andrei_person.pk}"
    assert patch(api, url, {"job_title": "Unu", "version": 1}).status_code == 200
    response = patch(api, url, {"job_title": "Doi", "version": 1})
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"
    assert Person.objects.get(pk=cast.andrei_person.pk).job_title == "Unu"


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/organizations", {"name": "Firma SRL", "owner_id": True}),
        ("/api/v1/people", {"given_name": "Ana", "family_name": "Pop", "owner_id": True}),
    ],
)
def test_a_boolean_is_not_taken_for_an_id(cast, api_for, url: str, body: dict) -> None:
    """JSON's true is not user 1 (found by schemathesis): 422, and nothing is created."""
    before = (Organization.objects.count(), Person.objects.count())
    response = post(api_for(cast.dora), url, body)
    assert response.status_code == 422
    assert "owner_id" in json.dumps(response.json())
    assert (Organization.objects.count(), Person.objects.count()) == before


def test_it_pages_through_people_with_opaque_cursors(cast, api_for) -> None:
    for index in range(7):
        PersonFactory(family_name=f"Zeta{index}", owner=cast.andrei)
    api = api_for(cast.andrei)
    seen, cursor = [], None
    while True:
        query = f"?limit=3&sort=name{'&cursor=' + cursor if cursor else ''}"
        page = api.get(f"/api/v1/people{query}").json()
        seen += [item["family_name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert "Zeta" not in cursor  # the cursor names a row by id, never by its values
    assert seen == ["Rădulescu", *[f"Zeta{i}" for i in range(7)]]


def test_it_goes_back_a_page_with_the_previous_cursor(cast, api_for) -> None:
    for index in range(5):
        PersonFactory(family_name=f"Beta{index}", owner=cast.andrei)
    api = api_for(cast.andrei)
    first = api.get("/api/v1/people?limit=2").json()
    second = api.get(f"/api/v1/people?limit=2&cursor={first['next_cursor']}").json()
    back = api.get(f"/api/v1/people?limit=2&cursor={second['previous_cursor']}").json()
    assert [i["id"] for i in back["items"]] == [i["id"] for i in first["items"]]


@pytest.mark.parametrize("query", ["cursor=false&cursor=", "limit=500&limit=5"])  # the last one valid
def test_a_query_parameter_given_twice_is_refused(cast, api_for, query: str) -> None:
    response = api_for(cast.alice).get(f"/api/v1/notes?{query}")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["query", query.partition("=")[0]]


def test_it_refuses_a_forged_cursor(cast, api_for) -> None:
    response = api_for(cast.alice).get("/api/v1/people?cursor=eyJwayI6MX0:forged")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_it_searches_by_post_so_terms_stay_out_of_urls(cast, api_for) -> None:
    response = post(api_for(cast.dora), "/api/v1/people/search", {"q": "stefanescu"})
    assert [item["family_name"] for item in response.json()["items"]] == ["Ștefănescu"]


def test_it_adds_an_employer_and_a_note(cast, api_for) -> None:
    api = api_for(cast.alice)
    person = post(api, "/api/v1/people", {"given_name": "Dan", "family_name": "Lungu"}).json()
    affiliation = post(
        api,
        f"/api/v1/people/{person['id']}/affiliations",
        {"organization_id": cast.alice_org.pk, "role": "CEO"},
    )
    assert affiliation.status_code == 201
    note = post(api, f"/api/v1/people/{person['id']}/notes", {"body": "Întâlnire la Cluj.", "kind": "meeting"})
    assert note.status_code == 201
    detail = api.get(f"/api/v1/people/{person['id']}").json()
    assert detail["employers"][0]["organization"]["label"] == "Țesătoria Mureșul SRL"


def test_it_refuses_requests_without_valid_credentials(cast) -> None:
    assert Client().get("/api/v1/people").status_code == 401
    assert Client(headers={"Authorization": "Bearer rgs_not-a-token"}).get("/api/v1/people").status_code == 401


def test_it_refuses_a_session_write_without_a_csrf_token(cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    response = post(client, "/api/v1/people", {"given_name": "Ana", "family_name": "Csrf"})
    assert response.status_code in (401, 403)
    assert not Person.objects.filter(family_name="Csrf").exists()


def test_it_publishes_an_openapi_31_schema_with_declared_errors(cast, api_for) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    responses = schema["paths"]["/api/v1/people/{person_id}"]["patch"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(responses)


def test_it_pages_notes_newest_first_and_only_within_scope(cast, api_for) -> None:
    from registru.testing.factories import note_about

    for index in range(4):
        note_about(cast.alice_person, f"Nota {index}")
    note_about(cast.carol_person, "Nota ascunsă")
    api = api_for(cast.alice)
    first = api.get("/api/v1/notes?limit=3").json()
    second = api.get(f"/api/v1/notes?limit=3&cursor={first['next_cursor']}").json()
    listed = first["items"] + second["items"]
    assert {note["body"] for note in listed} == {"•••"}  # a list masks note bodies; by id they are whole
    bodies = [api.get(f"/api/v1/notes/{note['id']}").json()["body"] for note in listed]
    assert sorted(bodies) == [f"Nota {index}" for index in range(4)]
    assert api.get(f"/api/v1/people/{cast.carol_person.pk}/notes").status_code == 404


def test_it_lists_an_organizations_people_within_scope(cast, api_for) -> None:
    items = api_for(cast.alice).get(f"/api/v1/organizations/{cast.alice_org.pk}/people").json()["items"]
    assert [item["person"]["label"] for item in items] == ["Ioana Ștefănescu"]
    assert api_for(cast.alice).get(f"/api/v1/affiliations?organization_id={cast.carol_org.pk}").json()["items"] == []


def test_it_merges_two_organizations(cast, api_for) -> None:
    from registru.testing.factories import OrganizationFactory

    duplicate = OrganizationFactory(name="Țesătoria Mureșul", owner=cast.alice, cui="18547290")
    api = api_for(cast.alice)
    response = post(api, f"/api/v1/organizations/{cast.alice_org.pk}/merge", {"duplicate_id": duplicate.pk})
    assert response.status_code == 200, response.content
    assert response.json()["cui"] == "18547290"
    assert api.get(f"/api/v1/organizations/{duplicate.pk}").json()["archived_at"] is not None


def test_reading_a_person_through_the_api_is_recorded(cast, api_for) -> None:
    api_for(cast.andrei).get(f"/api/v1/people/{cast.andrei_person.pk}")
    event = AuditEvent.objects.filter(action="person.viewed", subject_id=cast.andrei_person.pk).get()
    assert (event.actor_id, event.channel) == (cast.andrei.pk, "api")
