"""Every step of the procedure is one audit event; the requester is told by number, never by name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from registru.accounts.models import AccessRequest
from registru.accounts.services import grants
from registru.accounts.tasks import notify_access_deciders
from registru.accounts.tests.access import CAROL_CUI, ask, events, prepare
from registru.audit.models import AuditEvent
from registru.core.errors import ConflictError
from registru.mail.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(cast):
    prepare(cast)
    return cast


def messages_to(user) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(recipient=user.email).order_by("id"))


def names_of(cast) -> list[str]:
    return [
        cast.carol_person.given_name, cast.carol_person.family_name, cast.carol_person.primary_email,
        cast.carol_org.name,
    ]  # fmt: skip


def test_it_records_the_filing_with_the_subject(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    event = AuditEvent.objects.get(target_type="accounts.accessrequest", target_id=request.pk)
    assert (event.action, event.subject_id, event.actor_id) == (
        "access.requested",
        ready.carol_person.pk,
        ready.alice.pk,
    )


def test_it_records_an_unmatched_filing_without_a_subject(ready) -> None:
    request = ask(ready.alice, "pnimeni@firma.ro")
    assert events(request) == ["access.requested"]
    assert AuditEvent.objects.get(target_id=request.pk, target_type="accounts.accessrequest").subject_id is None


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["approve"], ["access.requested", "access.approved"]),
        (["refuse"], ["access.requested", "access.refused"]),
        (["withdraw"], ["access.requested", "access.withdrawn"]),
        (["approve", "revoke"], ["access.requested", "access.approved", "access.revoked"]),
        (["lapse"], ["access.requested", "access.refused"]),
    ],
)
def test_it_writes_one_event_per_step(ready, steps, expected) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    actions = {
        "approve": lambda: grants.approve_access_request(request, actor=ready.carol),
        "refuse": lambda: grants.refuse_access_request(request, actor=ready.carol, note="Nu."),
        "withdraw": lambda: grants.withdraw_access_request(request, actor=ready.alice),
        "revoke": lambda: grants.revoke_access_grant(request, actor=ready.dora, reason="Audit."),
        "lapse": lambda: (
            AccessRequest.objects.filter(pk=request.pk).update(settle_after=timezone.now() - timedelta(seconds=1)),
            grants.settle_lapsed_requests(),
        ),
    }
    for step in steps:
        actions[step]()
    assert events(request) == expected


def test_it_writes_no_event_for_a_refused_attempt(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    grants.withdraw_access_request(request, actor=ready.alice)
    with pytest.raises(ConflictError):
        grants.approve_access_request(request, actor=ready.carol)
    assert events(request) == ["access.requested", "access.withdrawn"]


def test_it_tells_the_deciders_of_a_new_request_by_number(ready) -> None:
    request = ask(ready.alice, ready.carol_person.primary_email)
    notify_access_deciders.call(request.pk)  # the task enqueued on commit (test_review_fixes_filing)
    [message] = messages_to(ready.carol)
    assert f"#{request.pk}" in message.subject
    assert not any(name in message.subject + message.body_text for name in names_of(ready))
    assert len(messages_to(ready.dora)) == 1
    assert messages_to(ready.bob) == []


@pytest.mark.parametrize("decision", ["approve", "refuse", "revoke"])
def test_it_tells_the_requester_of_each_decision_without_naming_the_record(ready, decision) -> None:
    request = ask(ready.alice, CAROL_CUI, by="cui")
    if decision == "refuse":
        grants.refuse_access_request(request, actor=ready.carol)
        assert messages_to(ready.alice) == []  # told at settle_after only (test_review_fixes_settling)
        AccessRequest.objects.filter(pk=request.pk).update(settle_after=timezone.now() - timedelta(seconds=1))
        grants.settle_lapsed_requests()
    else:
        grants.approve_access_request(request, actor=ready.carol)
    if decision == "revoke":
        grants.revoke_access_grant(request, actor=ready.carol, reason="Gata.")
    received = messages_to(ready.alice)
    assert len(received) == (2 if decision == "revoke" else 1)
    for message in received:
        assert f"#{request.pk}" in message.subject + message.body_text
        assert not any(name in message.subject + message.body_text for name in names_of(ready))
        assert message.person_id is None
