"""People endpoints. Text searches are POSTed so that names never end up in URLs or logs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from registru.audit.actions import AuditAction
from registru.audit.presenters import decrypted, mask_changes, named
from registru.audit.services import record_access
from registru.core.api import BODY_ERRORS, COMMON_ERRORS, WRITE_ERRORS
from registru.core.pagination import Sort, paginate
from registru.core.scopes import Action
from registru.people import disclosure, selectors, services
from registru.people.api.related import RelatedQuery, affiliations_page, notes_page
from registru.people.api.shapes import (
    affiliation_out,
    ensure_can_create,
    event_out,
    note_out,
    person_detail_out,
    person_list_out,
    service_data,
)
from registru.people.models import Person
from registru.people.schemas import (
    AffiliationIn,
    AffiliationOut,
    AffiliationPage,
    EraseIn,
    ErasureOut,
    EventPage,
    LiftRestrictionIn,
    MergeIn,
    NoteIn,
    NoteOut,
    NotePage,
    PeopleSearchIn,
    PersonDetailOut,
    PersonIn,
    PersonPage,
    PersonPatch,
    PersonStatusCode,
    ReasonIn,
    RestrictIn,
    RevealIn,
    SortName,
)
from registru.people.scopes import invisible_people

router = Router(tags=["people"])


class PeopleListQuery(Schema):
    organization_id: int | None = Field(None, ge=1, le=2**62)
    owner_id: int | None = Field(None, ge=1, le=2**62)
    status: PersonStatusCode | None = None
    archived: bool = False
    sort: SortName = "name"
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(25, ge=1, le=100)


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
    page = selectors.list_people(request.user, criteria, sort=filters.sort, cursor=filters.cursor, limit=limit)
    return person_list_out(page)


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
    page = selectors.list_people(request.user, criteria, sort=payload.sort, cursor=payload.cursor, limit=payload.limit)
    return person_list_out(page)


@router.post("", response={201: PersonDetailOut, **WRITE_ERRORS}, summary="Create a person")
def create_person(request: HttpRequest, payload: PersonIn) -> Any:
    ensure_can_create(request.user)
    data, _, reason = service_data(payload)
    person = services.create_person(data, actor=request.user, reason=reason)
    return Status(201, person_detail_out(request.user, selectors.person_detail(request.user, person.pk)))


@router.get("/{id:person_id}", response={200: PersonDetailOut, **COMMON_ERRORS}, summary="Get a person")
def get_person(request: HttpRequest, person_id: int) -> Any:
    """A person's record; reading it is recorded in their history, as on the pages."""
    person = selectors.person_detail(request.user, person_id)
    record_access(AuditAction.PERSON_VIEWED, actor=request.user, target=person, subject_id=person.pk)
    return person_detail_out(request.user, person)


@router.post("/{id:person_id}/reveal", response={200: PersonDetailOut, **WRITE_ERRORS}, summary="Reveal masked fields")
def reveal_fields(request: HttpRequest, person_id: int, payload: RevealIn) -> Any:
    """Show masked fields in clear in this answer only; the reason goes in the person's history."""
    person = selectors.person_detail(request.user, person_id)
    try:
        shown = disclosure.reveal(request.user, person, set(payload.groups), reason=payload.reason)
    except disclosure.RevealRefusedError as exc:
        raise PermissionDenied("Your role may not reveal these fields.") from exc
    return person_detail_out(request.user, shown)


@router.patch("/{id:person_id}", response={200: PersonDetailOut, **WRITE_ERRORS}, summary="Change a person")
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> Any:
    """Send only the fields to change, and ``version`` to refuse overwriting someone else's edit."""
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    data, version, reason = service_data(payload)
    hidden = sorted(set(data) & disclosure.field_policy(request.user).masked)
    if hidden:
        # As on the edit page: a role that sees these fields masked does not change them.
        raise PermissionDenied(f"These fields are masked for your role and cannot be changed: {', '.join(hidden)}.")
    services.update_person(person, data, actor=request.user, expected_version=version, reason=reason)
    return person_detail_out(request.user, selectors.person_detail(request.user, person_id))


