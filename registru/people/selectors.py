"""The read side of people and organizations. Every function takes the user and starts from
``restrict``: there is no other way to get a list or a record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from registru.audit.models import AuditEvent
from registru.core.pagination import Page, Sort, paginate
from registru.core.scopes import Action, restrict
from registru.people import search
from registru.people.models import Affiliation, Note, Organization, Person
from registru.people.scopes import current_affiliations

PEOPLE_SORTS: dict[str, Sort] = {
    "name": Sort("sort_key"),
    "-name": Sort("sort_key", descending=True),
    "newest": Sort("created_at", descending=True),
    "oldest": Sort("created_at"),
    "updated": Sort("updated_at", descending=True),
}
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


def people_for(user: Any, action: Action = Action.VIEW) -> QuerySet[Person]:
    return restrict(user, Person, action)


def get_person(user: Any, pk: int, action: Action = Action.VIEW) -> Person:
    """The person, if in the user's scope; ``Person.DoesNotExist`` otherwise, in both cases."""
    return people_for(user, action).select_related("owner").get(pk=pk)


def filter_people(user: Any, criteria: PeopleFilter) -> QuerySet[Person]:
    people = people_for(user).filter(archived_at__isnull=not criteria.archived)
    if criteria.status:
        people = people.filter(status=criteria.status)
    if criteria.owner_id:
        people = people.filter(owner_id=criteria.owner_id)
    if criteria.organization_id:
        people = people.filter(
            pk__in=current_affiliations().filter(organization_id=criteria.organization_id).values("person_id")
        )
    if criteria.query:
        people = search.filter_people(people, criteria.query)
    return people


def list_people(
    user: Any, criteria: PeopleFilter, *, sort: str = "name", cursor: str | None = None, limit: int = 25
) -> Page[Person]:
    """A page of people. A search that finds nobody is retried once with its typos corrected;
    the page then says which query it answers.
    """
    page = paginate(
        filter_people(user, criteria).select_related("owner"), PEOPLE_SORTS[sort], sort, cursor, limit
    )
    if page.items or cursor or not criteria.query:
        return page
    correction = search.corrected_query(criteria.query)
    if correction is None:
        return page
    corrected = replace(criteria, query=correction)
    page = paginate(
        filter_people(user, corrected).select_related("owner"), PEOPLE_SORTS[sort], sort, None, limit
    )
    page.corrected_query = correction
    return page


def person_detail(user: Any, pk: int) -> Person:
    """A person with what the detail page shows: employers and recent notes."""
    return (
        people_for(user)
        .select_related("owner", "merged_into")
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
    return organizations_for(user, action).select_related("owner", "team").get(pk=pk)


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
        filter_organizations(user, criteria)
        .select_related("owner")
        .annotate(people_count=Count("affiliations"))
    )
    return paginate(organizations, ORGANIZATION_SORTS[sort], sort, cursor, limit)


def organization_detail(user: Any, pk: int) -> Organization:
    return (
        organizations_for(user)
        .select_related("owner", "team")
        .prefetch_related(
            Prefetch("affiliations", queryset=Affiliation.objects.select_related("person")),
            Prefetch("notes", queryset=Note.objects.select_related("author")),
        )  # type: ignore[type-var]
        .get(pk=pk)
    )


def organization_people(user: Any, organization: Organization) -> list[Affiliation]:
    """Affiliations of an organization to the people the user may see; others are left out,
    names included, since they are people outside the user's scope.
    """
    visible = set(
        people_for(user).filter(affiliations__organization=organization).values_list("pk", flat=True)
    )
    return [
        affiliation for affiliation in organization.affiliations.all() if affiliation.person_id in visible
    ]
