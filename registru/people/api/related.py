"""Affiliation and note endpoints addressed by their own id."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from registru.accounts.services.budget import charge
from registru.core.api import COMMON_ERRORS, WRITE_ERRORS
from registru.core.pagination import Sort, paginate
from registru.core.scopes import Action, restrict
from registru.people import selectors, services
from registru.people.api.shapes import affiliation_out, listed_note_out, note_out, page_out
from registru.people.models import Affiliation, Note
from registru.people.schemas import (
    AffiliationOut,
    AffiliationPage,
    AffiliationPatch,
    NoteOut,
    NotePage,
    NotePatch,
)

misc_router = Router(tags=["affiliations and notes"])


@misc_router.patch(
    "/affiliations/{id:affiliation_id}",
    response={200: AffiliationOut, **WRITE_ERRORS},
    summary="Change an affiliation",
)
def update_affiliation(request: HttpRequest, affiliation_id: int, payload: AffiliationPatch) -> Any:
    affiliation = selectors.get_affiliation(request.user, affiliation_id, Action.CHANGE)
    services.update_affiliation(affiliation, payload.dict(exclude_unset=True), actor=request.user)
    return affiliation_out(affiliation)


@misc_router.delete(
    "/affiliations/{id:affiliation_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove an affiliation",
)
def delete_affiliation(request: HttpRequest, affiliation_id: int) -> Any:
    affiliation = selectors.get_affiliation(request.user, affiliation_id, Action.CHANGE)
    services.delete_affiliation(affiliation, actor=request.user)
    return Status(204, None)


@misc_router.patch("/notes/{id:note_id}", response={200: NoteOut, **WRITE_ERRORS}, summary="Change a note")
def update_note(request: HttpRequest, note_id: int, payload: NotePatch) -> Any:
    note = selectors.get_note(request.user, note_id, Action.CHANGE)
    services.update_note(note, payload.dict(exclude_unset=True), actor=request.user)
    return note_out(note)


@misc_router.delete("/notes/{id:note_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a note")
def delete_note(request: HttpRequest, note_id: int) -> Any:
    note = selectors.get_note(request.user, note_id, Action.CHANGE)
    services.delete_note(note, actor=request.user)
    return Status(204, None)


class RelatedQuery(Schema):
    person_id: int | None = Field(None, ge=1, le=2**62)
    organization_id: int | None = Field(None, ge=1, le=2**62)
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(25, ge=1, le=100)


def affiliations_page(request: HttpRequest, filters: RelatedQuery) -> dict[str, Any]:
    """Affiliations of people in the user's scope, newest first, filtered by person or employer."""
    affiliations = restrict(request.user, Affiliation).select_related("person", "organization")
    if filters.person_id:
        affiliations = affiliations.filter(person_id=filters.person_id)
    if filters.organization_id:
        affiliations = affiliations.filter(organization_id=filters.organization_id)
    page = paginate(affiliations, Sort("id", descending=True), "affiliations", filters.cursor, filters.limit)
    charge(request.user, [affiliation.person_id for affiliation in page.items])
    return page_out(page, affiliation_out)


def notes_page(request: HttpRequest, filters: RelatedQuery) -> dict[str, Any]:
    """Notes the user may see, most recent interaction first."""
    notes = restrict(request.user, Note).select_related("author")
    if filters.person_id:
        notes = notes.filter(person_id=filters.person_id)
    if filters.organization_id:
        notes = notes.filter(organization_id=filters.organization_id)
    page = paginate(notes, Sort("occurred_at", descending=True), "notes", filters.cursor, filters.limit)
    charge(request.user, [note.person_id for note in page.items if note.person_id])
    return page_out(page, listed_note_out)


@misc_router.get("/affiliations", response={200: AffiliationPage, **COMMON_ERRORS}, summary="List affiliations")
def list_affiliations(request: HttpRequest, filters: Query[RelatedQuery]) -> Any:
    return affiliations_page(request, filters)


@misc_router.get("/notes", response={200: NotePage, **COMMON_ERRORS}, summary="List notes")
def list_notes(request: HttpRequest, filters: Query[RelatedQuery]) -> Any:
    return notes_page(request, filters)


@misc_router.get(
    "/affiliations/{id:affiliation_id}",
    response={200: AffiliationOut, **COMMON_ERRORS},
    summary="Get an affiliation",
)
def get_affiliation(request: HttpRequest, affiliation_id: int) -> Any:
    return affiliation_out(selectors.get_affiliation(request.user, affiliation_id))


@misc_router.get("/notes/{id:note_id}", response={200: NoteOut, **COMMON_ERRORS}, summary="Get a note")
def get_note(request: HttpRequest, note_id: int) -> Any:
    return note_out(selectors.get_note(request.user, note_id))
