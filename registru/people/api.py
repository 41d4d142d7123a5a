"""REST endpoints for people, organizations, affiliations and notes.

Handlers only translate: they read the request, call one selector or service with the user
as actor, and shape the answer. Scope, validation and the audit trail live below them.
Text searches are POSTed so that names and emails never end up in URLs or access logs.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from registru.accounts.roles import Capability
from registru.audit.models import AuditEvent
from registru.core.api import BODY_ERRORS, COMMON_ERRORS, WRITE_ERRORS
from registru.core.pagination import Page, Sort, paginate
from registru.core.scopes import Action, restrict
from registru.people import selectors, services
from registru.people.models import Affiliation, Note, Organization, Person
from registru.people.schemas import (
    AffiliationIn,
    AffiliationOut,
    AffiliationPatch,
    EventPage,
    MergeIn,
    NoteIn,
    NoteOut,
    NotePatch,
    OrganizationIn,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
    OrganizationSearchIn,
    OrganizationStatusCode,
    PeopleSearchIn,
    PersonDetailOut,
    PersonIn,
    PersonPage,
    PersonPatch,
    PersonStatusCode,
    ReasonIn,
    SortName,
)

router = Router(tags=["people"])
org_router = Router(tags=["organizations"])
misc_router = Router(tags=["affiliations and notes"])


class PeopleListQuery(Schema):
    organization_id: int | None = None
    owner_id: int | None = None
    status: PersonStatusCode | None = None
    archived: bool = False
    sort: SortName = "name"
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(25, ge=1, le=100)


# --- shaping answers -----------------------------------------------------------------------


def ref(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "label": getattr(obj, "label", None) or str(obj)}


PERSON_FIELDS = (
    "id", "given_name", "family_name", "emails", "phones", "job_title", "preferred_language",
    "birth_date", "source", "lawful_basis", "status", "street", "city", "county",
    "postal_code", "country", "last_verified_at", "archived_at", "created_at", "updated_at",
    "version",
)  # fmt: skip
ORGANIZATION_FIELDS = (
    "id", "name", "status", "cui", "trade_register_no", "industry", "street", "city",
    "county", "postal_code", "country", "archived_at", "created_at", "updated_at", "version",
)  # fmt: skip


def person_out(person: Person) -> dict[str, Any]:
    return {name: getattr(person, name) for name in PERSON_FIELDS} | {"owner": ref(person.owner)}


def person_detail_out(person: Person) -> dict[str, Any]:
    employers = [employer_out(a) for a in person.affiliations.all()]
    return person_out(person) | {"employers": employers}


def employer_out(affiliation: Affiliation) -> dict[str, Any]:
    return {
        "affiliation_id": affiliation.pk,
        "organization": ref(affiliation.organization),
        "role": affiliation.role,
        "since": affiliation.since,
        "until": affiliation.until,
    }


def organization_out(organization: Organization) -> dict[str, Any]:
    return {name: getattr(organization, name) for name in ORGANIZATION_FIELDS} | {
        "owner": ref(organization.owner),
        "team": ref(organization.team),
    }


def affiliation_out(affiliation: Affiliation) -> dict[str, Any]:
    return {
        "id": affiliation.pk,
        "person": ref(affiliation.person),
        "organization": ref(affiliation.organization),
        "role": affiliation.role,
        "since": affiliation.since,
        "until": affiliation.until,
    }


def note_out(note: Note) -> dict[str, Any]:
    return {
        "id": note.pk,
        "kind": note.kind,
        "occurred_at": note.occurred_at,
        "author": ref(note.author),
        "body": note.body,
        "person_id": note.person_id,
        "organization_id": note.organization_id,
    }


def page_out(page: Page[Any], shape: Any) -> dict[str, Any]:
    return {
        "items": [shape(item) for item in page.items],
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
        "corrected_query": page.corrected_query,
    }


def service_data(payload: Any) -> tuple[dict[str, Any], int | None, str]:
    """The changed fields of a PATCH body, with ``*_id`` keys renamed to the model's."""
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    reason = data.pop("reason", "")
    for key in ("owner_id", "team_id"):
        if key in data:
            data[key.removesuffix("_id")] = data.pop(key)
    return data, version, reason


