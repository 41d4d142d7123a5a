"""Attacks on the export procedure, as the requester or as another user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from registru.accounts.models.policy import Visibility
from registru.accounts.policy import forget_policies
from registru.accounts.services.policy import save_role_policy
from registru.audit.models import AuditEvent
from registru.exports import services
from registru.exports.models import ExportRequest, ExportStatus
from registru.exports.tests.conftest import ask, made
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db


def test_a_field_that_became_reveal_only_after_an_automatic_approval_is_not_exported(cast) -> None:
    """The approval was automatic because the role saw emails in clear; if the policy makes them
    "revealed on request" before the file is made, no second person approved that field."""
    export = ask(cast.alice, fields=["given_name", "emails"], fmt="csv")
    assert (export.status, export.approval_reasons) == (ExportStatus.APPROVED, [])
    save_role_policy("agent", {"contact": Visibility.REVEAL}, actor=SETUP, reason="mai strict")
    forget_policies()
    services.generate_export(export.pk)
    export.refresh_from_db()
    assert (export.status, export.file_name) == (ExportStatus.FAILED, "")


def test_a_field_made_reveal_only_does_not_undo_a_second_persons_approval(cast) -> None:
    export = ask(cast.alice, fields=["given_name", "emails"], fmt="csv")
    ExportRequest.objects.filter(pk=export.pk).update(status=ExportStatus.PENDING, needs_approval=True)
    services.approve_export(export, actor=cast.bob)
    save_role_policy("agent", {"contact": Visibility.REVEAL}, actor=SETUP, reason="mai strict")
    forget_policies()
    assert made(export).status == ExportStatus.READY


def test_another_user_and_an_approver_cannot_download_the_file(cast, client_for) -> None:
    export = made(ask(cast.alice, fmt="csv"))
    for user in (cast.andrei, cast.bob, cast.dora, cast.carol):
        before = AuditEvent.objects.count()
        answer = client_for(user).get(f"/exports/{export.pk}/download/")
        assert answer.status_code == 404
        assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)[before:]) == [
            "security.access_denied"
        ]
    export.refresh_from_db()
    assert export.downloads == 0


def test_no_download_after_the_link_expired_or_the_downloads_are_spent(cast, client_for, settings) -> None:
    export = made(ask(cast.alice, fmt="csv"))
    client = client_for(cast.alice)
    for _ in range(settings.EXPORT_MAX_DOWNLOADS):
        assert client.get(f"/exports/{export.pk}/download/").status_code == 200
    before = AuditEvent.objects.count()
    assert client.get(f"/exports/{export.pk}/download/").status_code == 302
    ExportRequest.objects.filter(pk=export.pk).update(downloads=0, expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/exports/{export.pk}/download/").status_code == 302
    assert AuditEvent.objects.count() == before
    assert ExportRequest.objects.get(pk=export.pk).downloads == 0


def test_a_team_mate_without_the_capability_cannot_approve_and_the_requester_cannot_either(cast, client_for) -> None:
    export = ask(cast.alice, fmt="csv")
    ExportRequest.objects.filter(pk=export.pk).update(status=ExportStatus.PENDING, needs_approval=True)
    for user in (cast.andrei, cast.alice):
        with pytest.raises(PermissionDenied):
            services.approve_export(export, actor=user)
        client_for(user).post(f"/exports/{export.pk}/approve/")
    assert ExportRequest.objects.get(pk=export.pk).status == ExportStatus.PENDING


def test_a_pending_request_cannot_be_approved_twice_or_after_a_refusal(cast) -> None:
    export = ask(cast.alice, fmt="csv")
    ExportRequest.objects.filter(pk=export.pk).update(status=ExportStatus.PENDING, needs_approval=True)
    services.refuse_export(export, actor=cast.bob)
    with pytest.raises(ValidationError):
        services.approve_export(export, actor=cast.dora)
    assert ExportRequest.objects.get(pk=export.pk).status == ExportStatus.REFUSED
    assert ExportRequest.objects.get(pk=export.pk).file_name == ""


def _pending(user) -> ExportRequest:
    from registru.testing.factories import PersonFactory

    PersonFactory.create_batch(6, owner=user)  # above the tests' threshold: needs approval
    export = ask(user, fields=["given_name"], fmt="csv")
    assert export.status == ExportStatus.PENDING
    return export


def test_a_manager_cannot_decide_on_another_teams_export_and_nothing_changes(cast, client_for) -> None:
    """bob manages team A; carol (team B) asks: bob cannot see her people, so he may not be the
    second pair of eyes on what leaves with them (the DPO may)."""
    export = _pending(cast.carol)
    for decide in (services.approve_export, services.refuse_export):
        with pytest.raises(PermissionDenied):
            decide(export, actor=cast.bob)
    export.refresh_from_db()
    assert (export.status, export.decided_by_id) == (ExportStatus.PENDING, None)
    assert AuditEvent.objects.filter(action="security.access_denied", actor_id=cast.bob.pk).count() == 2
    bob = client_for(cast.bob)
    assert export.pk not in [e.pk for e in bob.get("/exports/approvals/").context["page"].items]
    assert bob.get(f"/exports/{export.pk}/").status_code == 404
    assert services.approve_export(export, actor=cast.dora).status == ExportStatus.APPROVED


def test_a_manager_decides_on_an_export_of_their_team(cast, client_for) -> None:
    export = _pending(cast.alice)
    page = client_for(cast.bob).get(f"/exports/{export.pk}/")
    assert page.status_code == 200
    assert page.context["may_decide"] is True
    assert services.approve_export(export, actor=cast.bob).status == ExportStatus.APPROVED


def test_the_approvals_list_says_why_each_export_waits_and_what_it_holds(cast, client_for) -> None:
    export = _pending(cast.alice)
    text = client_for(cast.bob).get("/exports/approvals/").content.decode()
    assert f'href="/exports/{export.pk}/"' in text
    assert "more people than the approval threshold" in text
    assert "<td>Given name</td>" in text
