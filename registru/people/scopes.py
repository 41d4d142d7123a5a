"""Record scopes for people and organizations (registered with ``core.scopes.restrict``).

An agent has what they own and the people currently affiliated with it; a manager has what
the team owns; the DPO and administrators have everything; other roles have nothing here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from registru.accounts.roles import RecordScope
from registru.core.scopes import Action, scope_policy
from registru.people.models import Affiliation, Note, Organization, Person

if TYPE_CHECKING:
    from registru.accounts.models import User


def _organization_filter(user: User) -> Q | None:
    scope = user.record_scope
    if scope is RecordScope.ALL:
        return Q()
    if scope is RecordScope.TEAM and user.team_id:
        return Q(team_id=user.team_id) | Q(owner__team_id=user.team_id)
    if scope in (RecordScope.OWN, RecordScope.TEAM):
        return Q(owner_id=user.pk)
    return None


def current_affiliations() -> QuerySet[Affiliation]:
    today = timezone.localdate()
    return Affiliation.objects.filter(Q(until__isnull=True) | Q(until__gte=today))


@scope_policy(Organization)
def organizations_in_scope(user: User, action: Action) -> QuerySet[Organization]:
    condition = _organization_filter(user)
    if condition is None:
        return Organization.objects.none()
    return Organization.objects.filter(condition)


@scope_policy(Person)
def people_in_scope(user: User, action: Action) -> QuerySet[Person]:
    scope = user.record_scope
    if scope is RecordScope.ALL:
        return Person.objects.all()
    organizations = _organization_filter(user)
    if organizations is None:
        return Person.objects.none()
    owned = Q(owner__team_id=user.team_id) if scope is RecordScope.TEAM and user.team_id else Q(owner_id=user.pk)
    works_at_ours = Exists(
        current_affiliations().filter(
            person_id=OuterRef("pk"),
            organization__in=Organization.objects.filter(organizations).values("pk"),
        )
    )
    return Person.objects.filter(owned | works_at_ours)


@scope_policy(Affiliation)
def affiliations_in_scope(user: User, action: Action) -> QuerySet[Affiliation]:
    """Seen with the person; changed only with both the person and the organization."""
    affiliations = Affiliation.objects.filter(person__in=people_in_scope(user, action).values("pk"))
    if action is Action.CHANGE:
        affiliations = affiliations.filter(organization__in=organizations_in_scope(user, action).values("pk"))
    return affiliations


@scope_policy(Note)
def notes_in_scope(user: User, action: Action) -> QuerySet[Note]:
    people = people_in_scope(user, action).values("pk")
    organizations = organizations_in_scope(user, action).values("pk")
    return Note.objects.filter(Q(person__in=people) | Q(organization__in=organizations))


def invisible_people(user: Any, person_ids: set[int]) -> set[int]:
    """Those of ``person_ids`` the user may not see (to name them only as "another record")."""
    if not person_ids:
        return set()
    return person_ids - set(people_in_scope(user, Action.VIEW).filter(pk__in=person_ids).values_list("pk", flat=True))
