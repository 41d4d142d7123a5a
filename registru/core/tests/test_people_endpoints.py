"""Every endpoint that can show many people is known, capped at a page, masked and budgeted.

The test walks the URL configuration and the OpenAPI schema. A new endpoint fails here until
it is put in one of the lists below; one that lists people is then called on 130 people and
must answer at most a page, with no contact value in clear, charging the viewer's budget for
exactly the people it showed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from registru.accounts.models import ViewedPerson
from registru.config.api import api
from registru.testing.factories import PersonFactory, affiliate

pytestmark = pytest.mark.django_db

PAGE = 25
API_PAGE = 100

# Pages and API operations that list people. Each is exercised below.
PEOPLE_LISTS = {
    "page people:list", "page organizations:detail", "page people:merge",
    "GET /api/v1/people", "POST /api/v1/people/search", "GET /api/v1/organizations/{organization_id}/people",
    "GET /api/v1/affiliations", "GET /api/v1/notes",
}  # fmt: skip
# Paged (25), masked and charged like the lists, but needing questionnaire answers to fill:
# tested in questionnaires/tests/test_review_masking.py; named here so that a change is noticed.
PEOPLE_LISTS_TESTED_ELSEWHERE = {"page questionnaires:reviews"}
# One person (or their history, notes, consents): charged for that person, masked per role.
ONE_PERSON = {
    "page people:detail", "page people:edit", "page people:reveal", "page people:history",
    "page people:history_export", "page people:revert", "page people:archive", "page people:restore",
    "page people:erase", "page people:restrict", "page people:lift_restriction",
    "page people:note_add", "page people:note_delete", "page people:affiliation_add",
    "page people:affiliation_end", "page people:affiliation_delete", "page consent:person",
    "page consent:proof_json", "page consent:proof_pdf", "page questionnaires:decide",
    "GET /api/v1/people/{person_id}", "PATCH /api/v1/people/{person_id}", "POST /api/v1/people/{person_id}/reveal",
    "POST /api/v1/people/{person_id}/archive", "POST /api/v1/people/{person_id}/restore",
    "POST /api/v1/people/{person_id}/restrict", "POST /api/v1/people/{person_id}/lift-restriction",
    "POST /api/v1/people/{person_id}/erase",
    "POST /api/v1/people/{person_id}/merge", "GET /api/v1/people/{person_id}/history",
    "GET /api/v1/people/{person_id}/affiliations", "POST /api/v1/people/{person_id}/affiliations",
    "GET /api/v1/people/{person_id}/notes", "POST /api/v1/people/{person_id}/notes", "POST /api/v1/people",
    "GET /api/v1/affiliations/{affiliation_id}", "PATCH /api/v1/affiliations/{affiliation_id}",
    "DELETE /api/v1/affiliations/{affiliation_id}", "GET /api/v1/notes/{note_id}",
    "PATCH /api/v1/notes/{note_id}", "DELETE /api/v1/notes/{note_id}",
}  # fmt: skip
# Endpoints that show no person's data, only counts, or the user's own account; and the
# governed ways out (exports through approval and watermark, the audit trail to its readers).
NO_PEOPLE = {
    "page home", "page login", "page login_code", "page logout", "page set_language", "page health",
    "page people:create",
    "page people:pick_organization", "page organizations:list", "page organizations:create",
    "page organizations:edit", "page organizations:history", "page organizations:archive",
    "page organizations:restore", "page organizations:note_add",
    "page campaigns:list", "page campaigns:new", "page campaigns:audience", "page campaigns:detail",
    "page campaigns:edit", "page campaigns:progress", "page campaigns:start", "page campaigns:pause",
    "page campaigns:resume", "page campaigns:cancel", "page campaigns:mailings", "page campaigns:mailing_new",
    "page questionnaires:list", "page questionnaires:new", "page questionnaires:detail", "page questionnaires:edit",
    "page questionnaires:run", "page questionnaires:csv", "page consent:purposes", "page consent:purpose_create",
    "page consent:purpose", "page consent:purpose_edit", "page consent:notice_publish",
    "page mail:outbox", "page mail:message", "page dashboard:dashboard",
    "GET /api/v1/organizations", "POST /api/v1/organizations", "POST /api/v1/organizations/search",
    "GET /api/v1/organizations/{organization_id}", "PATCH /api/v1/organizations/{organization_id}",
    "POST /api/v1/organizations/{organization_id}/archive", "POST /api/v1/organizations/{organization_id}/restore",
    "GET /api/v1/organizations/{organization_id}/notes", "POST /api/v1/organizations/{organization_id}/notes",
    "POST /api/v1/organizations/{organization_id}/merge",
}  # fmt: skip
GOVERNED_PREFIXES = ("page exports:", "page audit:", "page accounts:", "page portal:", "page api-")


def _pages() -> set[str]:
    def walk(patterns: list[Any], namespace: str | None) -> set[str]:
        names: set[str] = set()
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                if str(pattern.pattern).startswith("api/"):
                    continue
                names |= walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"page {namespace}:{pattern.name}" if namespace else f"page {pattern.name}")
        return names

    return walk(get_resolver().url_patterns, None)


def _operations() -> set[str]:
    schema = api.get_openapi_schema()
    return {f"{method.upper()} /api/v1{path.removeprefix('/api/v1')}" for path, ops in schema["paths"].items()
            for method in ops}  # fmt: skip


def test_every_page_and_api_operation_is_classified() -> None:
    known = PEOPLE_LISTS | PEOPLE_LISTS_TESTED_ELSEWHERE | ONE_PERSON | NO_PEOPLE
    endpoints = _pages() | _operations()
    unclassified = {name for name in endpoints - known if not name.startswith(GOVERNED_PREFIXES)}
    assert unclassified == set()
    assert known - endpoints == set()  # nothing listed here that no longer exists


@pytest.fixture
def crowd(cast: Any) -> Any:
    """130 people at one organization, each with an email, a note and visible to the DPO."""
    from registru.people.services import create_note
    from registru.testing.factories import SETUP

    people = [PersonFactory(family_name=f"Mulțime{n:03}") for n in range(130)]
    for person in people:
        affiliate(person, cast.alice_org)
        create_note({"kind": "call", "body": "sunat"}, actor=SETUP, person=person)
    return people


def _call(name: str, client: Any, cast: Any) -> Any:
    org, someone = cast.alice_org.pk, cast.alice_person.pk
    big = {"limit": API_PAGE}
    calls = {
        "page people:list": lambda: client.get("/people/"),
        "page organizations:detail": lambda: client.get(f"/organizations/{org}/"),
        "page people:merge": lambda: client.post(f"/people/{someone}/merge/", {"q": "Mulțime"}),
        "GET /api/v1/people": lambda: client.get("/api/v1/people", big),
        "POST /api/v1/people/search": lambda: client.post(
            "/api/v1/people/search", json.dumps({"q": "Mulțime", "limit": API_PAGE}), content_type="application/json"
        ),
        "GET /api/v1/organizations/{organization_id}/people": lambda: client.get(
            f"/api/v1/organizations/{org}/people", big
        ),
        "GET /api/v1/affiliations": lambda: client.get("/api/v1/affiliations", big),
        "GET /api/v1/notes": lambda: client.get("/api/v1/notes", big),
    }
    return calls[name]()


def _people_in(name: str, body: str, crowd: list[Any]) -> set[int]:
    ids = {person.pk for person in crowd}
    if name.startswith("page"):
        linked = re.findall(r'/people/(\d+)/|name="duplicate" value="(\d+)"', body)
        return {int(a or b) for a, b in linked} & ids
    items = json.loads(body)["items"]
    if name in ("GET /api/v1/people", "POST /api/v1/people/search"):
        return {item["id"] for item in items} & ids
    return {item.get("person_id") or item["person"]["id"] for item in items} & ids


@pytest.mark.parametrize("name", sorted(PEOPLE_LISTS))
def test_each_people_list_answers_a_page_masked_and_charged(name: str, cast: Any, crowd: Any, client_for: Any,
                                                          api_for: Any) -> None:  # fmt: skip
    viewer = cast.dora  # sees everyone, and contacts in clear on records: lists must still mask
    client = client_for(viewer) if name.startswith("page") else api_for(viewer)
    response = _call(name, client, cast)
    assert response.status_code == 200
    body = response.content.decode()
    shown = _people_in(name, body, crowd)
    assert shown, "the endpoint should show some of the crowd"
    assert len(shown) <= (PAGE if name.startswith("page") else API_PAGE)
    assert not [person for person in crowd if person.primary_email in body]
    charged = set(ViewedPerson.objects.filter(user=viewer).values_list("person_id", flat=True))
    assert shown <= charged
