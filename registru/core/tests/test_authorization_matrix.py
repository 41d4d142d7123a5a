"""The authorization matrix of issue 6: every role, every way of reaching a person, every
relation of the person to the user. The expectation is written from the rules (who sees what),
not read from the code; any cell where the answer differs is an unexpected allow or deny.

Relations, seen from the acting user:
  own      a person of their own (agents: at an organization they own; managers: their team's)
  team     a person owned by a teammate (agents do not see it; managers do)
  other    a person of another team
  granted  a person of another team, with an approved access grant in force for the user
  expired  the same, with a grant that has run out
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.models.grants import GrantAccess, RequestStatus
from registru.accounts.roles import Capability, Role
from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.core.errors import NotInScopeError
from registru.people.models import Person
from registru.people.selectors import PeopleFilter
from registru.people.services import update_person
from registru.testing.factories import SETUP, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("admin", "dora", "bob", "alice", "mara", "audra")
RELATIONS = ("own", "team", "other", "granted", "expired")
SURFACES = ("list", "detail", "search", "api list", "api detail", "export", "reveal", "grant approve")
BIRTH = dt.date(1979, 3, 14)


def sees(role: str, relation: str) -> bool:
    """Record scope as the issue states it, grants included."""
    if role in ("mara", "audra"):
        return False  # marketing and auditors do not browse people at all
    if role in ("admin", "dora"):
        return True
    if relation in ("own", "granted"):
        return True
    return role == "bob" and relation == "team"


def expected(role: str, relation: str, surface: str) -> bool:
    if surface == "export":  # without approval: someone seen only through a grant needs one
        through_grant = relation == "granted" and role in ("bob", "alice")
        return role in ("dora", "bob", "alice") and sees(role, relation) and not through_grant
    if surface == "reveal":  # birth dates: revealed by the DPO and managers, masked for the rest
        return role in ("dora", "bob") and sees(role, relation)
    if surface == "grant approve":  # the record's owner, a manager over it, or the DPO
        owner = role == "alice" and relation == "own"  # alice owns the organization "own" works at
        return role == "dora" or owner or (role == "bob" and relation in ("own", "team"))
    return sees(role, relation)


def _grant(user: Any, person: Person, *, ends: dt.datetime) -> None:
    AccessRequest.objects.create(
        requester=user, person=person, access=GrantAccess.VIEW, reason="matrix", days=1,
        status=RequestStatus.APPROVED, decided_at=timezone.now(), expires_at=ends,
    )  # fmt: skip


@pytest.fixture
def world(cast: Any) -> dict[str, Any]:
    """One person per relation for each role, all with a birth date to reveal."""
    for person in (cast.alice_person, cast.andrei_person, cast.carol_person):
        update_person(person, {"birth_date": BIRTH}, actor=SETUP)
    records: dict[str, dict[str, Person]] = {}
    now = timezone.now()
    for role in ROLES:
        user = getattr(cast, role)
        granted = PersonFactory(owner=cast.carol, birth_date=BIRTH, family_name=f"Acordat{role}")
        lapsed = PersonFactory(owner=cast.carol, birth_date=BIRTH, family_name=f"Expirat{role}")
        _grant(user, granted, ends=now + dt.timedelta(days=1))
        _grant(user, lapsed, ends=now - dt.timedelta(minutes=1))
        records[role] = {
            "own": cast.alice_person, "team": cast.andrei_person, "other": cast.carol_person,
            "granted": granted, "expired": lapsed,
        }  # fmt: skip
    return records


def _api(client_for: Any, api_for: Any, user: Any) -> Any:
    return api_for(user) if user.can(Capability.USE_API) else None


def _listed(client: Any, person: Person) -> bool:
    response = client.get("/people/")
    return response.status_code == 200 and f"/people/{person.pk}/" in response.content.decode()


def _searched(client: Any, person: Person) -> bool:
    response = client.post("/people/", {"q": person.family_name})
    return response.status_code == 200 and f"/people/{person.pk}/" in response.content.decode()


def _api_listed(api: Any, person: Person) -> bool:
    if api is None:
        return False
    response = api.get("/api/v1/people", {"limit": 100})
    return response.status_code == 200 and person.pk in {item["id"] for item in response.json()["items"]}


def _api_detail(api: Any, person: Person) -> bool:
    return api is not None and api.get(f"/api/v1/people/{person.pk}").status_code == 200


def _exported(user: Any, person: Person) -> bool:
    """Whether an export asked by ``user`` with the person's name as filter holds the person."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from registru.exports.services import generate_export, request_export
    from registru.exports.services.requests import file_path

    try:
        export = request_export(
            actor=user, criteria=PeopleFilter(query=person.family_name), fields=["given_name", "family_name"],
            fmt="csv", purpose="authorization matrix",
        )  # fmt: skip
    except (PermissionDenied, ValidationError):  # no permission; nobody of theirs matches
        return False
    made = generate_export(export.pk)
    if made is None or not made.file_name:
        return False
    return person.family_name in file_path(made).read_text(encoding="utf-8-sig")


