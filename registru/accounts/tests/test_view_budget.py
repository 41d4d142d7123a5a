"""The bulk-view budget: paging, searching and opening records all count, once per person."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from registru.accounts.models import ViewAlert, ViewBlock
from registru.accounts.services.policy import save_role_policy
from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.mail.models import OutboundMessage
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight(cast: Any) -> list[Any]:
    """Agents may see 4 people an hour before the DPO hears of it and 8 before they are blocked."""
    save_role_policy(
        "agent",
        {"views_per_hour_soft": 4, "views_per_hour_hard": 8, "views_per_day_soft": 50, "views_per_day_hard": 100},
        actor=SETUP,
    )
    return [PersonFactory(owner=cast.alice) for _ in range(11)]


def _page_through_api(client: Any, limit: int = 2) -> list[int]:
    statuses, cursor = [], None
    for _ in range(10):
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get("/api/v1/people" + query)
        statuses.append(response.status_code)
        if response.status_code != 200 or not response.json()["next_cursor"]:
            break
        cursor = response.json()["next_cursor"]
    return statuses


def _dpo_alerts() -> int:
    return OutboundMessage.objects.filter(recipient="dora@firma.test").count()


def test_a_script_paging_through_the_api_is_blocked_and_the_dpo_alerted_once(
    cast: Any, tight: Any, api_for: Any
) -> None:
    statuses = _page_through_api(api_for(cast.alice))
    assert 429 in statuses
    assert statuses.index(429) == 4  # 2+2+2+2 = 8 people allowed, the fifth page crosses the limit
    assert ViewAlert.objects.filter(user=cast.alice, level="soft").count() == 1
    assert ViewBlock.objects.filter(user=cast.alice, lifted_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.VIEW_BUDGET_ALERT).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.VIEW_BUDGET_BLOCKED).count() == 1
    assert _dpo_alerts() == 2  # one for the soft limit, one for the block: not one per request


def test_the_block_holds_for_pages_other_tokens_and_records(
    cast: Any, tight: Any, api_for: Any, client_for: Any
) -> None:
    _page_through_api(api_for(cast.alice))
    assert api_for(cast.alice).get("/api/v1/people").status_code == 429  # a second token
    page = client_for(cast.alice).get("/people/")
    assert page.status_code == 429
    assert "blocked" in page.content.decode()
    assert client_for(cast.alice).get(f"/people/{tight[0].pk}/").status_code == 429
    assert _dpo_alerts() == 2


def test_seeing_the_same_people_again_costs_nothing(cast: Any, tight: Any, client_for: Any) -> None:
    client = client_for(cast.alice)
    for _ in range(20):
        assert client.get(f"/people/{tight[0].pk}/").status_code == 200
    assert not ViewAlert.objects.exists()


def test_parallel_sessions_share_the_budget(cast: Any, tight: Any, client_for: Any) -> None:
    first, second = client_for(cast.alice), client_for(cast.alice)
    codes = [(first if i % 2 else second).get(f"/people/{person.pk}/").status_code for i, person in enumerate(tight)]
    assert codes[:8] == [200] * 8
    assert codes[8] == 429


def test_a_manager_lifts_the_block_with_a_reason(cast: Any, tight: Any, api_for: Any, client_for: Any) -> None:
    _page_through_api(api_for(cast.alice))
    block = ViewBlock.objects.get(user=cast.alice)
    manager = client_for(cast.bob)
    assert str(block.user.label) in manager.get("/account/blocks/").content.decode()
    assert manager.post(f"/account/blocks/{block.pk}/lift/", {"reason": "quarterly review"}).status_code == 302
    block.refresh_from_db()
    assert block.lifted_by == cast.bob
    assert AuditEvent.objects.filter(action=AuditAction.VIEW_BUDGET_LIFTED).count() == 1
    assert client_for(cast.alice).get("/people/").status_code == 200


def test_nobody_lifts_their_own_block_or_one_outside_their_team(
    cast: Any, tight: Any, api_for: Any, client_for: Any
) -> None:
    _page_through_api(api_for(cast.alice))
    block = ViewBlock.objects.get(user=cast.alice)
    assert client_for(cast.alice).post(f"/account/blocks/{block.pk}/lift/", {"reason": "me"}).status_code in (403, 404)
    assert client_for(cast.carol).post(f"/account/blocks/{block.pk}/lift/", {"reason": "x"}).status_code in (403, 404)
    block.refresh_from_db()
    assert block.lifted_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_BUDGET_LIFTED).exists()


def test_searches_count_against_the_same_budget(cast: Any, tight: Any, api_for: Any) -> None:
    client = api_for(cast.alice)
    body = '{"q": "Popescu", "limit": 9}'
    assert client.post("/api/v1/people/search", body, content_type="application/json").status_code == 429


@pytest.mark.django_db(transaction=True)
def test_a_block_is_written_through_a_service_outside_the_tests_own_transaction(cast: Any) -> None:
    """Each request is its own transaction in production: the alert, block and events must be
    written inside a service there too, or the database's guard refuses them."""
    from registru.accounts.services.budget import ViewingBlockedError, charge
    from registru.core import dbguard

    save_role_policy(
        "agent",
        {"views_per_hour_soft": 1, "views_per_hour_hard": 2, "views_per_day_soft": 50, "views_per_day_hard": 100},
        actor=SETUP,
    )
    people = [PersonFactory(owner=cast.alice) for _ in range(3)]
    dbguard.MAINTENANCE = False
    try:
        charge(cast.alice, [people[0].pk])
        charge(cast.alice, [people[1].pk])  # over the alert limit
        with pytest.raises(ViewingBlockedError):
            charge(cast.alice, [people[2].pk])  # over the blocking limit
    finally:
        dbguard.MAINTENANCE = True
    assert ViewBlock.objects.filter(user=cast.alice).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.VIEW_BUDGET_BLOCKED).count() == 1


def test_a_block_made_elsewhere_stops_even_people_already_seen(cast: Any, tight: Any, client_for: Any,
                                                               monkeypatch: Any) -> None:  # fmt: skip
    from registru.accounts.models import ViewAlert
    from registru.accounts.services import budget

    client = client_for(cast.alice)
    assert client.get(f"/people/{tight[0].pk}/").status_code == 200
    # Another process blocked alice; this one re-reads the counts after RECHECK_SECONDS.
    alert = ViewAlert.objects.create(user=cast.alice, window="day", window_start=timezone.now(), level="hard", count=1)
    ViewBlock.objects.create(user=cast.alice, alert=alert)
    monkeypatch.setattr(budget, "RECHECK_SECONDS", 0.0)
    assert client.get(f"/people/{tight[0].pk}/").status_code == 429
