"""Organization endpoints."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from registru.core.api import BODY_ERRORS, COMMON_ERRORS, WRITE_ERRORS
from registru.core.scopes import Action
from registru.people import selectors, services
from registru.people.api.people import PagingQuery
from registru.people.api.related import RelatedQuery, affiliations_page, notes_page
from registru.people.api.shapes import (
    ensure_can_create,
    note_out,
    organization_out,
    page_out,
    service_data,
)
from registru.people.schemas import (
    AffiliationPage,
    MergeIn,
    NoteIn,
    NoteOut,
    NotePage,
    OrganizationIn,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
    OrganizationSearchIn,
    OrganizationStatusCode,
    ReasonIn,
    SortName,
)

org_router = Router(tags=["organizations"])


class OrganizationListQuery(Schema):
    owner_id: int | None = Field(None, ge=1, le=2**62)
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
    page = selectors.list_organizations(request.user, criteria, sort=filters.sort, cursor=filters.cursor, limit=limit)
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
    "/{id:organization_id}", response={200: OrganizationOut, **COMMON_ERRORS}, summary="Get an organization"
)
def get_organization(request: HttpRequest, organization_id: int) -> Any:
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.patch(
    "/{id:organization_id}",
    response={200: OrganizationOut, **WRITE_ERRORS},
    summary="Change an organization",
)
def update_organization(request: HttpRequest, organization_id: int, payload: OrganizationPatch) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    data, version, reason = service_data(payload)
    services.update_organization(organization, data, actor=request.user, expected_version=version, reason=reason)
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.post(
    "/{id:organization_id}/archive",
    response={200: OrganizationOut, **WRITE_ERRORS},
    summary="Archive an organization",
)
def archive_organization(request: HttpRequest, organization_id: int, payload: ReasonIn) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    services.archive_organization(organization, actor=request.user, reason=payload.reason)
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.post(
    "/{id:organization_id}/restore",
    response={200: OrganizationOut, **WRITE_ERRORS},
    summary="Restore an archived organization",
)
def restore_organization(request: HttpRequest, organization_id: int, payload: ReasonIn) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    services.restore_organization(organization, actor=request.user, reason=payload.reason)
    return organization_out(selectors.get_organization(request.user, organization_id))


@org_router.get(
    "/{id:organization_id}/people",
    response={200: AffiliationPage, **COMMON_ERRORS},
    summary="People at an organization (those in your scope)",
)
def organization_people(request: HttpRequest, organization_id: int, paging: Query[PagingQuery]) -> Any:
    selectors.get_organization(request.user, organization_id)
    return affiliations_page(request, RelatedQuery(organization_id=organization_id, **paging.dict()))


@org_router.get(
    "/{id:organization_id}/notes",
    response={200: NotePage, **COMMON_ERRORS},
    summary="Notes about an organization",
)
def organization_notes(request: HttpRequest, organization_id: int, paging: Query[PagingQuery]) -> Any:
    selectors.get_organization(request.user, organization_id)
    return notes_page(request, RelatedQuery(organization_id=organization_id, **paging.dict()))


@org_router.post(
    "/{id:organization_id}/notes",
    response={201: NoteOut, **WRITE_ERRORS},
    summary="Add a note about an organization",
)
def add_organization_note(request: HttpRequest, organization_id: int, payload: NoteIn) -> Any:
    organization = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    note = services.create_note(payload.dict(exclude_none=True), actor=request.user, organization=organization)
    return Status(201, note_out(note))


@org_router.post(
    "/{id:organization_id}/merge",
    response={200: OrganizationOut, **WRITE_ERRORS},
    summary="Merge a duplicate into this organization",
)
def merge_organization(request: HttpRequest, organization_id: int, payload: MergeIn) -> Any:
    """The duplicate's people and notes move here, empty fields are filled from it, and it is
    archived pointing at this organization."""
    primary = selectors.get_organization(request.user, organization_id, Action.CHANGE)
    duplicate = selectors.get_organization(request.user, payload.duplicate_id, Action.CHANGE)
    services.merge_organizations(primary, duplicate, actor=request.user, reason=payload.reason)
    return organization_out(selectors.get_organization(request.user, organization_id))
