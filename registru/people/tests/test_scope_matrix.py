"""Role × endpoint × in-scope/out-of-scope, over the pages and the API.

Out of scope must look exactly like "does not exist" (404) and change nothing; in scope must
work, and a write in scope must really change something. Listing and searching never show a
record outside the scope.
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
from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.people import services
from registru.people.models import Affiliation, Note, Organization, Person
from registru.testing.factories import SETUP, OrganizationFactory, PersonFactory, note_about

pytestmark = pytest.mark.django_db

Body = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: str  # placeholders: {person} {org} {event} {note} {affiliation} {dup_person} {dup_org}
    body: Body | None = None
    api: bool = False
    # Put the target in the state the endpoint acts on (archived, for a restore).
    setup: Callable[[Person], Any] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "get"

    def call(self, client: Client, ids: dict[str, Any]) -> Any:
        url = self.url.format(**ids)
        body = self.body(ids) if self.body else {}
        if self.api:
            payload = json.dumps(body) if self.writes else None
            return getattr(client, self.method)(url, data=payload, content_type="application/json")
        return getattr(client, self.method)(url, data=body)


def person_form(ids: dict[str, Any]) -> dict[str, Any]:
    return {"given_name": "Schimbat", "family_name": "Nume", "preferred_language": "ro", "source": "other",
            "lawful_basis": "consent", "country": "RO", "version": ids["person_version"],
            "owner": ids["person_owner"]}  # fmt: skip


def org_form(ids: dict[str, Any]) -> dict[str, Any]:
    return {"name": "Alt nume", "status": "customer", "country": "RO", "version": ids["org_version"],
            "owner": ids["org_owner"]}  # fmt: skip


NOTE = {"kind": "call", "body": "x"}
ENDPOINTS = [
    Endpoint("page person", "get", "/people/{person}/"),
    Endpoint("page person edit form", "get", "/people/{person}/edit/"),
    Endpoint("page person history", "get", "/people/{person}/history/"),
    Endpoint("page person merge form", "get", "/people/{person}/merge/"),
    Endpoint("page person edit", "post", "/people/{person}/edit/", person_form),
    Endpoint("page person archive", "post", "/people/{person}/archive/"),
    Endpoint("page person restore", "post", "/people/{person}/restore/", setup=lambda p: services.archive_person(p, actor=SETUP)),
    Endpoint("page person merge", "post", "/people/{person}/merge/", lambda i: {"duplicate": i["dup_person"], "confirm": "1"}),
    Endpoint("page person revert", "post", "/people/{person}/history/{event}/revert/"),
    Endpoint("page person note", "post", "/people/{person}/notes/", lambda i: NOTE),
    Endpoint("page person note delete", "post", "/people/{person}/notes/{note}/delete/"),
    Endpoint("page person employer", "post", "/people/{person}/employers/", lambda i: {"organization": i["dup_org"], "role": "R"}),
    Endpoint("page person employer end", "post", "/people/{person}/employers/{affiliation}/end/", lambda i: {"until": "2099-01-01"}),
    Endpoint("page person employer delete", "post", "/people/{person}/employers/{affiliation}/delete/"),
    Endpoint("page organization", "get", "/organizations/{org}/"),
    Endpoint("page organization history", "get", "/organizations/{org}/history/"),
    Endpoint("page organization edit", "post", "/organizations/{org}/edit/", org_form),
    Endpoint("page organization archive", "post", "/organizations/{org}/archive/"),
    Endpoint("page organization note", "post", "/organizations/{org}/notes/", lambda i: NOTE),
    Endpoint("api person", "get", "/api/v1/people/{person}", api=True),
    Endpoint("api person history", "get", "/api/v1/people/{person}/history", api=True),
    Endpoint("api person affiliations", "get", "/api/v1/people/{person}/affiliations", api=True),
    Endpoint("api person notes", "get", "/api/v1/people/{person}/notes", api=True),
    Endpoint("api person patch", "patch", "/api/v1/people/{person}", lambda i: {"job_title": "Intrus"}, api=True),
    Endpoint("api person archive", "post", "/api/v1/people/{person}/archive", lambda i: {}, api=True),
    Endpoint("api person merge", "post", "/api/v1/people/{person}/merge", lambda i: {"duplicate_id": i["dup_person"]}, api=True),
    Endpoint("api person note", "post", "/api/v1/people/{person}/notes", lambda i: {"body": "x"}, api=True),
    Endpoint("api person employer", "post", "/api/v1/people/{person}/affiliations", lambda i: {"organization_id": i["dup_org"]}, api=True),
    Endpoint("api affiliation", "get", "/api/v1/affiliations/{affiliation}", api=True),
    Endpoint("api affiliation patch", "patch", "/api/v1/affiliations/{affiliation}", lambda i: {"role": "Intrus"}, api=True),
    Endpoint("api affiliation delete", "delete", "/api/v1/affiliations/{affiliation}", api=True),
    Endpoint("api note", "get", "/api/v1/notes/{note}", api=True),
    Endpoint("api note patch", "patch", "/api/v1/notes/{note}", lambda i: {"body": "Intrus"}, api=True),
    Endpoint("api note delete", "delete", "/api/v1/notes/{note}", api=True),
    Endpoint("api organization", "get", "/api/v1/organizations/{org}", api=True),
    Endpoint("api organization people", "get", "/api/v1/organizations/{org}/people", api=True),
    Endpoint("api organization patch", "patch", "/api/v1/organizations/{org}", lambda i: {"industry": "Intrus"}, api=True),
    Endpoint("api organization archive", "post", "/api/v1/organizations/{org}/archive", lambda i: {}, api=True),
    Endpoint("api organization merge", "post", "/api/v1/organizations/{org}/merge", lambda i: {"duplicate_id": i["dup_org"]}, api=True),
    Endpoint("api organization note", "post", "/api/v1/organizations/{org}/notes", lambda i: {"body": "x"}, api=True),
]  # fmt: skip

# role -> (person, organization) in its scope, and out of it; None: the role has no such record
TARGETS: dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]] = {
    "alice": (("alice_person", "alice_org"), ("carol_person", "carol_org")),
    "bob": (("andrei_person", "alice_org"), ("carol_person", "carol_org")),
    "carol": (("carol_person", "carol_org"), ("alice_person", "alice_org")),
    "dora": (("carol_person", "carol_org"), None),
    "admin": (("alice_person", "carol_org"), None),
    "mara": (None, ("alice_person", "alice_org")),
    "audra": (None, ("carol_person", "carol_org")),
}


def prepare(person: Person, org: Organization, endpoint: Endpoint) -> dict[str, Any]:
    """Give the target person and organization everything the endpoints address by id, with
    duplicates in the same scope as the targets."""
    if endpoint.setup:
        endpoint.setup(person)
        person.refresh_from_db()
    services.update_person(person, {"job_title": "Înainte"}, actor=SETUP)
    event = AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").latest("id")
    affiliation = Affiliation.objects.filter(person=person, organization=org).first()
    affiliation = affiliation or services.create_affiliation(person, org, {"role": "R"}, actor=SETUP)
    dup_org = OrganizationFactory(name=f"Duplicat {org.name}", owner=org.owner, team=org.team)
    dup_person = PersonFactory(given_name="Dup", family_name=person.family_name, owner=person.owner, employer=org)
    person.refresh_from_db()
    org.refresh_from_db()
    return {
        "person": person.pk, "org": org.pk, "event": event.pk, "note": note_about(person).pk,
        "affiliation": affiliation.pk, "dup_person": dup_person.pk, "dup_org": dup_org.pk,
        "person_version": person.version, "org_version": org.version,
        "person_owner": person.owner_id or "", "org_owner": org.owner_id or "",
    }  # fmt: skip


def state() -> tuple[Any, ...]:
    """Everything a request could have changed (a refusal adds a security event, nothing else)."""
    return (
        AuditEvent.objects.exclude(action__startswith="token.").exclude(action__startswith="security.").count(),
        tuple(Person.objects.order_by("pk").values_list("version", "archived_at", "job_title", "merged_into")),
        tuple(Organization.objects.order_by("pk").values_list("version", "archived_at", "industry", "name")),
        tuple(Note.objects.order_by("pk").values_list("pk", "body")),
        tuple(Affiliation.objects.order_by("pk").values_list("pk", "role", "until", "organization_id")),
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


def targets(cast: Any, role: str, which: int) -> tuple[Person, Organization]:
    names = TARGETS[role][which]
    assert names is not None
    return getattr(cast, names[0]), getattr(cast, names[1])


@pytest.mark.parametrize(("role", "endpoint"), cases(1))
def test_out_of_scope_answers_404_and_changes_nothing(cast, role: str, endpoint: Endpoint) -> None:
    ids = prepare(*targets(cast, role, 1), endpoint)
    client = client_for(getattr(cast, role), endpoint)
    before = state()
    response = endpoint.call(client, ids)
    if endpoint.api:
        expected = {404} if getattr(cast, role).can(Capability.USE_API) else {401}
    else:
        expected = {404} if role not in ("mara", "audra") else {403, 404}
    assert response.status_code in expected, response.content[:300]
    assert state() == before
    if response.status_code == 404:
        denials = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_id=getattr(cast, role).pk)
        assert denials.count() == 1, f"{endpoint.name}: a refusal must be one security event"


@pytest.mark.parametrize(("role", "endpoint"), cases(0))
def test_in_scope_works(cast, role: str, endpoint: Endpoint) -> None:
    ids = prepare(*targets(cast, role, 0), endpoint)
    client = client_for(getattr(cast, role), endpoint)
    before = state()
    response = endpoint.call(client, ids)
    if endpoint.writes and not endpoint.api:
        assert response.status_code == 302, response.content[:500]  # a form answers 200 only with errors
    else:
        assert 200 <= response.status_code < 300, response.content[:500]
    if endpoint.writes:
        assert state() != before, f"{endpoint.name} answered {response.status_code} but changed nothing"


@pytest.mark.parametrize("role", ["alice", "bob", "carol", "mara"])
def test_lists_and_searches_never_show_out_of_scope_records(cast, role: str) -> None:
    user = getattr(cast, role)
    hidden_person, _org = targets(cast, role, 1)
    api = client_for(user, Endpoint("", "get", "", api=True))
    listed = {item["id"] for item in api.get("/api/v1/people?limit=100").json()["items"]}
    found: set[int] = set()
    for query in ("stefanescu", "turcanu", "radulescu", "firma.ro", "0722"):
        page = api.post("/api/v1/people/search", data=json.dumps({"q": query}), content_type="application/json").json()
        found |= {item["id"] for item in page["items"]}
    assert hidden_person.pk not in listed | found


@pytest.mark.parametrize("role", ["mara", "audra"])
def test_roles_without_browsing_get_403_on_list_pages(cast, role: str) -> None:
    client = client_for(getattr(cast, role), Endpoint("", "get", ""))
    assert client.get("/people/").status_code == 403
    assert client.get("/organizations/").status_code == 403
    assert client.post("/people/new/", {"given_name": "A", "family_name": "B"}).status_code == 403


def test_roles_without_browsing_cannot_create_people_through_the_api(cast) -> None:
    api = client_for(cast.mara, Endpoint("", "get", "", api=True))
    body = json.dumps({"given_name": "A", "family_name": "B"})
    response = api.post("/api/v1/people", data=body, content_type="application/json")
    assert response.status_code == 403
    assert not Person.objects.filter(family_name="B").exists()
