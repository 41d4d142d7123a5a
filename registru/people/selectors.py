"""The read side of people and organizations. Every function takes the user and starts from
``restrict``: there is no other way to get a list or a record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet

from registru.accounts.models import AccessRequest
from registru.accounts.services.budget import charge
from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.audit.services import record_access
from registru.core.pagination import InvalidCursorError, Page, Sort, make_cursor, paginate, read_cursor
from registru.core.scopes import Action, restrict
from registru.core.stored_texts import translated
from registru.people import search, validation
from registru.people.choices import PersonStatus
from registru.people.models import Affiliation, Note, Organization, Person
from registru.people.scopes import (
    NOTHING_GRANTED,
    current_affiliations,
    granted,
    people_ids_in_scope,
    people_in_own_scope,
)

PEOPLE_SORTS: dict[str, Sort] = {
    "name": Sort("sort_key"),
    "-name": Sort("sort_key", descending=True),
    "newest": Sort("created_at", descending=True),
    "oldest": Sort("created_at"),
    "updated": Sort("updated_at", descending=True),
}
# Cursors into the second part of a search listed by name (see ``_search_by_name``).
OTHERS_SUFFIX = ":others"
OTHER_MATCHES = "name" + OTHERS_SUFFIX
ORGANIZATION_SORTS: dict[str, Sort] = {
    "name": Sort("sort_key"),
    "-name": Sort("sort_key", descending=True),
    "newest": Sort("created_at", descending=True),
    "oldest": Sort("created_at"),
    "updated": Sort("updated_at", descending=True),
}


@dataclass
class PeopleFilter:
    """What a people list asks for. Every value is optional."""

    query: str = ""
    organization_id: int | None = None
    owner_id: int | None = None
    status: str = ""
    archived: bool = False
    stale: bool = False


def people_for(user: Any, action: Action = Action.VIEW) -> QuerySet[Person]:
    return restrict(user, Person, action)


def get_person(user: Any, pk: int, action: Action = Action.VIEW) -> Person:
    """The person, if in the user's scope; ``Person.DoesNotExist`` otherwise, in both cases.
    Counts against the user's view budget (``accounts.budget``), like every read that shows people.
    """
    with denial_recorded(user, Person, pk, action):
        person = people_for(user, action).select_related("owner").get(pk=pk)
    charge(user, [person.pk])
    return person


def record_head(user: Any, person: Person) -> dict[str, Any]:
    """What the header of a person's pages (details, history, consents) may offer and say:
    changes only to those who may make them, the record a merge went into only if the user may
    see it, and the access grant through which the user sees the person, if that is how."""
    target = person.merged_into_id
    return {
        "may_change": may_change_person(user, person),
        "merged_into_visible": target is not None and people_for(user).filter(pk=target).exists(),
        "seen_through": grant_for(user, person),
        "restriction": restriction_of(person),
    }


@dataclass(frozen=True)
class Restriction:
    """What a restricted person's pages say about the restriction (Art. 18)."""

    ground: str
    since: datetime | None
    by: str  # who restricted it, as the trail names them; "" if that event was pruned


def restriction_of(person: Person) -> Restriction | None:
    """The restriction of a person's processing, if there is one: on the record the ground and
    since when, and from the trail who made it (one indexed query, for restricted people only)."""
    if person.status != PersonStatus.RESTRICTED:
        return None
    events = AuditEvent.objects.filter(subject_id=person.pk, action=AuditAction.PERSON_RESTRICTED).order_by("-id")
    label = events.values_list("actor_label", flat=True).first()
    ground = person.get_restriction_ground_display() if person.restriction_ground else ""
    return Restriction(ground=ground, since=person.restricted_since, by=translated(label) if label else "")


def grant_for(user: Any, person: Person) -> AccessRequest | None:
    """The active access grant through which the user sees ``person`` (the one that ends last),
    or None when their own scope covers the person (or they hold no grant at all)."""
    if granted(user, Action.VIEW) is NOTHING_GRANTED or people_in_own_scope(user).filter(pk=person.pk).exists():
        return None
    employers = current_affiliations().filter(person_id=person.pk).values("organization_id")
    grants = AccessRequest.objects.active().filter(requester_id=user.pk)
    return grants.filter(Q(person_id=person.pk) | Q(organization_id__in=employers)).order_by("-expires_at").first()


def may_change_person(user: Any, person: Person) -> bool:
    """Whether the user may change ``person``: what a page offers follows what the change
    views will accept (``get_person(..., Action.CHANGE)``), so a view grant offers no button
    that answers "not found". Neither charged nor recorded: the person is already shown.
    """
    return people_for(user, Action.CHANGE).filter(pk=person.pk).exists()


