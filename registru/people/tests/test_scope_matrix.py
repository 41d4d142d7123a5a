"""Role × endpoint × in-scope/out-of-scope, over the pages and the API.

Out of scope must look exactly like "does not exist" (404) and change nothing; in scope must
work. Listing and searching never show a record outside the scope.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from registru.accounts import services as accounts
from registru.accounts.roles import Capability
from registru.audit.models import AuditEvent
from registru.people.models import Affiliation, Note, Organization, Person
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: str  # {person}, {org} are filled in
    body: Callable[[Any], dict[str, Any]] | None = None
    api: bool = False

    def call(self, client: Client, person: Person, org: Organization, cast: Any) -> Any:
        url = self.url.format(person=person.pk, org=org.pk)
        body = self.body(cast) if self.body else {}
        if self.api:
            payload = json.dumps(body) if self.method != "get" else None
            return getattr(client, self.method)(url, data=payload, content_type="application/json")
        return getattr(client, self.method)(url, data=body)


def person_form(cast: Any) -> dict[str, Any]:
    return {"given_name": "Schimbat", "family_name": "Nume", "preferred_language": "ro", "source": "other",
            "lawful_basis": "consent", "country": "RO", "owner": cast.andrei.pk}  # fmt: skip


ENDPOINTS = [
    Endpoint("page person", "get", "/people/{person}/"),
    Endpoint("page person edit form", "get", "/people/{person}/edit/"),
    Endpoint("page person history", "get", "/people/{person}/history/"),
    Endpoint("page person merge", "get", "/people/{person}/merge/"),
    Endpoint("page person edit", "post", "/people/{person}/edit/", person_form),
    Endpoint("page person archive", "post", "/people/{person}/archive/"),
    Endpoint("page person restore", "post", "/people/{person}/restore/"),
    Endpoint("page person note", "post", "/people/{person}/notes/", lambda c: {"kind": "call", "body": "x"}),
    Endpoint("page organization", "get", "/organizations/{org}/"),
    Endpoint("page organization history", "get", "/organizations/{org}/history/"),
    Endpoint(
        "page organization edit",
        "post",
        "/organizations/{org}/edit/",
        lambda c: {"name": "Alt nume", "status": "customer", "country": "RO", "owner": c.carol.pk},
    ),
    Endpoint("page organization archive", "post", "/organizations/{org}/archive/"),
    Endpoint(
        "page organization note",
        "post",
        "/organizations/{org}/notes/",
        lambda c: {"kind": "call", "body": "x"},
    ),
    Endpoint("api person", "get", "/api/v1/people/{person}", api=True),
    Endpoint("api person history", "get", "/api/v1/people/{person}/history", api=True),
    Endpoint("api person affiliations", "get", "/api/v1/people/{person}/affiliations", api=True),
    Endpoint("api person notes", "get", "/api/v1/people/{person}/notes", api=True),
    Endpoint(
        "api person patch", "patch", "/api/v1/people/{person}", lambda c: {"job_title": "Intrus"}, api=True
    ),
    Endpoint("api person archive", "post", "/api/v1/people/{person}/archive", lambda c: {}, api=True),
    Endpoint("api person restore", "post", "/api/v1/people/{person}/restore", lambda c: {}, api=True),
    Endpoint("api person note", "post", "/api/v1/people/{person}/notes", lambda c: {"body": "x"}, api=True),
    Endpoint("api organization", "get", "/api/v1/organizations/{org}", api=True),
    Endpoint("api organization people", "get", "/api/v1/organizations/{org}/people", api=True),
    Endpoint(
        "api organization patch",
        "patch",
        "/api/v1/organizations/{org}",
        lambda c: {"industry": "Intrus"},
        api=True,
    ),
    Endpoint(
        "api organization archive", "post", "/api/v1/organizations/{org}/archive", lambda c: {}, api=True
    ),
    Endpoint(
        "api organization note",
        "post",
        "/api/v1/organizations/{org}/notes",
        lambda c: {"body": "x"},
        api=True,
    ),
]

# role -> (person in scope, organization in scope) and the same out of scope; None: no such record
TARGETS: dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]] = {
    "alice": (("alice_person", "alice_org"), ("carol_person", "carol_org")),
    "bob": (("andrei_person", "alice_org"), ("carol_person", "carol_org")),
    "carol": (("carol_person", "carol_org"), ("alice_person", "alice_org")),
    "dora": (("carol_person", "carol_org"), None),
    "admin": (("alice_person", "carol_org"), None),
    "mara": (None, ("alice_person", "alice_org")),
    "audra": (None, ("carol_person", "carol_org")),
}


def state() -> tuple[Any, ...]:
    """Everything a denied request could have changed."""
    return (
        AuditEvent.objects.exclude(action__startswith="token.").count(),
        tuple(Person.objects.order_by("pk").values_list("version", "archived_at", "job_title", "given_name")),
        tuple(Organization.objects.order_by("pk").values_list("version", "archived_at", "industry", "name")),
        Note.objects.count(),
        Affiliation.objects.count(),
    )


def client_for(user: Any, endpoint: Endpoint) -> Client:
    if endpoint.api and user.can(Capability.USE_API):
        _token, raw = accounts.create_api_token(user, "matrix", actor=SETUP)
        return Client(headers={"Authorization": f"Bearer {raw}"})
    client = Client()
    client.force_login(user)
    return client


def cases(which: int) -> list[Any]:
    return [
        pytest.param(role, endpoint, id=f"{role}-{endpoint.name}")
        for role, targets in TARGETS.items()
        if targets[which] is not None
        for endpoint in ENDPOINTS
    ]


@pytest.mark.parametrize(("role", "endpoint"), cases(1))
def test_out_of_scope_answers_404_and_changes_nothing(cast, role: str, endpoint: Endpoint) -> None:
    person, org = (getattr(cast, name) for name in TARGETS[role][1])  # type: ignore[union-attr]
    client = client_for(getattr(cast, role), endpoint)
    before = state()
    response = endpoint.call(client, person, org, cast)
    if endpoint.api:
        expected = {404} if getattr(cast, role).can(Capability.USE_API) else {401}
    else:
        expected = {404} if role not in ("mara", "audra") else {403, 404}
    assert response.status_code in expected, response.content[:300]
    assert state() == before


@pytest.mark.parametrize(("role", "endpoint"), cases(0))
def test_in_scope_works(cast, role: str, endpoint: Endpoint) -> None:
    person, org = (getattr(cast, name) for name in TARGETS[role][0])  # type: ignore[union-attr]
    response = endpoint.call(client_for(getattr(cast, role), endpoint), person, org, cast)
    assert 200 <= response.status_code < 400, response.content[:500]


@pytest.mark.parametrize("role", ["alice", "bob", "carol", "mara"])
def test_lists_and_searches_never_show_out_of_scope_records(cast, role: str) -> None:
    user = getattr(cast, role)
    out_of_scope = TARGETS[role][1]
    assert out_of_scope is not None
    hidden = {getattr(cast, out_of_scope[0]).pk}
    api = client_for(user, Endpoint("", "get", "", api=True))
    listed = {item["id"] for item in api.get("/api/v1/people?limit=100").json()["items"]}
    found = {
        item["id"]
        for query in ("stefanescu", "turcanu", "radulescu", "firma.ro", "0722")
        for item in api.post(
            "/api/v1/people/search", data=json.dumps({"q": query}), content_type="application/json"
        ).json()["items"]
    }
    assert not hidden & (listed | found)


@pytest.mark.parametrize("role", ["mara", "audra"])
def test_roles_without_browsing_get_403_on_list_pages(cast, role: str) -> None:
    client = client_for(getattr(cast, role), Endpoint("", "get", ""))
    assert client.get("/people/").status_code == 403
    assert client.get("/organizations/").status_code == 403
    assert client.post("/people/new/", {"given_name": "A", "family_name": "B"}).status_code == 403


def test_roles_without_browsing_cannot_create_people_through_the_api(cast) -> None:
    api = client_for(cast.mara, Endpoint("", "get", "", api=True))
    response = api.post(
        "/api/v1/people",
        data=json.dumps({"given_name": "A", "family_name": "B"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Person.objects.filter(family_name="B").exists()
