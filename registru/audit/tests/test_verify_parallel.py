"""Verification in several processes finds exactly what one process finds: the same damage at the
same positions, the same counts and head (each process starts from the state the batch before
its run leaves)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from registru.audit import verify as verifier
from registru.audit.models import AuditBatch, AuditEvent
from registru.audit.services.checkpoints import create_checkpoint, export
from registru.audit.services.sealing import seal
from registru.audit.signing import Checkpoint
from registru.audit.verify import Report, verify
from registru.core.dbguard import guarded_tables
from registru.people import services
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def committed_trail(cast, settings, monkeypatch, tmp_path: Path) -> Iterator[tuple[list[int], Checkpoint]]:
    """A committed trail of many small batches (the worker processes read it on their own
    connections), a checkpoint of it, and the audit triggers off while the test tampers."""
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database lives in memory: one process verifies it")
    settings.AUDIT_BATCH_SIZE = 4
    monkeypatch.setattr(verifier, "PART", 2)  # a few batches per process task
    for index in range(10):
        person = PersonFactory(owner=cast.alice)
        services.update_person(person, {"job_title": f"Funcția {index}"}, actor=SETUP)
    seal()
    checkpoint = Checkpoint.from_file(export(create_checkpoint(), tmp_path / "checkpoint.json").read_text())
    _personal, audit = guarded_tables()
    with connection.cursor() as cursor:
        for table in audit:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER registru_guard')
    try:
        yield list(AuditEvent.objects.order_by("id").values_list("id", flat=True)), checkpoint
    finally:
        with connection.cursor() as cursor:
            for table in audit:
                cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER registru_guard')


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def summary(report: Report) -> tuple:
    return report.events, report.batches, report.unsealed, report.head, report.last_batch_seq, report.findings


def test_an_intact_trail_reads_the_same_in_several_processes(committed_trail) -> None:
    ids, checkpoint = committed_trail
    one, several = verify(checkpoints=[checkpoint]), verify(checkpoints=[checkpoint], workers=3)
    assert several.intact, several.findings
    assert summary(several) == summary(one)
    assert several.events == len(ids)
    assert several.batches == AuditBatch.objects.count() > 2 * verifier.PART


def test_several_processes_find_every_damage_that_one_finds(committed_trail) -> None:
    ids, checkpoint = committed_trail
    edited = AuditEvent.objects.get(pk=ids[3])
    sql(
        "UPDATE audit_auditevent SET canonical = %s WHERE id = %s", [edited.canonical.replace('"v":1', '"v":2'), ids[3]]
    )
    sql("DELETE FROM audit_auditevent WHERE id = %s", [ids[9]])
    first, second = (AuditEvent.objects.get(pk=pk) for pk in (ids[14], ids[15]))
    for target, source in ((ids[14], second), (ids[15], first)):
        sql("UPDATE audit_auditevent SET canonical = %s, leaf = %s WHERE id = %s",
            [source.canonical, bytes(source.leaf), target])  # fmt: skip
    middle = AuditBatch.objects.order_by("seq")[4]  # a batch gone, in the middle of a process's run
    sql("DELETE FROM audit_auditbatch WHERE seq = %s", [middle.seq])
    last = AuditBatch.objects.order_by("-seq").first()
    assert last is not None
    sql("DELETE FROM audit_auditbatch WHERE seq = %s", [last.seq])  # and the tail
    sql("DELETE FROM audit_auditevent WHERE id >= %s", [last.first_id])
    one, several = verify(checkpoints=[checkpoint]), verify(checkpoints=[checkpoint], workers=3)
    assert not several.intact
    assert summary(several) == summary(one)
    kinds = {finding.damage for finding in several.findings}
    assert {verifier.Damage.EDITED, verifier.Damage.DELETED, verifier.Damage.REORDERED} <= kinds
    assert verifier.Damage.TRUNCATED in kinds