@contextmanager
def denial_recorded(user: Any, model: type[Any], pk: int, action: Action) -> Iterator[None]:
    """Record a request for a record outside the user's scope as a security event, then let the
    caller answer 404 exactly as for a record that does not exist (the user learns nothing).
    """
    try:
        yield
    except model.DoesNotExist:
        target = model._default_manager.filter(pk=pk).first()
        if target is not None and getattr(user, "pk", None):
            subject = target.pk if model is Person else getattr(target, "person_id", None)
            record_access(AuditAction.ACCESS_DENIED, actor=user, target=target, subject_id=subject,
                          detail=f"out of scope ({action})")  # fmt: skip
        raise


def filter_people(user: Any, criteria: PeopleFilter) -> QuerySet[Person]:
    people = people_for(user).filter(archived_at__isnull=not criteria.archived)
    if criteria.status:
        people = people.filter(status=criteria.status)
    if criteria.stale:
        people = people.filter(stale_since__isnull=False)
    if criteria.owner_id:
        people = people.filter(owner_id=criteria.owner_id)
    if criteria.organization_id:
        people = people.filter(
            pk__in=current_affiliations().filter(organization_id=criteria.organization_id).values("person_id")
        )
    if criteria.query:
        people = search.filter_people(people, criteria.query, scope_ids=_scope_ids(user))
    return people


def _scope_ids(user: Any) -> search.ScopeIds:
    """The user's scope, and its people as a union of indexed queries, for a search to start
    from if it pays (``search.ScopeIds``)."""

    def scope() -> tuple[QuerySet[Person], QuerySet[Any]] | None:
        ids = people_ids_in_scope(user, Action.VIEW)
        return None if ids is None else (people_for(user), ids)

    return scope


def list_people(
    user: Any, criteria: PeopleFilter, *, sort: str = "name", cursor: str | None = None, limit: int = 25
) -> Page[Person]:
    """A page of people. A search that finds nobody is retried with its typos corrected (the
    likeliest correction, then at most one other); the page then says which query it answers.
    """
    page = _people_page(user, criteria, sort, cursor, limit)
    if page.items or cursor or not criteria.query:
        charge(user, [person.pk for person in page.items])
        return page
    for correction in search.corrections(criteria.query):
        corrected = _people_page(user, replace(criteria, query=correction), sort, None, limit)
        # The vocabulary holds everyone's names: offering a correction that finds nobody in
        # the user's scope would tell them that someone outside it has that name.
        if corrected.items:
            corrected.corrected_query = correction
            charge(user, [person.pk for person in corrected.items])
            return corrected
    return page


def possible_duplicates(user: Any, emails: list[str], phones: list[str], limit: int = 5) -> list[Person]:
    """People in the user's scope who already have one of these emails or phones: shown before
    a new person is added (the same form sent twice, or a colleague's record of them). Only the
    user's own scope is searched, so the warning tells nothing about records they cannot see."""
    wanted = _normalised(emails, validation.normalize_email) + _normalised(phones, validation.normalize_phone)
    found: dict[int, Person] = {}
    for value in wanted:
        for person in _people_page(user, PeopleFilter(query=value), "name", None, limit).items:
            held = [email.casefold() for email in person.emails] + list(person.phones)
            if value.casefold() in held:
                found.setdefault(person.pk, person)
    duplicates = list(found.values())[:limit]
    charge(user, [person.pk for person in duplicates])
    return duplicates


def _normalised(values: list[str], normalise: Callable[[str], str]) -> list[str]:
    """The values as stored, leaving out those that do not validate (the form reports them)."""
    result = []
    for value in values:
        try:
            result.append(normalise(value))
        except ValidationError:
            continue
    return result


def _people_page(user: Any, criteria: PeopleFilter, sort: str, cursor: str | None, limit: int) -> Page[Person]:
    if not criteria.query:
        people = filter_people(user, criteria).select_related("owner")
        return _paginate(people, sort, cursor, limit)
    # Owners come by a second query: with them joined, PostgreSQL may misjudge a name range
    # as a few rows and sort all of it after the join, instead of reading a page in order.
    unsearched = filter_people(user, replace(criteria, query="")).prefetch_related("owner")
    if sort == "name":
        parts = search.split_by_name(unsearched, criteria.query, scope_ids=_scope_ids(user))
        if parts is not None:
            return _search_by_name(*parts, cursor, limit)
    people = search.filter_people(
        unsearched, criteria.query, by_name=search.lists_by_name(PEOPLE_SORTS[sort]), scope_ids=_scope_ids(user)
    )
    return _paginate(people, sort, cursor, limit)


