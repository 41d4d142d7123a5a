"""Generated attacks on the trail's tables (events, batches, checkpoints, prunes), as direct SQL
by someone with the database owner's rights: edits of any column, deletions, insertions,
renumbering and re-rooting with recomputed hashes. Every one is found at the right position,
except a rewrite of the tail that no checkpoint covers yet, which verify reports as unsigned."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registru.audit.canonical import canonical_text, leaf_hash
from registru.audit.models import AuditBatch, AuditCheckpoint, AuditEvent
from registru.audit.services.checkpoints import create_checkpoint, export
from registru.audit.services.retention import prune
from registru.audit.services.sealing import seal
from registru.audit.signing import Checkpoint
from registru.audit.tests.test_attacks import full_verify, rebuild_chain
from registru.audit.tests.test_tamper import disable_the_audit_triggers, sql
from registru.people import services
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db

EVENT_COLUMNS = {
    "actor_label": "'x' || actor_label", "actor_id": "coalesce(actor_id, 0) + 7", "channel": "'portal'",
    "occurred_at": "'2021-03-04 05:06:07'", "request_id": "request_id || 'x'", "action": "'forged.action'",
    "target_type": "'people.note'", "target_id": "coalesce(target_id, 0) + 1",
    "subject_id": "coalesce(subject_id, 0) + 1", "leaf": None, "canonical": None,
}  # fmt: skip
BATCH_COLUMNS = ["first_id", "last_id", "size", "ids", "leaves", "root", "prev", "hash", "sealed_at", "seq"]
CHECKPOINT_COLUMNS = ["batch_seq", "head", "last_event_id", "events", "created_at", "statement", "signature"]


@pytest.fixture
def world(cast, settings, tmp_path: Path) -> dict:
    """A trail of about forty events in batches of 8, one prune, a checkpoint kept as a file
    outside the database, and three events after it (the unsigned tail)."""
    settings.AUDIT_BATCH_SIZE = 8
    people = [PersonFactory(owner=cast.alice) for _ in range(10)]
    for index, person in enumerate(people):
        services.update_person(person, {"job_title": f"Funcția {index}"}, actor=SETUP)
    seal()
    first_ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True)[:10])
    pruned = prune(before_event=first_ids[-1], actor=SETUP, reason="retention rule R1")
    file = export(create_checkpoint(), tmp_path / "kept-elsewhere.json")
    for person in people[:3]:
        services.update_person(person, {"job_title": "Director"}, actor=SETUP)
    disable_the_audit_triggers()
    covered = AuditCheckpoint.objects.get().last_event_id
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    return {
        "file": Checkpoint.from_file(file.read_text()),
        "sealed": [i for i in ids if i <= covered],
        "tail": [i for i in ids if i > covered],
        "pruned_up_to": pruned.up_to_batch,
        "pruned_ids": [i for i in first_ids if i not in ids],
        "batches": AuditBatch.objects.count(),
    }


def verified(world: dict):
    return full_verify(files=[world["file"]])


def attack_event_column(world: dict, data: st.DataObject) -> int:
    event_id = data.draw(st.sampled_from(world["sealed"]), label="event")
    column = data.draw(st.sampled_from(sorted(EVENT_COLUMNS)), label="column")
    if column == "leaf":
        sql("UPDATE audit_auditevent SET leaf = %s WHERE id = %s", [bytes(32), event_id])
    elif column == "canonical":
        canonical = AuditEvent.objects.get(pk=event_id).canonical.replace('"v":1', '"v":1,"x":1')
        sql("UPDATE audit_auditevent SET canonical = %s, leaf = %s WHERE id = %s",
            [canonical, leaf_hash(canonical), event_id])  # fmt: skip
    else:
        sql(f"UPDATE audit_auditevent SET {column} = {EVENT_COLUMNS[column]} WHERE id = %s", [event_id])
    return event_id


def attack_event_row(world: dict, data: st.DataObject) -> int:
    event_id = data.draw(st.sampled_from(world["sealed"]), label="event")
    if data.draw(st.booleans(), label="delete, else insert a copy in a gap"):
        sql("DELETE FROM audit_auditevent WHERE id = %s", [event_id])
        return event_id
    gap = data.draw(st.sampled_from(world["pruned_ids"]), label="pruned position")  # gone by the prune
    forged = canonical_text({"v": 1, "id": gap, "action": "person.updated", "changes": {}})
    sql(
        "INSERT INTO audit_auditevent (id, occurred_at, actor_label, channel, request_id, action, target_type, "
        "fields, canonical, leaf) VALUES (%s, CURRENT_TIMESTAMP, 'x', 'cli', 'x', 'person.updated', 'x', '', %s, %s)",
        [gap, forged, leaf_hash(forged)],
    )
    return gap


def attack_batches(world: dict, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["column", "delete", "renumber", "re-root"]), label="batch attack")
    seq = data.draw(st.integers(1, world["batches"]), label="batch")
    if kind == "column":
        column = data.draw(st.sampled_from(BATCH_COLUMNS), label="column")
        value = {"ids": "'1-2'", "sealed_at": "'2021-01-01 00:00:00'", "seq": "seq + 100"}.get(column)
        if value is None and column in {"leaves", "root", "prev", "hash"}:
            sql(f"UPDATE audit_auditbatch SET {column} = %s WHERE seq = %s", [bytes([7]) * 32, seq])  # never genesis
        else:
            sql(f"UPDATE audit_auditbatch SET {column} = {value or column + ' + 1'} WHERE seq = %s", [seq])
    elif kind == "delete":
        sql("DELETE FROM audit_auditbatch WHERE seq = %s", [seq])
    else:
        rebuild_chain(first_seq=1 if kind == "re-root" else 1 + seq, drop_first=1 if kind == "re-root" else 0)


def attack_signed_rows(world: dict, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["checkpoint column", "prune column", "prune delete", "prune forged"]))
    if kind == "checkpoint column":
        column = data.draw(st.sampled_from(CHECKPOINT_COLUMNS), label="column")
        if column in {"head", "signature"}:
            sql(f"UPDATE audit_auditcheckpoint SET {column} = %s", [bytes(64 if column == "signature" else 32)])
        elif column in {"statement", "created_at"}:
            value = "statement || ' '" if column == "statement" else "'2021-01-01 00:00:00'"
            sql(f"UPDATE audit_auditcheckpoint SET {column} = {value}")
        else:
            sql(f"UPDATE audit_auditcheckpoint SET {column} = {column} + 1")
    elif kind == "prune column":
        column = data.draw(st.sampled_from(["up_to_batch", "events", "reason", "actor_label", "statement"]))
        value = f"{column} + 1" if column in {"up_to_batch", "events"} else f"{column} || 'x'"
        sql(f"UPDATE audit_auditprune SET {column} = {value}")
    elif kind == "prune delete":
        sql("DELETE FROM audit_auditprune")
    else:
        sql(
            "INSERT INTO audit_auditprune (up_to_batch, pruned_at, actor_label, reason, events, statement, "
            "signature, key_fingerprint) VALUES (%s, CURRENT_TIMESTAMP, 'x', 'x', 0, '', %s, '')",
            [world["batches"], b""],
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_generated_attack_is_found(world, data) -> None:
    family = data.draw(st.sampled_from(["event column", "event row", "batches", "signed rows"]), label="family")
    with transaction.atomic():
        position = None
        if family == "event column":
            position = attack_event_column(world, data)
        elif family == "event row":
            position = attack_event_row(world, data)
        elif family == "batches":
            attack_batches(world, data)
        else:
            attack_signed_rows(world, data)
        report = verified(world)
        transaction.set_rollback(True)
    assert not report.intact
    if position is not None:
        assert position in {finding.position for finding in report.findings}, report.findings


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_rewrite_of_the_unsigned_tail_is_reported_as_unsigned(world, data) -> None:
    event_id = data.draw(st.sampled_from(world["tail"]), label="event")
    with transaction.atomic():
        seal()  # sealed, but after the last checkpoint: a careful rewrite stays self-consistent
        event = AuditEvent.objects.get(pk=event_id)
        canonical = event.canonical.replace('"reason":""', '"reason":"rewritten"')
        sql("UPDATE audit_auditevent SET canonical = %s, leaf = %s WHERE id = %s",
            [canonical, leaf_hash(canonical), event_id])  # fmt: skip
        rebuild_tail_batches()
        report = verified(world)
        transaction.set_rollback(True)
    assert report.intact or event_id in {finding.position for finding in report.findings}
    assert report.covered_up_to < event_id
    assert report.tail_events >= len(world["tail"])


def rebuild_tail_batches() -> None:
    from registru.audit.canonical import batch_document, batch_hash, decode_ids, merkle_root

    covered = AuditCheckpoint.objects.get().batch_seq
    prev = bytes(AuditBatch.objects.get(seq=covered).hash)
    for batch in AuditBatch.objects.filter(seq__gt=covered).order_by("seq"):
        ids = decode_ids(batch.ids)
        leaves = [bytes(AuditEvent.objects.get(pk=i).leaf) for i in ids]
        root = merkle_root(leaves)
        document = batch_document(seq=batch.seq, first_id=batch.first_id, last_id=batch.last_id, size=batch.size,
                                  ids=batch.ids, root=root, prev=prev, sealed_at=batch.sealed_at)  # fmt: skip
        digest = batch_hash(document)
        sql("UPDATE audit_auditbatch SET leaves = %s, root = %s, prev = %s, hash = %s WHERE seq = %s",
            [b"".join(leaves), root, prev, digest, batch.seq])  # fmt: skip
        prev = digest
