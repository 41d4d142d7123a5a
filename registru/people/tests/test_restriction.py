"""Restriction of processing (Art. 18): restricting and lifting leave one event each, and every
refusal changes nothing, neither the record nor the trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from registru.audit.canonical import json_value
from registru.audit.models import AuditEvent
from registru.core.errors import ConflictError
from registru.people import services
from registru.people.models import Person
from registru.testing.factories import SETUP, PersonFactory, plain

pytestmark = pytest.mark.django_db

ROW = ("status", "restriction_ground", "restricted_since", "version", "updated_at", "merged_into_id", "job_title")


def row(person: Person) -> tuple[Any, ...]:
    return tuple(Person.objects.filter(pk=person.pk).values_list(*ROW).get())


def restricted(person: Person, ground: str = "accuracy_contested") -> Person:
    return services.restrict_processing(person, actor=SETUP, ground=ground, reason="cererea din 3 martie")


def test_it_restricts_with_one_event_naming_the_ground_and_the_reason(cast) -> None:
    person = cast.carol_person
    services.restrict_processing(person, actor=cast.dora, ground="legal_claims", reason="cererea nr. 12/2026")
    stored = Person.objects.get(pk=person.pk)
    [event] = AuditEvent.objects.filter(subject_id=person.pk, action="person.restricted")
    assert (stored.status, stored.restriction_ground, event.actor_id, event.reason) == (
        "restricted", "legal_claims", cast.dora.pk, "cererea nr. 12/2026",
    )  # fmt: skip
    assert plain(event) == {
        "status": ["active", "restricted"],
        "restriction_ground": [None, "legal_claims"],
        "restricted_since": [None, json_value(stored.restricted_since)],
    }


def test_it_lifts_with_one_event_that_says_the_person_was_told(cast) -> None:
    person = restricted(cast.carol_person, "objection_pending")
    since = person.restricted_since
    services.lift_restriction(person, actor=cast.dora, reason="opoziția respinsă; anunțată pe 5 martie",
                              person_informed=True)  # fmt: skip
    stored = Person.objects.get(pk=person.pk)
    [event] = AuditEvent.objects.filter(subject_id=person.pk, action="person.restriction_lifted")
    assert (stored.status, stored.restriction_ground, stored.restricted_since) == ("active", None, None)
    assert event.reason == "opoziția respinsă; anunțată pe 5 martie"
    assert plain(event) == {
        "status": ["restricted", "active"],
        "restriction_ground": ["objection_pending", None],
        "restricted_since": [json_value(since), None],
        "person_informed": [None, True],
    }


def _erased(cast: Any) -> Person:
    person = PersonFactory(owner=cast.alice)
    services.erase_person(person, actor=cast.dora, reason="art. 17")
    return person


def _merged(cast: Any) -> Person:
    duplicate = PersonFactory(owner=cast.alice, family_name=cast.alice_person.family_name)
    services.merge_people(cast.alice_person, duplicate, actor=cast.alice)
    return Person.objects.get(pk=duplicate.pk)


def _active(cast: Any) -> Person:
    return cast.alice_person


def _restricted(cast: Any) -> Person:
    return restricted(cast.alice_person)


def _restrict(ground: str = "accuracy_contested", reason: str = "motiv") -> Callable[[Person, Any], Any]:
    return lambda person, actor: services.restrict_processing(person, actor=actor, ground=ground, reason=reason)


def _lift(reason: str = "motiv", informed: Any = True) -> Callable[[Person, Any], Any]:
    return lambda person, actor: services.lift_restriction(person, actor=actor, reason=reason,
                                                           person_informed=informed)  # fmt: skip


REFUSALS = [
    pytest.param(_erased, _restrict(), ConflictError, "restrict_erased", id="restrict an erased person"),
    pytest.param(_merged, _restrict(), ConflictError, "restrict_merged", id="restrict a merged record"),
    pytest.param(_restricted, _restrict("legal_claims"), ConflictError, "already_restricted", id="restrict twice"),
    pytest.param(_active, _lift(), ConflictError, "not_restricted", id="lift what is not restricted"),
    pytest.param(_erased, _lift(), ConflictError, "not_restricted", id="lift an erased person"),
    pytest.param(_active, _restrict(reason=""), ValidationError, "reason", id="restrict without a reason"),
    pytest.param(_active, _restrict(reason="   "), ValidationError, "reason", id="restrict with a blank reason"),
    pytest.param(_active, _restrict(ground="angry"), ValidationError, "ground", id="restrict on no ground of art 18"),
    pytest.param(_active, _restrict(ground=""), ValidationError, "ground", id="restrict without a ground"),
    pytest.param(_restricted, _lift(reason=""), ValidationError, "reason", id="lift without a reason"),
    pytest.param(
        _restricted, _lift(informed=False), ValidationError, "person_informed", id="lift without telling the person"
    ),
    pytest.param(
        _restricted,
        _lift(informed="yes"),
        ValidationError,
        "person_informed",
        id="lift with something that is not true",
    ),
]


def _codes(error: Exception) -> set[str]:
    """A conflict's code, or the fields a validation error names."""
    return {error.code} if isinstance(error, ConflictError) else set(getattr(error, "message_dict", {}))


