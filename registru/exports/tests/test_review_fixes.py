"""Review fixes: four-eyes approval cannot be dodged by splitting an export into small ones,
and a user whose viewing is blocked (view budget spent) can neither ask for nor download one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from registru.accounts.models import ViewBlock
from registru.accounts.services import budget
from registru.accounts.services.policy import save_role_policy
from registru.audit.models import AuditEvent
from registru.exports import policy, services
from registru.exports.models import ExportDownload, ExportRequest, ExportStatus
from registru.exports.tests.conftest import ask, made
from registru.people.selectors import PeopleFilter
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db

GROUPS = ("Avramescu", "Bucurescu", "Cazacu")  # threshold 5 (conftest): 4 people each, 12 in all


@pytest.fixture
def groups(cast: Any) -> dict[str, list[Any]]:
    """Alice owns 13 people: her own, and three groups of 4 that a name search tells apart."""
    return {name: [PersonFactory(owner=cast.alice, family_name=name) for _ in range(4)] for name in GROUPS}


def _denials(user: Any) -> int:
    return AuditEvent.objects.filter(action="security.access_denied", actor_id=user.pk).count()


# --- (a) split exports add up against the threshold -------------------------------------------


def test_three_small_exports_of_four_do_not_all_pass_without_approval(cast, groups) -> None:
    first, second, third = (ask(cast.alice, query=name) for name in GROUPS)
    assert [export.counted for export in (first, second, third)] == [4, 4, 4]
    assert (first.status, first.needs_approval) == (ExportStatus.APPROVED, False)
    for export in (second, third):
        assert (export.status, export.needs_approval) == (ExportStatus.PENDING, True)
        assert export.approval_reasons == ["recent"]
        assert "automatic exports of the last 24 hours" in export.reason_labels[0]
    event = AuditEvent.objects.get(action="export.requested", target_id=str(second.pk))
    assert event.changes["needs_approval"] == [None, ["recent"]]
    assert event.changes["recently_exported"] == [None, 4]


def test_exports_that_stay_under_the_threshold_together_are_still_automatic(cast, groups) -> None:
    assert ask(cast.alice, query=GROUPS[0]).status == ExportStatus.APPROVED  # 4
    assert ask(cast.alice, query=cast.alice_person.family_name).status == ExportStatus.APPROVED  # 4 + 1 = 5
    assert policy.recently_exported(cast.alice) == 5
    assert ask(cast.alice, query=GROUPS[1]).status == ExportStatus.PENDING  # 5 + 4 > 5


def test_the_window_rolls_over_24_hours(cast, groups) -> None:
    first = ask(cast.alice, query=GROUPS[0])
    ExportRequest.objects.filter(pk=first.pk).update(decided_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert policy.recently_exported(cast.alice) == 0
    assert ask(cast.alice, query=GROUPS[1]).status == ExportStatus.APPROVED
    ExportRequest.objects.filter(requester=cast.alice).update(decided_at=timezone.now() - timedelta(hours=23))
    assert policy.recently_exported(cast.alice) == 8
    assert ask(cast.alice, query=GROUPS[2]).status == ExportStatus.PENDING


def test_only_the_requesters_own_automatic_exports_count(cast, groups) -> None:
    ask(cast.alice, query=GROUPS[0])
    assert policy.recently_exported(cast.andrei) == 0
    assert ask(cast.andrei).status == ExportStatus.APPROVED  # andrei's own person: his count is his
    pending = ask(cast.alice, query=GROUPS[1])
    services.approve_export(pending, actor=cast.bob, note="ok")
    assert policy.recently_exported(cast.alice) == 4  # approved by a second person: not added


def test_an_export_cancelled_before_its_file_was_made_does_not_count_but_a_made_one_does(cast, groups) -> None:
    never_made = ask(cast.alice, query=GROUPS[0])
    services.cancel_export(never_made, actor=cast.alice)
    assert policy.recently_exported(cast.alice) == 0
    dropped = made(ask(cast.alice, query=GROUPS[1]))
    services.cancel_export(dropped, actor=cast.alice)  # the file may have been downloaded already
    assert policy.recently_exported(cast.alice) == 4


def test_the_form_says_why_a_split_export_needs_approval(cast, groups, client_for) -> None:
    ask(cast.alice, query=GROUPS[0])
    client = client_for(cast.alice)
    page = client.post("/exports/new/", {"q": GROUPS[1]})
    text = page.content.decode()
    assert page.status_code == 200
    assert "This export needs a second person" in text
    assert "automatic exports of the last 24 hours" in text
    assert "4 people were exported for you without approval" in text
    preview = client.post("/exports/preview/", {"q": GROUPS[1], "columns": ["given_name", "family_name"]})
    assert "4 people were exported for you without approval" in preview.content.decode()

    response = client.post(
        "/exports/new/",
        {"q": GROUPS[1], "purpose": "Ofertă de reînnoire a contractelor", "format": "csv",
         "columns": ["given_name", "family_name"], "request": "1"},
    )  # fmt: skip
    export = ExportRequest.objects.latest("id")
    assert response.status_code == 302
    assert (export.status, export.approval_reasons) == (ExportStatus.PENDING, ["recent"])
    detail = client.get(f"/exports/{export.pk}/").content.decode()
    assert "automatic exports of the last 24 hours" in detail


def test_a_single_export_above_the_threshold_keeps_its_own_reason(cast, groups) -> None:
    ask(cast.alice, query=GROUPS[0])
    export = ask(cast.alice)  # all 13
    assert export.approval_reasons == ["size"]


# --- (b) no exports while viewing is blocked --------------------------------------------------


@pytest.fixture
def block(cast: Any) -> Any:
    """Alice views more people than her role allows in an hour: viewing is blocked."""
    save_role_policy(
        "agent",
        {"views_per_hour_soft": 1, "views_per_hour_hard": 2, "views_per_day_soft": 50, "views_per_day_hard": 100},
        actor=SETUP,
    )
    seen = [PersonFactory(owner=cast.alice).pk for _ in range(3)]
    with pytest.raises(budget.ViewingBlockedError):
        budget.charge(cast.alice, seen)
    return ViewBlock.objects.get(user=cast.alice, lifted_at__isnull=True)


def test_a_blocked_user_may_not_ask_for_an_export(cast, block) -> None:
    before = _denials(cast.alice)
    with pytest.raises(PermissionDenied, match="viewing people is blocked"):
        ask(cast.alice)
    assert not ExportRequest.objects.exists()
    assert _denials(cast.alice) == before + 1
    event = AuditEvent.objects.filter(action="security.access_denied", actor_id=cast.alice.pk).latest("id")
    assert "viewing blocked" in event.reason


def test_the_form_refuses_a_blocked_user_clearly(cast, block, client_for) -> None:
    client = client_for(cast.alice)
    page = client.get("/exports/new/")
    assert page.status_code == 200
    assert 'id="export-blocked"' in page.content.decode()
    before = _denials(cast.alice)
    response = client.post(
        "/exports/new/",
        {"purpose": "Ofertă de reînnoire a contractelor", "format": "csv", "columns": ["given_name"], "request": "1"},
    )
    assert response.status_code == 403
    assert "viewing people is blocked" in response.content.decode()
    assert not ExportRequest.objects.exists()
    assert _denials(cast.alice) == before + 1


def test_a_blocked_user_may_not_download_a_file_made_before(cast, client_for) -> None:
    ready = made(ask(cast.alice))
    save_role_policy(
        "agent",
        {"views_per_hour_soft": 1, "views_per_hour_hard": 2, "views_per_day_soft": 50, "views_per_day_hard": 100},
        actor=SETUP,
    )
    with pytest.raises(budget.ViewingBlockedError):
        budget.charge(cast.alice, [PersonFactory(owner=cast.alice).pk for _ in range(3)])
    before = _denials(cast.alice)
    response = client_for(cast.alice).get(f"/exports/{ready.pk}/download/")
    assert response.status_code == 403
    assert "viewing people is blocked" in response.content.decode()
    assert not ExportDownload.objects.exists()
    assert ExportRequest.objects.get(pk=ready.pk).downloads == 0
    assert _denials(cast.alice) == before + 1
    with pytest.raises(services.ExportBlockedError):
        services.record_download(ready.pk, actor=cast.alice, ip=None)


def test_someone_elses_link_stays_not_found_even_when_blocked(cast, client_for) -> None:
    ready = made(ask(cast.andrei))
    save_role_policy(
        "agent",
        {"views_per_hour_soft": 1, "views_per_hour_hard": 2, "views_per_day_soft": 50, "views_per_day_hard": 100},
        actor=SETUP,
    )
    with pytest.raises(budget.ViewingBlockedError):
        budget.charge(cast.alice, [PersonFactory(owner=cast.alice).pk for _ in range(3)])
    assert client_for(cast.alice).get(f"/exports/{ready.pk}/download/").status_code == 404


def test_exports_work_again_once_the_block_is_lifted(cast, block, client_for) -> None:
    assert budget.lift_block(block, actor=cast.bob, reason="Verificat: campanie legitimă")
    export = ask(cast.alice, query=cast.alice_person.family_name)
    assert export.status == ExportStatus.APPROVED
    ready = made(export)
    assert client_for(cast.alice).get(f"/exports/{ready.pk}/download/").status_code == 200


def test_the_block_check_reads_unlifted_blocks_of_that_user_only(cast, block) -> None:
    assert policy.viewing_blocked(cast.alice)
    assert not policy.viewing_blocked(cast.andrei)
    assert ask(cast.andrei).status == ExportStatus.APPROVED
    with pytest.raises(PermissionDenied):
        services.request_export(
            actor=cast.alice, criteria=PeopleFilter(), fields=["given_name"], fmt="csv", purpose="Verificare anuală"
        )