def _revealed(client: Any, person: Person) -> bool:
    response = client.post(f"/people/{person.pk}/reveal/", {"group": "birth_date", "reason": "matrix"})
    return response.status_code == 200 and "1979" in response.content.decode()


def _approves(user: Any, person: Person, outsider: Any) -> bool:
    """Whether ``user`` may approve an outsider's request, filed the real way, for the person."""
    from registru.accounts.services.grants import approve_access_request, file_access_request

    pending = file_access_request(
        actor=outsider, identified_by="email", identifier=person.primary_email, access=GrantAccess.VIEW,
        days=2, reason="needs the contact for a tender",
    )  # fmt: skip
    try:
        approve_access_request(pending, actor=user)
    except (PermissionDenied, NotInScopeError):
        pending.refresh_from_db()
        assert pending.status == RequestStatus.PENDING  # a refusal changes nothing
        return False
    return True


@pytest.mark.parametrize("role", ROLES)
def test_every_cell_of_the_matrix_is_as_the_rules_say(role: str, cast: Any, world: Any, client_for: Any,
                                                      api_for: Any) -> None:  # fmt: skip
    user = getattr(cast, role)
    outsider = UserFactory(username="zed", role=Role.AGENT)  # no team: every record is outside
    client = client_for(user)
    api = _api(client_for, api_for, user)
    surfaces = {
        "list": lambda p: _listed(client, p),
        "detail": lambda p: client.get(f"/people/{p.pk}/").status_code == 200,
        "search": lambda p: _searched(client, p),
        "api list": lambda p: _api_listed(api, p),
        "api detail": lambda p: _api_detail(api, p),
        "export": lambda p: _exported(user, p),
        "reveal": lambda p: _revealed(client, p),
        "grant approve": lambda p: _approves(user, p, outsider),
    }
    wrong = []
    for relation in RELATIONS:
        person = world[role][relation]
        for surface in SURFACES:
            allowed = surfaces[surface](person)
            if allowed != expected(role, relation, surface):
                wrong.append(f"{role} {surface} {relation}: {'allowed' if allowed else 'denied'}")
    assert wrong == []


def test_a_denied_detail_is_a_security_event_and_changes_nothing_else(cast: Any, world: Any, client_for: Any) -> None:
    person = world["alice"]["expired"]
    before = Person.objects.get(pk=person.pk).version
    events = AuditEvent.objects.exclude(action__startswith="security.").count()
    assert client_for(cast.alice).get(f"/people/{person.pk}/").status_code == 404
    assert Person.objects.get(pk=person.pk).version == before
    assert AuditEvent.objects.exclude(action__startswith="security.").count() == events
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_id=cast.alice.pk).count() == 1
