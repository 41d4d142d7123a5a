"""Tampering as an attacker with database access would do it, in SQL: every kind is found by
`registru audit verify`, at its exact position."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from registru.audit.canonical import (
    GENESIS,
    batch_document,
    batch_hash,
    canonical_text,
    leaf_hash,
    merkle_root,
)
from registru.audit.models import AuditBatch, AuditEvent
from registru.audit.services.checkpoints import create_checkpoint, export
from registru.audit.services.sealing import seal
from registru.audit.signing import Checkpoint
from registru.audit.verify import Damage, verify
from registru.core.dbguard import guarded_tables
from registru.people import services
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(cast, settings) -> list[int]:
    """Some forty events in several sealed batches, and their ids."""
    settings.AUDIT_BATCH_SIZE = 8
    for index in range(12):
        person = PersonFactory(owner=cast.alice)
        services.update_person(person, {"job_title": f"Funcția {index}"}, actor=SETUP)
    seal()
    disable_the_audit_triggers()
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def disable_the_audit_triggers() -> None:
    """The first move of an attacker with the database owner's rights (undone at rollback)."""
    _personal, audit = guarded_tables()
    with connection.cursor() as cursor:
        for table in audit:
            if connection.vendor == "postgresql":
                cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER registru_guard')
                continue
            for operation in ("update", "delete", "insert"):
                cursor.execute(f'DROP TRIGGER "registru_guard_{table}_{operation}"')


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def first_damage(**kwargs) -> tuple[Damage, int | None]:
    report = verify(**kwargs)
    assert not report.intact
    first = report.first
    assert first is not None
    return first.damage, first.position


def test_an_untouched_trail_is_intact(trail) -> None:
    report = verify()
    assert report.intact, report.findings
    assert report.events == len(trail)
    assert report.batches >= 3


def test_it_finds_an_edited_value(trail) -> None:
    target = trail[10]
    canonical = AuditEvent.objects.get(pk=target).canonical
    sql(
        "UPDATE audit_auditevent SET canonical = %s WHERE id = %s",
        [canonical.replace('"cli"', '"api"'), target],
    )
    assert first_damage() == (Damage.EDITED, target)


def test_it_finds_an_edited_hash(trail) -> None:
    sql("UPDATE audit_auditevent SET leaf = %s WHERE id = %s", [bytes(32), trail[5]])
    assert first_damage() == (Damage.EDITED, trail[5])


def test_it_finds_an_event_edited_together_with_its_hash(trail) -> None:
    target = trail[7]
    canonical = AuditEvent.objects.get(pk=target).canonical.replace("test setup", "cineva")
    sql(
        "UPDATE audit_auditevent SET canonical = %s, leaf = %s WHERE id = %s",
        [canonical, leaf_hash(canonical), target],
    )
    assert first_damage() == (Damage.REHASHED, target)


def test_it_finds_a_deleted_event(trail) -> None:
    sql("DELETE FROM audit_auditevent WHERE id = %s", [trail[12]])
    assert first_damage() == (Damage.DELETED, trail[12])


def test_it_finds_a_forged_event_inserted_into_the_sealed_trail(trail) -> None:
    gap = 0  # positions start at 1: 0 is inside the first sealed range and belongs to no batch
    forged = canonical_text({"v": 1, "id": gap, "action": "person.updated", "changes": {}})
    sql(
        "INSERT INTO audit_auditevent (id, occurred_at, actor_label, channel, request_id, action, target_type, "
        "fields, canonical, leaf) VALUES (%s, CURRENT_TIMESTAMP, 'x', 'cli', 'x', 'person.updated', 'x', '', %s, %s)",
        [gap, forged, leaf_hash(forged)],
    )
    assert first_damage() == (Damage.INSERTED, gap)


def test_it_finds_two_swapped_events(trail) -> None:
    a, b = trail[3], trail[4]
    first, second = (AuditEvent.objects.get(pk=pk) for pk in (a, b))
    sql(
        "UPDATE audit_auditevent SET canonical = %s, leaf = %s WHERE id = %s",
        [second.canonical, bytes(second.leaf), a],
    )
    sql(
        "UPDATE audit_auditevent SET canonical = %s, leaf = %s WHERE id = %s",
        [first.canonical, bytes(first.leaf), b],
    )
    assert first_damage() == (Damage.REORDERED, a)
    assert {f.position for f in verify().findings} == {a, b}


