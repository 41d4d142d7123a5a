"""Attacks on access grants: a grant is temporary and must not turn into ownership."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.models.grants import RequestStatus
from registru.audit.models import AuditEvent
from registru.people.models import Affiliation, Organization, Person

pytestmark = pytest.mark.django_db
JSON = "application/json"


def _grant(user, person=None, organization=None, access: str = "change") -> AccessRequest:
    return AccessRequest.objects.create(
        requester=user, person=person, organization=organization, access=access, reason="ofertă", days=1,
        status=RequestStatus.APPROVED, decided_at=timezone.now(), expires_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip


def _events() -> int:
    return AuditEvent.objects.exclude(action="security.access_denied").count()


def _attempt(client: Any, method: str, path: str, body: dict[str, Any]) -> tuple[Any, int]:
    """An attack through the API: its answer, and how many events (besides a refusal's) it wrote."""
    before = _events()
    answer = getattr(client, method)(path, data=json.dumps(body), content_type=JSON)
    return answer, _events() - before


def test_a_change_grant_on_a_person_does_not_let_its_holder_take_the_person_over(cast, api_for) -> None:
    _grant(cast.alice, person=cast.carol_person)
    person = Person.objects.get(pk=cast.carol_person.pk)
    answer, written = _attempt(api_for(cast.alice), "patch", f"/api/v1/people/{person.pk}", {"owner_id": cast.alice.pk})
    assert answer.status_code in (403, 422), answer.content
    person.refresh_from_db()
    assert person.owner_id != cast.alice.pk
    assert written == 0


def test_a_change_grant_on_an_organization_does_not_let_its_holder_take_it_over(cast, api_for) -> None:
    _grant(cast.alice, organization=cast.carol_org)
    answer, written = _attempt(
        api_for(cast.alice), "patch", f"/api/v1/organizations/{cast.carol_org.pk}", {"owner_id": cast.alice.pk}
    )
    assert answer.status_code in (403, 422), answer.content
    assert Organization.objects.get(pk=cast.carol_org.pk).owner_id == cast.carol.pk
    assert written == 0


def test_a_change_grant_on_a_person_does_not_let_its_holder_employ_them_at_an_own_organization(cast, api_for) -> None:
    """An affiliation with an organization the holder owns would put the person in their own
    scope for good, past the grant's end (and out of the export's four eyes)."""
    _grant(cast.alice, person=cast.carol_person)
    answer, written = _attempt(
        api_for(cast.alice),
        "post",
        f"/api/v1/people/{cast.carol_person.pk}/affiliations",
        {"organization_id": cast.alice_org.pk, "role": "x"},
    )
    assert answer.status_code in (403, 404, 422), answer.content
    assert not Affiliation.objects.filter(person=cast.carol_person, organization=cast.alice_org).exists()
    assert written == 0


def test_a_change_grant_on_an_organization_does_not_let_a_manager_move_it_into_his_team(cast, api_for) -> None:
    _grant(cast.bob, organization=cast.carol_org)
    answer, written = _attempt(
        api_for(cast.bob), "patch", f"/api/v1/organizations/{cast.carol_org.pk}", {"owner_id": cast.andrei.pk}
    )
    assert answer.status_code == 422, answer.content
    organization = Organization.objects.get(pk=cast.carol_org.pk)
    assert (organization.owner_id, organization.team_id) == (cast.carol.pk, cast.carol_org.team_id)
    assert written == 0


def test_an_ended_employment_at_an_own_organization_is_not_reopened_through_a_grant(cast, api_for) -> None:
    from registru.people import services as people
    from registru.testing.factories import SETUP

    ended = people.create_affiliation(
        cast.carol_person, cast.alice_org, {"until": timezone.localdate() - timedelta(days=30)}, actor=SETUP
    )
    _grant(cast.alice, person=cast.carol_person)
    answer, written = _attempt(api_for(cast.alice), "patch", f"/api/v1/affiliations/{ended.pk}", {"until": None})
    assert answer.status_code == 422, answer.content
    ended.refresh_from_db()
    assert ended.until is not None
    assert written == 0


@pytest.mark.parametrize("granted_is", ["duplicate", "primary"])
def test_a_person_seen_through_a_grant_is_not_merged_with_an_own_one(cast, api_for, granted_is) -> None:
    _grant(cast.alice, person=cast.carol_person)
    own, granted = cast.alice_person, cast.carol_person
    primary, duplicate = (own, granted) if granted_is == "duplicate" else (granted, own)
    answer, written = _attempt(
        api_for(cast.alice),
        "post",
        f"/api/v1/people/{primary.pk}/merge",
        {"duplicate_id": duplicate.pk, "reason": "dublură"},
    )
    assert answer.status_code == 409, answer.content
    assert Person.objects.get(pk=duplicate.pk).merged_into_id is None
    assert written == 0


def test_an_organization_seen_through_a_grant_is_not_merged_into_an_own_one(cast, api_for) -> None:
    _grant(cast.alice, organization=cast.carol_org)
    answer, written = _attempt(
        api_for(cast.alice),
        "post",
        f"/api/v1/organizations/{cast.alice_org.pk}/merge",
        {"duplicate_id": cast.carol_org.pk, "reason": "dublură"},
    )
    assert answer.status_code == 409, answer.content
    assert Organization.objects.get(pk=cast.carol_org.pk).merged_into_id is None
    assert Affiliation.objects.filter(person=cast.carol_person, organization=cast.carol_org).exists()
    assert written == 0


def test_an_own_person_is_still_employed_at_an_organization_seen_through_a_change_grant(cast, api_for) -> None:
    _grant(cast.alice, organization=cast.carol_org)
    answer = api_for(cast.alice).post(
        f"/api/v1/people/{cast.alice_person.pk}/affiliations",
        data=json.dumps({"organization_id": cast.carol_org.pk}), content_type=JSON,
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