def _paginate(people: QuerySet[Person], sort_name: str, cursor: str | None, limit: int) -> Page[Person]:
    """``paginate``, with the cursor's position also given as a plain range on the sort column.

    The keyset condition ``sort_key > x OR (sort_key = x AND id > y)`` is exact but PostgreSQL
    cannot start an index scan from it, so a page 50,000 rows deep read those 50,000 rows
    first (46 ms on 200,000 people); with ``sort_key >= x`` beside it the scan starts there.
    """
    sort = search.walk_order(people, PEOPLE_SORTS[sort_name.removesuffix(OTHERS_SUFFIX)])
    if cursor:
        people = _from_cursor(people, sort, sort_name, cursor)
    return paginate(people, sort, sort_name, cursor, limit)


def _from_cursor(people: QuerySet[Person], sort: Sort, sort_name: str, cursor: str) -> QuerySet[Person]:
    try:
        pk, backwards = read_cursor(cursor, sort_name)
    except InvalidCursorError:
        return people  # paginate says so
    anchor = people.filter(pk=pk).values_list(sort.field, flat=True).first()
    if anchor is None:
        return people
    after = "gte" if sort.descending == backwards else "lte"
    return people.filter(**{f"{sort.field}__{after}": anchor})


# --- a search listed by name ---------------------------------------------------------------
#
# The people whose name starts with the query come first ("pop": Pop, Popa, Popescu), then
# every other match ("Ana Bălan, works at Popescu Construct"), each part by name. The first
# part is a range of the name index, fast however common the name; the second is needed only
# once the first runs out. Each part pages with its own cursors ("name", OTHER_MATCHES), and
# a page where one part ends and the other begins is stitched here, both ways.


def _search_by_name(
    names: QuerySet[Person], others: Callable[[], QuerySet[Person]], cursor: str | None, limit: int
) -> Page[Person]:
    if cursor and _cursor_of_others(cursor) is not None:
        return _page_of_others(names, others(), cursor, limit)
    page = _paginate(names, "name", cursor, limit)
    going_back = cursor is not None and read_cursor(cursor, "name")[1]
    if going_back or page.next_cursor:
        return page
    return _continue_with_others(page, others(), cursor, limit)


def _cursor_of_others(cursor: str) -> bool | None:
    """Whether a cursor into the other matches goes backwards; None if it is not one."""
    try:
        return read_cursor(cursor, OTHER_MATCHES)[1]
    except InvalidCursorError:
        return None


def _continue_with_others(page: Page[Person], others: QuerySet[Person], cursor: str | None, limit: int) -> Page[Person]:
    """The name matches ran out on this page: fill it up with the first other matches."""
    room = limit - len(page.items)
    if room == 0:
        # Full, and the name matches end exactly here: the next page starts the others.
        following = make_cursor(page.items[-1].pk, "name") if others.exists() else None
        return Page(page.items, following, page.previous_cursor)
    rest = _paginate(others, OTHER_MATCHES, None, room)
    previous = page.previous_cursor
    if cursor and not page.items and rest.items:
        # This page starts with the others: going back leads to the end of the name matches.
        previous = make_cursor(rest.items[0].pk, OTHER_MATCHES, backwards=True)
    return Page(page.items + rest.items, rest.next_cursor, previous)


def _page_of_others(names: QuerySet[Person], others: QuerySet[Person], cursor: str, limit: int) -> Page[Person]:
    page = _paginate(others, OTHER_MATCHES, cursor, limit)
    if not _cursor_of_others(cursor) or page.previous_cursor:
        return page
    # Going back, the others begin on this page: what comes before is the end of the names.
    room = limit - len(page.items)
    tail = list(names.order_by("-sort_key", "-pk")[: room + 1]) if room else []
    earlier = len(tail) > room or (room == 0 and names.exists())
    tail = tail[:room][::-1]
    items = tail + page.items
    if not items:
        return page
    previous = make_cursor(items[0].pk, "name" if tail else OTHER_MATCHES, backwards=True) if earlier else None
    following = page.next_cursor or make_cursor(items[-1].pk, "name")
    return Page(items, following, previous)


def person_detail(user: Any, pk: int) -> Person:
    """A person with what the detail page shows: employers and recent notes."""
    with denial_recorded(user, Person, pk, Action.VIEW):
        person = _detailed(people_for(user), pk)
    charge(user, [person.pk])
    return person