def ensure_can_create(user: Any) -> None:
    if not user.can(Capability.BROWSE_RECORDS):
        raise PermissionDenied("Your role does not work with people and organizations.")


# --- people --------------------------------------------------------------------------------


@router.get("", response={200: PersonPage, **COMMON_ERRORS}, summary="List people")
def list_people(request: HttpRequest, filters: Query[PeopleListQuery]) -> Any:
    """People in your scope, one page at a time (follow ``next_cursor``)."""
    criteria = selectors.PeopleFilter(
        organization_id=filters.organization_id,
        owner_id=filters.owner_id,
        status=filters.status or "",
        archived=filters.archived,
    )
    limit = filters.limit
    page = selectors.list_people(
        request.user, criteria, sort=filters.sort, cursor=filters.cursor, limit=limit
    )
    return page_out(page, person_out)


@router.post("/search", response={200: PersonPage, **BODY_ERRORS}, summary="Search people")
def search_people(request: HttpRequest, payload: PeopleSearchIn) -> Any:
    """Find people by name, email, phone or employer (a POST, to keep terms out of URLs)."""
    criteria = selectors.PeopleFilter(
        query=payload.q,
        organization_id=payload.organization_id,
        owner_id=payload.owner_id,
        status=payload.status or "",
        archived=payload.archived,
    )
    page = selectors.list_people(
        request.user, criteria, sort=payload.sort, cursor=payload.cursor, limit=payload.limit
    )
    return page_out(page, person_out)


@router.post("", response={201: PersonDetailOut, **WRITE_ERRORS}, summary="Create a person")
def create_person(request: HttpRequest, payload: PersonIn) -> Any:
    ensure_can_create(request.user)
    data, _, reason = service_data(payload)
    person = services.create_person(data, actor=request.user, reason=reason)
    return Status(201, person_detail_out(selectors.person_detail(request.user, person.pk)))


@router.get("/{int:person_id}", response={200: PersonDetailOut, **COMMON_ERRORS}, summary="Get a person")
def get_person(request: HttpRequest, person_id: int) -> Any:
    return person_detail_out(selectors.person_detail(request.user, person_id))


@router.patch("/{int:person_id}", response={200: PersonDetailOut, **WRITE_ERRORS}, summary="Change a person")
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> Any:
    """Send only the fields to change, and ``version`` to refuse overwriting someone else's edit."""
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    data, version, reason = service_data(payload)
    services.update_person(person, data, actor=request.user, expected_version=version, reason=reason)
    return person_detail_out(selectors.person_detail(request.user, person_id))


