"""Asking for an export and the four-eyes decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from registru.audit.models import AuditEvent
from registru.exports import services
from registru.exports.models import ExportRequest, ExportStatus
from registru.exports.services.requests import file_path
from registru.exports.tests.conftest import ask, made, sheet_rows
from registru.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _many_for(user, count=6):
    return [PersonFactory(owner=user) for _ in range(count)]


@pytest.mark.parametrize("who", ["mara", "audra"])
def test_it_refuses_a_role_without_the_export_permission(cast, who) -> None:
    user = getattr(cast, who)
    with pytest.raises(PermissionDenied):
        ask(user)
    assert not ExportRequest.objects.exists()
    assert AuditEvent.objects.filter(action="security.access_denied", actor_id=user.pk).exists()


def test_it_approves_a_small_export_without_sensitive_fields_at_once(cast) -> None:
    export = ask(cast.alice)
    assert (export.status, export.needs_approval, export.counted) == (ExportStatus.APPROVED, False, 1)
    actions = list(
        AuditEvent.objects.filter(target_type="exports.exportrequest").order_by("id").values_list("action", flat=True)
    )
    assert actions == ["export.requested", "export.approved"]


def test_it_keeps_the_search_text_out_of_the_stored_filter_and_the_trail(cast) -> None:
    export = ask(cast.alice, query="Ștefănescu")
    assert export.criteria["query"] is True
    assert "Ștefănescu" not in export.sealed_query
    assert not AuditEvent.objects.filter(target_type="exports.exportrequest", canonical__contains="tef").exists()


def test_it_needs_approval_above_the_threshold(cast) -> None:
    _many_for(cast.alice)
    export = ask(cast.alice)
    assert (export.status, export.approval_reasons) == (ExportStatus.PENDING, ["size"])


def test_it_needs_approval_for_a_sensitive_field(cast) -> None:
    export = ask(cast.bob, fields=["given_name", "birth_date"])
    assert export.status == ExportStatus.PENDING
    assert "sensitive" in export.approval_reasons


def test_it_refuses_fields_the_role_may_not_see(cast) -> None:
    with pytest.raises(ValidationError):
        ask(cast.alice, fields=["given_name", "birth_date"])  # agents never see birth dates
    assert not ExportRequest.objects.exists()


def test_it_notifies_the_approvers(cast) -> None:
    from registru.mail.models import OutboundMessage

    _many_for(cast.alice)
    export = ask(cast.alice)
    message = OutboundMessage.objects.get(recipient="dora@firma.test")
    assert f"#{export.pk}" in message.subject


def test_it_refuses_self_approval(cast) -> None:
    export = ask(cast.bob, fields=["given_name", "birth_date"])
    with pytest.raises(PermissionDenied):
        services.approve_export(export, actor=cast.bob)
    export.refresh_from_db()
    assert export.status == ExportStatus.PENDING
    assert AuditEvent.objects.filter(action="security.access_denied", actor_id=cast.bob.pk).exists()


def test_it_refuses_approval_by_a_role_without_the_capability(cast) -> None:
    _many_for(cast.alice)
    export = ask(cast.alice)
    with pytest.raises(PermissionDenied):
        services.approve_export(export, actor=cast.andrei)
    export.refresh_from_db()
    assert (export.status, export.decided_by) == (ExportStatus.PENDING, None)


def test_it_refuses_approving_a_request_that_waited_too_long(cast) -> None:
    _many_for(cast.alice)
    export = ask(cast.alice)
    ExportRequest.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(days=8))
    with pytest.raises(ValidationError):
        services.approve_export(export, actor=cast.bob)
    export.refresh_from_db()
    assert export.status == ExportStatus.PENDING


def test_it_does_not_generate_once_the_approval_lapsed(cast) -> None:
    export = ask(cast.alice)
    ExportRequest.objects.filter(pk=export.pk).update(approval_valid_until=timezone.now() - timedelta(minutes=1))
    assert services.generate_export(export.pk) is None
    export.refresh_from_db()
    assert (export.status, export.file_name) == (ExportStatus.EXPIRED, "")


def test_a_second_person_approves(cast) -> None:
    _many_for(cast.alice)
    export = services.approve_export(ask(cast.alice), actor=cast.bob, note="ok")
    assert (export.status, export.decided_by, export.decision_note) == (ExportStatus.APPROVED, cast.bob, "ok")
    assert export.approval_valid_until is not None
    assert export.approval_valid_until > timezone.now()


def test_a_refusal_is_final(cast) -> None:
    _many_for(cast.alice)
    export = services.refuse_export(ask(cast.alice), actor=cast.dora, note="prea mult")
    assert export.status == ExportStatus.REFUSED
    with pytest.raises(ValidationError):
        services.approve_export(export, actor=cast.bob)


def test_only_the_requester_cancels(cast) -> None:
    _many_for(cast.alice)
    export = ask(cast.alice)
    with pytest.raises(PermissionDenied):
        services.cancel_export(export, actor=cast.bob)
    assert services.cancel_export(export, actor=cast.alice).status == ExportStatus.CANCELLED


def _grant(user, person=None, organization=None, access: str = "view") -> None:
    from registru.accounts.models import AccessRequest
    from registru.accounts.models.grants import RequestStatus

    AccessRequest.objects.create(
        requester=user, person=person, organization=organization, access=access, reason="ofertă", days=1,
        status=RequestStatus.APPROVED, decided_at=timezone.now(), expires_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip


def _view_grant(user, person) -> None:
    _grant(user, person=person)


@pytest.mark.parametrize("grant", ["view a person", "change a person", "view an organization"])
def test_an_export_holding_someone_seen_only_through_a_grant_needs_approval_and_makes_no_file(cast, grant) -> None:
    """The attack: a grant on another team's person (or on their employer), then a small export
    that would have been approved at once, taking that person out of Registru unapproved."""
    if grant == "view an organization":
        _grant(cast.alice, organization=cast.carol_org)  # covers its people: carol_person
    else:
        _grant(cast.alice, person=cast.carol_person, access=grant.split()[0])
    export = ask(cast.alice, fields=["given_name", "family_name"], fmt="csv")
    assert (export.status, export.needs_approval, export.counted) == (ExportStatus.PENDING, True, 2)
    assert export.approval_reasons == ["granted"]
    assert services.generate_export(export.pk) is None  # pending: no file is made
    export.refresh_from_db()
    assert (export.status, export.file_name) == (ExportStatus.PENDING, "")


def test_a_grant_that_begins_after_an_automatic_approval_adds_nobody_to_the_file(cast) -> None:
    """The file is made later, from the requester's scope then: a person seen through a grant
    that began meanwhile must not take the place of the one approved."""
    other = PersonFactory(given_name="Ana", family_name="Ștefănescu", owner=cast.carol)  # sorts first
    export = ask(cast.alice, fields=["given_name", "family_name"], fmt="csv", query="Ștefănescu")
    assert (export.status, export.counted) == (ExportStatus.APPROVED, 1)
    _view_grant(cast.alice, other)
    rows = sheet_rows(file_path(made(export)))
    names = {row[0] for row in rows}
    assert "Ioana" in names
    assert "Ana" not in names


def test_a_file_approved_with_the_granted_reason_holds_the_granted_person(cast) -> None:
    _view_grant(cast.alice, cast.carol_person)
    export = services.approve_export(ask(cast.alice, fields=["given_name", "family_name"], fmt="csv"), actor=cast.bob)
    names = {row[0] for row in sheet_rows(file_path(made(export)))}
    assert {"Ioana", "Raluca"} <= names


def test_an_export_of_only_ones_own_people_needs_no_approval_for_a_grant_held(cast) -> None:
    _view_grant(cast.alice, cast.carol_person)
    export = ask(cast.alice, query="Ștefănescu")
    assert (export.status, export.approval_reasons, export.counted) == (ExportStatus.APPROVED, [], 1)


def test_the_form_says_before_asking_that_a_granted_person_needs_approval(cast, client_for) -> None:
    _view_grant(cast.alice, cast.carol_person)
    client = client_for(cast.alice)
    preview = client.post("/exports/preview/", {"columns": ["given_name", "family_name"]}).content.decode()
    assert "This export needs a second person" in preview
    assert "people the requester sees only through an access grant" in preview
    own_only = client.post("/exports/preview/", {"q": "Ștefănescu", "columns": ["given_name"]}).content.decode()
    assert "This export needs a second person" not in own_only


def test_the_form_offers_no_status_that_is_never_exported(cast, client_for) -> None:
    text = client_for(cast.alice).get("/exports/new/").content.decode()
    assert 'value="active"' in text
    assert 'value="erased"' not in text
    assert 'value="restricted"' not in text