def test_it_finds_a_truncated_tail_against_a_checkpoint(trail, tmp_path: Path) -> None:
    file = export(create_checkpoint(), tmp_path / "checkpoint.json")
    last_batch = AuditBatch.objects.order_by("-seq").first()
    assert last_batch is not None
    sql("DELETE FROM audit_auditcheckpoint")
    sql("DELETE FROM audit_auditbatch WHERE seq = %s", [last_batch.seq])
    sql("DELETE FROM audit_auditevent WHERE id >= %s", [last_batch.first_id])
    checkpoint = Checkpoint.from_file(file.read_text())
    assert verify().intact  # without the checkpoint, a shorter trail looks whole
    assert first_damage(checkpoints=[checkpoint]) == (Damage.TRUNCATED, trail[-1])


def test_it_finds_rebuilt_batches_against_a_checkpoint(trail, tmp_path: Path) -> None:
    file = export(create_checkpoint(), tmp_path / "checkpoint.json")
    target = trail[9]
    canonical = AuditEvent.objects.get(pk=target).canonical.replace("test setup", "cineva")
    sql("DELETE FROM audit_auditcheckpoint")
    sql(
        "UPDATE audit_auditevent SET canonical = %s, leaf = %s, actor_label = %s WHERE id = %s",
        [canonical, leaf_hash(canonical), "cineva", target],
    )  # the column too: a careful attacker keeps what verify compares consistent
    rebuild_batches_from_scratch()
    assert verify().intact  # a complete rewrite is self-consistent...
    damage, _position = first_damage(checkpoints=[Checkpoint.from_file(file.read_text())])
    assert damage == Damage.RECOMPUTED  # ...but not what was signed


def rebuild_batches_from_scratch() -> None:
    """What a careful attacker does after editing events: recompute every batch and hash."""
    batches = list(AuditBatch.objects.order_by("seq").values("seq", "ids", "sealed_at"))
    sql("DELETE FROM audit_auditbatch")
    prev = GENESIS
    for batch in batches:
        ids = [int(i) for i in _ids(batch["ids"])]
        leaves = [bytes(AuditEvent.objects.get(pk=i).leaf) for i in ids]
        root = merkle_root(leaves)
        document = batch_document(seq=batch["seq"], first_id=ids[0], last_id=ids[-1], size=len(ids), ids=batch["ids"],
                                  root=root, prev=prev, sealed_at=batch["sealed_at"])  # fmt: skip
        digest = batch_hash(document)
        sql(
            "INSERT INTO audit_auditbatch (seq, first_id, last_id, size, ids, leaves, root, prev, hash, sealed_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                batch["seq"],
                ids[0],
                ids[-1],
                len(ids),
                batch["ids"],
                b"".join(leaves),
                root,
                prev,
                digest,
                batch["sealed_at"],
            ],
        )
        prev = digest


def _ids(text: str) -> list[int]:
    from registru.audit.canonical import decode_ids

    return decode_ids(text)


def test_the_command_exits_1_and_names_the_position(trail) -> None:
    sql("DELETE FROM audit_auditevent WHERE id = %s", [trail[2]])
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("audit", "verify", "--quiet", stdout=out)
    assert exit_code.value.code == 1
    assert f"First: event {trail[2]}: deleted" in out.getvalue()


def test_the_command_exits_0_on_an_intact_trail(trail) -> None:
    out = io.StringIO()
    call_command("audit", "verify", "--quiet", stdout=out)
    assert "The audit trail is intact." in out.getvalue()


def test_it_seals_into_chained_batches_without_gaps(trail) -> None:
    batches = list(AuditBatch.objects.order_by("seq"))
    assert bytes(batches[0].prev) == GENESIS
    assert all(bytes(b.prev) == bytes(a.hash) for a, b in itertools.pairwise(batches))
    assert sum(b.size for b in batches) == len(trail)
    assert json.loads(AuditEvent.objects.get(pk=trail[0]).canonical)["id"] == trail[0]
    with transaction.atomic():
        assert seal() == 0  # nothing new: sealing twice seals nothing twice