@router.post(
    "/{int:person_id}/archive", response={200: PersonDetailOut, **WRITE_ERRORS}, summary="Archive a person"
)
def archive_person(request: HttpRequest, person_id: int, payload: ReasonIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    services.archive_person(person, actor=request.user, reason=payload.reason)
    return person_detail_out(selectors.person_detail(request.user, person_id))


@router.post(
    "/{int:person_id}/restore",
    response={200: PersonDetailOut, **WRITE_ERRORS},
    summary="Restore an archived person",
)
def restore_person(request: HttpRequest, person_id: int, payload: ReasonIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    services.restore_person(person, actor=request.user, reason=payload.reason)
    return person_detail_out(selectors.person_detail(request.user, person_id))


@router.post(
    "/{int:person_id}/merge",
    response={200: PersonDetailOut, **WRITE_ERRORS},
    summary="Merge a duplicate into this person",
)
def merge_person(request: HttpRequest, person_id: int, payload: MergeIn) -> Any:
    primary = selectors.get_person(request.user, person_id, Action.CHANGE)
    duplicate = selectors.get_person(request.user, payload.duplicate_id, Action.CHANGE)
    services.merge_people(primary, duplicate, actor=request.user, reason=payload.reason)
    return person_detail_out(selectors.person_detail(request.user, person_id))


@router.get(
    "/{int:person_id}/history", response={200: EventPage, **COMMON_ERRORS}, summary="A person's audit trail"
)
def person_history(
    request: HttpRequest, person_id: int, cursor: str | None = None, limit: int = Query(50, ge=1, le=100)
) -> Any:
    person = selectors.get_person(request.user, person_id)
    events = selectors.person_history(request.user, person)
    page = paginate(events, Sort("id", descending=True), "history", cursor, limit)
    return {"items": [event_out(event) for event in page.items], "next_cursor": page.next_cursor}


def event_out(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "occurred_at": event.occurred_at,
        "actor": event.actor_label,
        "channel": event.channel,
        "request_id": event.request_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "changes": [{"field": name, "old": old, "new": new} for name, (old, new) in event.changes.items()],
        "reason": event.reason,
    }


@router.get(
    "/{int:person_id}/affiliations",
    response={200: list[AffiliationOut], **COMMON_ERRORS},
    summary="A person's employers",
)
def person_affiliations(request: HttpRequest, person_id: int) -> Any:
    person = selectors.person_detail(request.user, person_id)
    return [affiliation_out(a) for a in person.affiliations.all()]


@router.post(
    "/{int:person_id}/affiliations", response={201: AffiliationOut, **WRITE_ERRORS}, summary="Add an employer"
)
def add_affiliation(request: HttpRequest, person_id: int, payload: AffiliationIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    organization = selectors.get_organization(request.user, payload.organization_id, Action.CHANGE)
    data = payload.dict(exclude={"organization_id"}, exclude_unset=True)
    affiliation = services.create_affiliation(person, organization, data, actor=request.user)
    return Status(201, affiliation_out(affiliation))


@router.get(
    "/{int:person_id}/notes", response={200: list[NoteOut], **COMMON_ERRORS}, summary="Notes about a person"
)
def person_notes(request: HttpRequest, person_id: int) -> Any:
    person = selectors.person_detail(request.user, person_id)
    return [note_out(note) for note in person.notes.all()]


@router.post(
    "/{int:person_id}/notes", response={201: NoteOut, **WRITE_ERRORS}, summary="Add a note about a person"
)
def add_person_note(request: HttpRequest, person_id: int, payload: NoteIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    note = services.create_note(payload.dict(exclude_none=True), actor=request.user, person=person)
    return Status(201, note_out(note))


# --- organizations ------------------------------------------------------------------------


class OrganizationListQuery(Schema):
    owner_id: int | None = None
    status: OrganizationStatusCode | None = None
    archived: bool = False
    sort: SortName = "name"
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(25, ge=1, le=100)


@org_router.get("", response={200: OrganizationPage, **COMMON_ERRORS}, summary="List organizations")
def list_organizations(request: HttpRequest, filters: Query[OrganizationListQuery]) -> Any:
    criteria = selectors.OrganizationFilter(
        owner_id=filters.owner_id, status=filters.status or "", archived=filters.archived
    )
    limit = filters.limit
    page = selectors.list_organizations(
        request.user, criteria, sort=filters.sort, cursor=filters.cursor, limit=limit
    )
    return page_out(page, organization_out)


@org_router.post("/search", response={200: OrganizationPage, **BODY_ERRORS}, summary="Search organizations")
def search_organizations(request: HttpRequest, payload: OrganizationSearchIn) -> Any:
    criteria = selectors.OrganizationFilter(
        query=payload.q, owner_id=payload.owner_id, status=payload.status or "", archived=payload.archived
    )
    page = selectors.list_organizations(
        request.user, criteria, sort=payload.sort, cursor=payload.cursor, limit=payload.limit
    )
    return page_out(page, organization_out)


@org_router.post("", response={201: OrganizationOut, **WRITE_ERRORS}, summary="Create an organization")
def create_organization(request: HttpRequest, payload: OrganizationIn) -> Any:
    ensure_can_create(request.user)
    data, _, reason = service_data(payload)
    organization = services.create_organization(data, actor=request.user, reason=reason)
    return Status(201, organization_out(selectors.get_organization(request.user, organization.pk)))


@org_router.get(
    "/{int:organization_id}", response={200: OrganizationOut, **COMMON_ERRORS}, summary="Get an organization"
)
def get_organization(request: HttpRequest, organization_id: int) -> Any:
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.patch(
    "/{int:organization_id}",
    response={200: OrganizationOut, **WRITE_ERRORS},
    summary="Change an organization",
)
def update_organization(request: HttpRequest, organization_id: int, payload: OrganizationPatch) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    data, version, reason = service_data(payload)
    services.update_organization(
        organization, data, actor=request.user, expected_version=version, reason=reason
    )
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.post(
    "/{int:organization_id}/archive",
    response={200: OrganizationOut, **WRITE_ERRORS},
    summary="Archive an organization",
)
def archive_organization(request: HttpRequest, organization_id: int, payload: ReasonIn) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    services.archive_organization(organization, actor=request.user, reason=payload.reason)
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.post(
    "/{int:organization_id}/restore",
    response={200: OrganizationOut, **WRITE_ERRORS},
    summary="Restore an archived organization",
)
def restore_organization(request: HttpRequest, organization_id: int, payload: ReasonIn) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    services.restore_organization(organization, actor=request.user, reason=payload.reason)
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.get(
    "/{int:organization_id}/people",
    response={200: list[AffiliationOut], **COMMON_ERRORS},
    summary="People at an organization",
)
def organization_people(request: HttpRequest, organization_id: int) -> Any:
    organization = selectors.organization_detail(request.user, organization_id)
    return [affiliation_out(a) for a in selectors.organization_people(request.user, organization)]


@org_router.get(
    "/{int:organization_id}/notes",
    response={200: list[NoteOut], **COMMON_ERRORS},
    summary="Notes about an organization",
)
def organization_notes(request: HttpRequest, organization_id: int) -> Any:
    organization = selectors.organization_detail(request.user, organization_id)
    return [note_out(note) for note in organization.notes.all()]


@org_router.post(
    "/{int:organization_id}/notes",
    response={201: NoteOut, **WRITE_ERRORS},
    summary="Add a note about an organization",
)
def add_organization_note(request: HttpRequest, organization_id: int, payload: NoteIn) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    note = services.create_note(
        payload.dict(exclude_none=True), actor=request.user, organization=organization
    )
    return Status(201, note_out(note))


# --- affiliations and notes by id ---------------------------------------------------------


@misc_router.patch(
    "/affiliations/{int:affiliation_id}",
    response={200: AffiliationOut, **WRITE_ERRORS},
    summary="Change an affiliation",
)
def update_affiliation(request: HttpRequest, affiliation_id: int, payload: AffiliationPatch) -> Any:
    affiliation = (
        restrict(request.user, Affiliation, Action.CHANGE)
        .select_related("person", "organization")
        .get(pk=affiliation_id)
    )
    services.update_affiliation(affiliation, payload.dict(exclude_unset=True), actor=request.user)
    return affiliation_out(affiliation)


@misc_router.delete(
    "/affiliations/{int:affiliation_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove an affiliation",
)
def delete_affiliation(request: HttpRequest, affiliation_id: int) -> Any:
    affiliation = (
        restrict(request.user, Affiliation, Action.CHANGE)
        .select_related("person", "organization")
        .get(pk=affiliation_id)
    )
    services.delete_affiliation(affiliation, actor=request.user)
    return Status(204, None)


@misc_router.patch("/notes/{int:note_id}", response={200: NoteOut, **WRITE_ERRORS}, summary="Change a note")
def update_note(request: HttpRequest, note_id: int, payload: NotePatch) -> Any:
    note = restrict(request.user, Note, Action.CHANGE).select_related("author").get(pk=note_id)
    services.update_note(note, payload.dict(exclude_unset=True), actor=request.user)
    return note_out(note)


@misc_router.delete("/notes/{int:note_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a note")
def delete_note(request: HttpRequest, note_id: int) -> Any:
    note = restrict(request.user, Note, Action.CHANGE).get(pk=note_id)
    services.delete_note(note, actor=request.user)
    return Status(204, None)