@pytest.mark.parametrize(("make", "act", "error", "code"), REFUSALS)
def test_it_refuses_and_changes_nothing(cast, make, act, error, code) -> None:
    person = make(cast)
    before, events = row(person), AuditEvent.objects.count()
    with pytest.raises(error) as raised:
        act(person, cast.dora)
    assert code in _codes(raised.value)
    assert (row(person), AuditEvent.objects.count()) == (before, events)


@pytest.mark.parametrize("role", ["alice", "bob", "admin", "mara", "audra"])
def test_only_the_dpo_restricts(cast, role: str) -> None:
    person = cast.alice_person  # in alice's, bob's and admin's scope
    before, events = row(person), AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.restrict_processing(person, actor=getattr(cast, role), ground="legal_claims", reason="x")
    assert (row(person), AuditEvent.objects.count()) == (before, events)


@pytest.mark.parametrize("role", ["alice", "bob", "admin", "mara", "audra"])
def test_only_the_dpo_lifts(cast, role: str) -> None:
    person = restricted(cast.alice_person)
    before, events = row(person), AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.lift_restriction(person, actor=getattr(cast, role), reason="x", person_informed=True)
    assert (row(person), AuditEvent.objects.count()) == (before, events)


def test_a_restriction_made_meanwhile_by_someone_else_is_not_made_again(cast) -> None:
    first, second = Person.objects.get(pk=cast.carol_person.pk), Person.objects.get(pk=cast.carol_person.pk)
    restricted(first)
    before, events = row(first), AuditEvent.objects.count()
    with pytest.raises(ConflictError) as raised:
        services.restrict_processing(second, actor=cast.dora, ground="legal_claims", reason="a doua oară")
    assert raised.value.code == "already_restricted"
    assert (row(first), AuditEvent.objects.count()) == (before, events)


def test_an_edit_made_meanwhile_does_not_stand_in_the_way(cast) -> None:
    person = Person.objects.get(pk=cast.carol_person.pk)
    services.update_person(Person.objects.get(pk=person.pk), {"job_title": "Contabil"}, actor=cast.carol)
    restricted(person)  # an instance read before the edit
    stored = Person.objects.get(pk=person.pk)
    assert (stored.status, stored.job_title) == ("restricted", "Contabil")


def test_a_restricted_record_can_still_be_corrected(cast) -> None:
    person = restricted(cast.alice_person)
    services.update_person(person, {"job_title": "Director economic"}, actor=cast.alice, reason="rectificare")
    stored = Person.objects.get(pk=person.pk)
    assert (stored.status, stored.job_title) == ("restricted", "Director economic")


@pytest.mark.parametrize("which", ["primary", "duplicate"])
def test_a_restricted_person_is_not_merged(cast, which: str) -> None:
    primary = cast.alice_person
    duplicate = PersonFactory(owner=cast.alice, family_name=primary.family_name)
    restricted(primary if which == "primary" else duplicate)
    rows, events = (row(primary), row(duplicate)), AuditEvent.objects.count()
    with pytest.raises(ConflictError) as raised:
        services.merge_people(primary, duplicate, actor=cast.alice)
    assert raised.value.code == "merge_restricted"
    assert ((row(primary), row(duplicate)), AuditEvent.objects.count()) == (rows, events)


def test_erasing_a_restricted_person_ends_the_restriction_with_the_rest(cast) -> None:
    person = restricted(cast.alice_person)
    services.erase_person(person, actor=cast.dora, reason="art. 17, după restricționare")
    stored = Person.objects.get(pk=person.pk)
    assert (stored.status, stored.restriction_ground, stored.restricted_since) == ("erased", None, None)