@router.post("/{id:person_id}/archive", response={200: PersonDetailOut, **WRITE_ERRORS}, summary="Archive a person")
def archive_person(request: HttpRequest, person_id: int, payload: ReasonIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    services.archive_person(person, actor=request.user, reason=payload.reason)
    return person_detail_out(request.user, selectors.person_detail(request.user, person_id))


@router.post(
    "/{id:person_id}/restore",
    response={200: PersonDetailOut, **WRITE_ERRORS},
    summary="Restore an archived person",
)
def restore_person(request: HttpRequest, person_id: int, payload: ReasonIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    services.restore_person(person, actor=request.user, reason=payload.reason)
    return person_detail_out(request.user, selectors.person_detail(request.user, person_id))


@router.post(
    "/{id:person_id}/restrict",
    response={200: PersonDetailOut, **WRITE_ERRORS},
    summary="Restrict processing of a person's data (GDPR Art. 18)",
)
def restrict_processing(request: HttpRequest, person_id: int, payload: RestrictIn) -> Any:
    """The data protection officer only (403 for other roles). The person is then only stored:
    no marketing, consent invitations, questionnaires or exports. 409 with ``already_restricted``,
    ``restrict_erased`` or ``restrict_merged`` when the person cannot be restricted."""
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    services.restrict_processing(person, actor=request.user, ground=payload.ground, reason=payload.reason)
    return person_detail_out(request.user, selectors.person_detail(request.user, person_id))


@router.post(
    "/{id:person_id}/erase",
    response={200: ErasureOut, **WRITE_ERRORS},
    summary="Erase a person (GDPR Art. 17)",
)
def erase_person(request: HttpRequest, person_id: int, payload: EraseIn) -> Any:
    """The data protection officer only (403 for other roles). The record is anonymised, its notes
    and employments deleted, export files holding it deleted, its data key destroyed; with it,
    the records merged away into it (``duplicate_ids``). 409 with ``already_erased``, or
    ``erase_not_duplicate`` for an id that is not a record merged into this person."""
    person = selectors.get_person(request.user, person_id)
    offered = {duplicate.pk: duplicate for duplicate in services.merged_duplicates(person)}
    wanted = list(offered) if payload.duplicate_ids is None else list(dict.fromkeys(payload.duplicate_ids))
    # An id that is not offered stays a bare record: the service refuses it, whether it exists or not.
    duplicates = [offered.get(pk) or Person(pk=pk) for pk in wanted]
    services.erase_person(person, actor=request.user, reason=payload.reason, duplicates=duplicates)
    return {"erased": [person.pk, *wanted]}


@router.post(
    "/{id:person_id}/lift-restriction",
    response={200: PersonDetailOut, **WRITE_ERRORS},
    summary="Lift the restriction of a person's processing",
)
def lift_restriction(request: HttpRequest, person_id: int, payload: LiftRestrictionIn) -> Any:
    """The data protection officer only (403 for other roles), after telling the person
    (``person_informed``, Art. 18(3)). 409 with ``not_restricted`` when there is nothing to lift."""
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    services.lift_restriction(
        person, actor=request.user, reason=payload.reason, person_informed=payload.person_informed
    )
    return person_detail_out(request.user, selectors.person_detail(request.user, person_id))


@router.post(
    "/{id:person_id}/merge",
    response={200: PersonDetailOut, **WRITE_ERRORS},
    summary="Merge a duplicate into this person",
)
def merge_person(request: HttpRequest, person_id: int, payload: MergeIn) -> Any:
    primary = selectors.get_person(request.user, person_id, Action.CHANGE)
    duplicate = selectors.get_person(request.user, payload.duplicate_id, Action.CHANGE)
    services.merge_people(primary, duplicate, actor=request.user, reason=payload.reason)
    return person_detail_out(request.user, selectors.person_detail(request.user, person_id))


@router.get("/{id:person_id}/history", response={200: EventPage, **COMMON_ERRORS}, summary="A person's audit trail")
def person_history(
    request: HttpRequest, person_id: int, cursor: str | None = None, limit: int = Query(50, ge=1, le=100)
) -> Any:
    person = selectors.get_person(request.user, person_id)
    events = selectors.person_history(request.user, person)
    page = paginate(events, Sort("id", descending=True), "history", cursor, limit)
    masked = disclosure.masked_in_history(request.user)
    readable = [(event, mask_changes(changes, masked)) for event, changes in decrypted(page.items)]
    # People the events refer to are named as this user may see them (or not at all).
    shown = named(readable, lambda ids: invisible_people(request.user, ids))
    items = [event_out(event, changes) for event, changes in shown]
    return {"items": items, "next_cursor": page.next_cursor}


class PagingQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(25, ge=1, le=100)


@router.get(
    "/{id:person_id}/affiliations",
    response={200: AffiliationPage, **COMMON_ERRORS},
    summary="A person's employers",
)
def person_affiliations(request: HttpRequest, person_id: int, paging: Query[PagingQuery]) -> Any:
    selectors.get_person(request.user, person_id)
    return affiliations_page(request, RelatedQuery(person_id=person_id, **paging.dict()))


@router.post("/{id:person_id}/affiliations", response={201: AffiliationOut, **WRITE_ERRORS}, summary="Add an employer")
def add_affiliation(request: HttpRequest, person_id: int, payload: AffiliationIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    organization = selectors.get_organization(request.user, payload.organization_id, Action.CHANGE)
    data = payload.dict(exclude={"organization_id"}, exclude_unset=True)
    affiliation = services.create_affiliation(person, organization, data, actor=request.user)
    return Status(201, affiliation_out(affiliation))


@router.get("/{id:person_id}/notes", response={200: NotePage, **COMMON_ERRORS}, summary="Notes about a person")
def person_notes(request: HttpRequest, person_id: int, paging: Query[PagingQuery]) -> Any:
    selectors.get_person(request.user, person_id)
    return notes_page(request, RelatedQuery(person_id=person_id, **paging.dict()))


@router.post("/{id:person_id}/notes", response={201: NoteOut, **WRITE_ERRORS}, summary="Add a note about a person")
def add_person_note(request: HttpRequest, person_id: int, payload: NoteIn) -> Any:
    person = selectors.get_person(request.user, person_id, Action.CHANGE)
    note = services.create_note(payload.dict(exclude_none=True), actor=request.user, person=person)
    return Status(201, note_out(note))