def _detailed(people: QuerySet[Person], pk: int) -> Person:
    return (
        people.select_related("owner", "merged_into")
        .prefetch_related(
            Prefetch("affiliations", queryset=Affiliation.objects.select_related("organization")),
            Prefetch("notes", queryset=Note.objects.select_related("author")),
        )  # type: ignore[type-var]
        .get(pk=pk)
    )


def person_history(user: Any, person: Person) -> QuerySet[AuditEvent]:
    """The trail of one person, newest first. The person must be in the user's scope."""
    people_for(user).get(pk=person.pk)
    return AuditEvent.objects.filter(subject_id=person.pk).order_by("-id")


# --- organizations ------------------------------------------------------------------------


@dataclass
class OrganizationFilter:
    query: str = ""
    owner_id: int | None = None
    status: str = ""
    archived: bool = False


def organizations_for(user: Any, action: Action = Action.VIEW) -> QuerySet[Organization]:
    return restrict(user, Organization, action)


def get_organization(user: Any, pk: int, action: Action = Action.VIEW) -> Organization:
    with denial_recorded(user, Organization, pk, action):
        return organizations_for(user, action).select_related("owner", "team").get(pk=pk)


def may_change_organization(user: Any, organization: Organization) -> bool:
    """Whether the user may change ``organization``, as the change views decide it."""
    return organizations_for(user, Action.CHANGE).filter(pk=organization.pk).exists()


def filter_organizations(user: Any, criteria: OrganizationFilter) -> QuerySet[Organization]:
    organizations = organizations_for(user).filter(archived_at__isnull=not criteria.archived)
    if criteria.status:
        organizations = organizations.filter(status=criteria.status)
    if criteria.owner_id:
        organizations = organizations.filter(owner_id=criteria.owner_id)
    if criteria.query:
        organizations = _search_organizations(organizations, criteria.query)
    return organizations


def _search_organizations(organizations: QuerySet[Organization], query: str) -> QuerySet[Organization]:
    # Organizations number in the thousands, not millions: a substring filter is enough.
    term = search.normalize(query[: search.MAX_QUERY_LENGTH])
    digits = term.upper().removeprefix("RO").replace(" ", "")
    if digits.isdigit():
        return organizations.filter(cui__contains=digits)
    return organizations.filter(sort_key__contains=term)


def list_organizations(
    user: Any, criteria: OrganizationFilter, *, sort: str = "name", cursor: str | None = None, limit: int = 25
) -> Page[Organization]:
    organizations = (
        filter_organizations(user, criteria).select_related("owner").annotate(people_count=Count("affiliations"))
    )
    return paginate(organizations, ORGANIZATION_SORTS[sort], sort, cursor, limit)


def organization_detail(user: Any, pk: int) -> Organization:
    with denial_recorded(user, Organization, pk, Action.VIEW):
        return _organization_detailed(organizations_for(user), pk)


def _organization_detailed(organizations: QuerySet[Organization], pk: int) -> Organization:
    return (
        organizations.select_related("owner", "team")
        .prefetch_related(
            Prefetch("affiliations", queryset=Affiliation.objects.select_related("person")),
            Prefetch("notes", queryset=Note.objects.select_related("author")),
        )  # type: ignore[type-var]
        .get(pk=pk)
    )


ORGANIZATION_PEOPLE_SHOWN = 25  # one page; the rest are in the people list, filtered by employer


def organization_people(user: Any, organization: Organization) -> tuple[list[Affiliation], int]:
    """Up to a page of an organization's affiliations to people the user may see, and how many
    there are in all. Others are left out, names included: they are outside the user's scope.
    """
    visible_ids = people_for(user).filter(affiliations__organization=organization).values("pk")
    affiliations = organization.affiliations.filter(person_id__in=visible_ids).select_related("person")
    total = affiliations.count()
    shown = list(affiliations.order_by("person__sort_key", "pk")[:ORGANIZATION_PEOPLE_SHOWN])
    charge(user, [affiliation.person_id for affiliation in shown])
    return shown, total


def get_affiliation(user: Any, pk: int, action: Action = Action.VIEW) -> Affiliation:
    with denial_recorded(user, Affiliation, pk, action):
        affiliation = restrict(user, Affiliation, action).select_related("person", "organization").get(pk=pk)
    charge(user, [affiliation.person_id])
    return affiliation


def get_note(user: Any, pk: int, action: Action = Action.VIEW) -> Note:
    with denial_recorded(user, Note, pk, action):
        note = restrict(user, Note, action).select_related("author").get(pk=pk)
    charge(user, [note.person_id] if note.person_id else [])
    return note
