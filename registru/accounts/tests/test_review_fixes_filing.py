"""Review fix: filing an access request does the same work whether or not it names a record.

Telling the deciders (finding them, checking each, writing the outbox) took long enough to
time; it now happens in a task enqueued for every request, and the task tells nobody about a
request that matched nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.tasks.signals import task_enqueued
from huey.contrib.djhuey import HUEY

from registru.accounts.services import grants
from registru.accounts.tests.access import CAROL_CUI, UNKNOWN_CUI, ask, prepare
from registru.mail.models import OutboundMessage

pytestmark = pytest.mark.django_db
NAMED = {"matched": ("email", None), "matched cui": ("cui", CAROL_CUI), "unmatched": ("email", "pnimeni@firma.ro")}
NAMED |= {"unmatched cui": ("cui", UNKNOWN_CUI)}


@pytest.fixture
def ready(cast):
    prepare(cast)
    return cast


@pytest.fixture
def enqueued() -> Iterator[list[tuple[str, list[Any]]]]:
    """The tasks enqueued meanwhile (name, arguments), run at once on Huey's memory storage."""
    seen: list[tuple[str, list[Any]]] = []

    def note(sender: Any, task_result: Any, **kwargs: Any) -> None:
        seen.append((task_result.task.func.__name__, list(task_result.args)))

    task_enqueued.connect(note, dispatch_uid="test_review_fixes_filing")
    HUEY.immediate = True
    try:
        yield seen
    finally:
        HUEY.immediate = False
        task_enqueued.disconnect(dispatch_uid="test_review_fixes_filing")


def file(cast: Any, case: str):
    by, identifier = NAMED[case]
    return ask(cast.alice, identifier or cast.carol_person.primary_email, by=by)


@pytest.mark.parametrize("case", NAMED)
def test_it_writes_no_notice_while_filing(ready, case, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        file(ready, case)
    assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize("case", NAMED)
def test_it_enqueues_the_notice_task_for_every_request(
    ready, case, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = file(ready, case)
    assert enqueued == [("notify_access_deciders", [request.pk])]


@pytest.mark.parametrize("case", ["matched", "matched cui"])
def test_the_task_tells_the_deciders_of_a_matched_request(
    ready, case, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        file(ready, case)
    recipients = set(OutboundMessage.objects.values_list("recipient", flat=True))
    assert recipients == {ready.carol.email, ready.dora.email}


@pytest.mark.parametrize("case", ["unmatched", "unmatched cui"])
def test_the_task_tells_nobody_of_an_unmatched_request(
    ready, case, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        file(ready, case)
    assert enqueued
    assert not OutboundMessage.objects.exists()


def test_the_task_tells_nobody_of_a_request_withdrawn_before_it_ran(ready) -> None:
    request = file(ready, "matched")
    grants.withdraw_access_request(request, actor=ready.alice)
    assert grants.notify_deciders(request.pk) == 0
    assert not OutboundMessage.objects.exists()


def test_the_task_sends_each_decider_one_notice_when_run_twice(ready) -> None:
    request = file(ready, "matched")
    grants.notify_deciders(request.pk)
    grants.notify_deciders(request.pk)
    assert OutboundMessage.objects.filter(recipient=ready.carol.email).count() == 1
