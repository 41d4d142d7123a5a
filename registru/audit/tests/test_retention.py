"""The retention path is the one way to delete audit events, and the chain survives it."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from registru.audit.models import AuditEvent, AuditPrune
from registru.audit.services.retention import NothingToPruneError, prune
from registru.audit.services.sealing import seal
from registru.audit.verify import verify
from registru.core import dbguard
from registru.people import services
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(cast, settings) -> list[int]:
    settings.AUDIT_BATCH_SIZE = 5
    for index in range(6):
        services.update_person(PersonFactory(), {"job_title": f"F{index}"}, actor=SETUP)
    seal()
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def test_pruning_deletes_whole_old_batches_and_the_trail_still_verifies(sealed) -> None:
    pruned = prune(before_event=sealed[12], actor=SETUP, reason="păstrare 5 ani (politica de retenție)")
    assert pruned.events == 10  # two whole batches of five
    assert not AuditEvent.objects.filter(id__lte=sealed[9]).exists()
    assert AuditEvent.objects.filter(action="trail.pruned").count() == 1
    seal()
    assert verify().intact


def test_pruning_needs_a_reason_and_something_to_prune(sealed) -> None:
    with pytest.raises(ValueError, match="reason"):
        prune(before_event=sealed[12], actor=SETUP, reason=" ")
    with pytest.raises(NothingToPruneError):
        prune(before_event=sealed[0], actor=SETUP, reason="nimic")
    assert not AuditPrune.objects.exists()


def test_deleting_events_any_other_way_is_refused(sealed) -> None:
    dbguard.MAINTENANCE = False
    try:
        from django.db import connection, transaction

        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [sealed[0]])
    finally:
        dbguard.MAINTENANCE = True
    assert AuditEvent.objects.filter(id=sealed[0]).exists()
