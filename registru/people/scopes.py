"""Record scopes for people and organizations (registered with ``core.scopes.restrict``).

An agent has what they own and the people currently affiliated with it; a manager has what
the team owns, except key accounts (organizations that need an access request) that the
manager does not own themselves; the DPO and administrators have everything; other roles have
nothing here. On top of that, each active access grant adds its record: a grant on an
organization covers it and the people currently affiliated with it, as ownership does; a
view grant adds to viewing only, a change grant to both. An erased person is seen, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from registru.accounts.models.grants import AccessRequest, GrantAccess
from registru.accounts.roles import RecordScope
from registru.core.scopes import Action, scope_policy
from registru.people.choices import PersonStatus
from registru.people.models import Affiliation, Note, Organization, Person

if TYPE_CHECKING:
    from registru.accounts.models import User


@dataclass(frozen=True)
class Granted:
    """The records the user's active grants add for one action."""

    people: frozenset[int] = frozenset()
    organizations: frozenset[int] = frozenset()


NOTHING_GRANTED = Granted()


def granted(user: User, action: Action) -> Granted:
    """One indexed query on (requester, status, expires_at); grants are few, so their records
    go into the scope's query as literal ids, and a user without grants gets the query they
    would have had without this feature. Expired and revoked grants are left out here, at once.
    """
    if user.record_scope not in (RecordScope.OWN, RecordScope.TEAM):
        return NOTHING_GRANTED  # everything already, or no browsing at all
    grants = AccessRequest.objects.active().filter(requester_id=user.pk)
    if action is Action.CHANGE:
        grants = grants.filter(access=GrantAccess.CHANGE)
    rows = list(grants.values_list("person_id", "organization_id"))
    if not rows:
        return NOTHING_GRANTED
    return Granted(
        people=frozenset(person for person, _organization in rows if person is not None),
        organizations=frozenset(organization for _person, organization in rows if organization is not None),
    )


def _organization_filter(user: User) -> Q | None:
    """The organizations in the user's own scope, before any grant."""
    scope = user.record_scope
    if scope is RecordScope.ALL:
        return Q()
    if scope is RecordScope.TEAM and user.team_id:
        team = Q(team_id=user.team_id) | Q(owner__team_id=user.team_id)
        # A key account is its owner's alone within the team: a manager needs a grant too.
        return team & (Q(access_by_request=False) | Q(owner_id=user.pk))
    if scope in (RecordScope.OWN, RecordScope.TEAM):
        return Q(owner_id=user.pk)
    return None


def _people_owned_filter(user: User) -> Q:
    scope = user.record_scope
    return Q(owner__team_id=user.team_id) if scope is RecordScope.TEAM and user.team_id else Q(owner_id=user.pk)


def current_affiliations() -> QuerySet[Affiliation]:
    today = timezone.localdate()
    return Affiliation.objects.filter(Q(until__isnull=True) | Q(until__gte=today))


def _works_at(organizations: Q) -> Exists:
    return Exists(
        current_affiliations().filter(
            person_id=OuterRef("pk"),
            organization__in=Organization.objects.filter(organizations).values("pk"),
        )
    )


def _organizations(user: User, grants: Granted) -> QuerySet[Organization]:
    condition = _organization_filter(user)
    if condition is None:
        return Organization.objects.none()
    if grants.organizations:
        condition |= Q(pk__in=sorted(grants.organizations))
    return Organization.objects.filter(condition)


def _people(user: User, grants: Granted) -> QuerySet[Person]:
    if user.record_scope is RecordScope.ALL:
        return Person.objects.all()
    organizations = _organization_filter(user)
    if organizations is None:
        return Person.objects.none()
    if grants.organizations:
        organizations |= Q(pk__in=sorted(grants.organizations))
    condition: Q = _people_owned_filter(user) | Q(_works_at(organizations))
    if grants.people:
        condition |= Q(pk__in=sorted(grants.people))
    return Person.objects.filter(condition)


def people_ids_in_scope(user: User, action: Action = Action.VIEW) -> QuerySet[Any] | None:
    """The ids of the people in the user's scope, as a union of queries that each follow an
    index (owned, working at an owned organization, granted); None when the scope is everyone.

    The same people as ``people_in_scope``, whose single condition ("owner, or works at an owned
    organization") PostgreSQL can only test row by row: a search may start from this instead,
    when reading the user's few thousand people costs less than walking or collecting a term's
    matches (``people.search``).
    """
    if user.record_scope is RecordScope.ALL:
        return None
    if _organization_filter(user) is None:
        return Person.objects.none().values("pk")
    grants = granted(user, action)
    owned = Person.objects.filter(_people_owned_filter(user)).values("pk")
    organizations = _organizations(user, grants).values("pk")
    working = current_affiliations().filter(organization__in=organizations).values("person_id")
    parts = owned.union(working, all=True)
    if grants.people:
        parts = parts.union(Person.objects.filter(pk__in=sorted(grants.people)).values("pk"), all=True)
    return parts


@scope_policy(Organization)
def organizations_in_scope(user: User, action: Action) -> QuerySet[Organization]:
    return _organizations(user, granted(user, action))


@scope_policy(Person)
def people_in_scope(user: User, action: Action) -> QuerySet[Person]:
    people = _people(user, granted(user, action))
    # An erased person's data key is gone: nothing can be written for them any more, by anyone.
    return people.exclude(status=PersonStatus.ERASED) if action is Action.CHANGE else people


def organizations_in_own_scope(user: User) -> QuerySet[Organization]:
    """The organizations the user's role gives them, grants left out (who may decide requests)."""
    return _organizations(user, NOTHING_GRANTED)


def people_in_own_scope(user: User) -> QuerySet[Person]:
    """The people the user's role gives them, grants left out (who may decide requests)."""
    return _people(user, NOTHING_GRANTED)


def organizations_owned_by(user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(owner_id=user.pk)


def people_owned_by(user: User) -> QuerySet[Person]:
    """The people the user owns, and those currently working at an organization they own."""
    return Person.objects.filter(Q(owner_id=user.pk) | _works_at(Q(owner_id=user.pk)))


@scope_policy(Affiliation)
def affiliations_in_scope(user: User, action: Action) -> QuerySet[Affiliation]:
    """Seen with the person; changed only with both the person and the organization."""
    affiliations = Affiliation.objects.filter(person__in=people_in_scope(user, action).values("pk"))
    if action is Action.CHANGE:
        affiliations = affiliations.filter(organization__in=organizations_in_scope(user, action).values("pk"))
    return affiliations


@scope_policy(Note)
def notes_in_scope(user: User, action: Action) -> QuerySet[Note]:
    grants = granted(user, action)
    people = _people(user, grants).values("pk")
    organizations = _organizations(user, grants).values("pk")
    return Note.objects.filter(Q(person__in=people) | Q(organization__in=organizations))


def invisible_people(user: Any, person_ids: set[int]) -> set[int]:
    """Those of ``person_ids`` the user may not see (to name them only as "another record")."""
    if not person_ids:
        return set()
    return person_ids - set(people_in_scope(user, Action.VIEW).filter(pk__in=person_ids).values_list("pk", flat=True))
