"""Attacks on the proof by someone with write access to the database (issue 18, cases 1-4 and 7,
as found against the old verifier): each must now be damage, at the right position, or (for the
tail that no checkpoint covers yet) reported as unsigned."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from registru.audit.canonical import GENESIS, batch_document, batch_hash, decode_ids, merkle_root
from registru.audit.models import AuditBatch, AuditCheckpoint, AuditEvent, AuditPrune
from registru.audit.services import checkpoints
from registru.audit.services.checkpoints import create_checkpoint, export
from registru.audit.services.retention import prune
from registru.audit.signing import Checkpoint, public_bytes, rotate_signing_key, signing_key
from registru.audit.tests.test_tamper import disable_the_audit_triggers, sql
from registru.audit.tests.test_tamper import trail as sealed_trail  # noqa: F401  (a fixture)
from registru.audit.verify import Damage, Report, verify
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(request: pytest.FixtureRequest) -> list[int]:
    """The tampering tests' trail (forty-odd events in sealed batches of 8, the guards off),
    with a stored checkpoint."""
    sealed: list[int] = request.getfixturevalue("sealed_trail")
    create_checkpoint()
    return sealed


def stored_checkpoints() -> list[Checkpoint]:
    return [checkpoints.as_checkpoint(stored) for stored in AuditCheckpoint.objects.order_by("seq")]


def full_verify(**kwargs) -> Report:
    """What `registru audit verify` does: the stored checkpoints, the installation's keys."""
    return verify(checkpoints=stored_checkpoints() + kwargs.pop("files", []), **kwargs)


def damages(report: Report) -> set[tuple[Damage, int | None]]:
    return {(finding.damage, finding.position) for finding in report.findings}


def run_verify(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit", "verify", "--quiet", "--workers", "1", *args, stdout=out)
    except SystemExit as exit_code:
        return int(exit_code.code or 0), out.getvalue()
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


# 1. Columns outside the hashed form ----------------------------------------------------------

COLUMN_EDITS = [
    ("actor_label", "'Maria Forger'"),
    ("actor_id", "999999"),
    ("occurred_at", "'2020-01-01 10:00:00'"),
    ("channel", "'api'"),
    ("request_id", "'forged'"),
    ("action", "'consent.withdrawn'"),
    ("target_type", "'people.organization'"),
    ("target_id", "target_id + 1"),
    ("subject_id", "subject_id + 1"),
]


@pytest.mark.parametrize(("column", "value"), COLUMN_EDITS)
def test_it_finds_an_edited_column_of_a_sealed_event(trail, column: str, value: str) -> None:
    target = trail[-3]  # a person's update: it has a subject, a target and an actor
    sql(f"UPDATE audit_auditevent SET {column} = {value} WHERE id = %s", [target])
    report = full_verify()
    assert damages(report) == {(Damage.COLUMN_EDITED, target)}
    assert column in str(report.findings[0])


@pytest.mark.parametrize(("column", "value"), COLUMN_EDITS)
def test_it_finds_an_edited_column_of_an_event_not_sealed_yet(trail, cast, column: str, value: str) -> None:
    person = PersonFactory(owner=cast.alice)
    target = AuditEvent.objects.filter(subject_id=person.pk).order_by("-id").values_list("id", flat=True)[0]
    sql(f"UPDATE audit_auditevent SET {column} = {value} WHERE id = %s", [target])
    assert (Damage.COLUMN_EDITED, target) in damages(full_verify())


def test_a_subject_moved_to_another_person_fails_the_command(trail) -> None:
    sql("UPDATE audit_auditevent SET subject_id = subject_id + 1 WHERE id = %s", [trail[-1]])
    code, out = run_verify()
    assert code == 1
    assert f"event {trail[-1]}: column edited (subject_id" in out


# 2. A re-rooted, renumbered chain -------------------------------------------------------------


def rebuild_chain(*, first_seq: int, drop_first: int = 0) -> None:
    """Rebuild every batch (new numbers, genesis first, leaves and hashes recomputed): no key
    is needed for that. ``drop_first`` batches are left out, with their events."""
    batches = list(AuditBatch.objects.order_by("seq").values("ids", "sealed_at", "last_id", "leaves"))
    sql("DELETE FROM audit_auditbatch")
    if drop_first:
        sql("DELETE FROM audit_auditevent WHERE id <= %s", [batches[drop_first - 1]["last_id"]])
    prev = GENESIS
    for seq, batch in enumerate(batches[drop_first:], first_seq):
        ids = decode_ids(batch["ids"])
        stored = bytes(batch["leaves"])  # the events of pruned batches are gone; their leaves are not
        leaves = [stored[i : i + 32] for i in range(0, len(stored), 32)]
        root = merkle_root(leaves)
        document = batch_document(seq=seq, first_id=ids[0], last_id=ids[-1], size=len(ids), ids=batch["ids"],
                                  root=root, prev=prev, sealed_at=batch["sealed_at"])  # fmt: skip
        prev = batch_hash(document)
        sql(
            "INSERT INTO audit_auditbatch (seq, first_id, last_id, size, ids, leaves, root, prev, hash, sealed_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [seq, ids[0], ids[-1], len(ids), batch["ids"], b"".join(leaves), root, GENESIS if seq == first_seq
             else prev_of(seq), prev, batch["sealed_at"]],
        )  # fmt: skip


def prev_of(seq: int) -> bytes:
    return bytes(AuditBatch.objects.get(seq=seq - 1).hash)


def test_a_chain_that_does_not_start_at_batch_1_is_damage(trail) -> None:
    rebuild_chain(first_seq=1000)
    assert Damage.TRUNCATED in {finding.damage for finding in verify().findings}  # even with no checkpoint


def test_a_re_rooted_chain_is_found_against_the_checkpoint(trail, tmp_path: Path) -> None:
    file = export(AuditCheckpoint.objects.get(), tmp_path / "checkpoint.json")
    rebuild_chain(first_seq=1, drop_first=2)  # history cut off, renumbered from 1, no gap
    assert verify().intact  # self-consistent without a signature to hold it to...
    report = full_verify(files=[Checkpoint.from_file(file.read_text())])
    found = {finding.damage for finding in report.findings}
    assert found & {Damage.CHECKPOINT_ABSENT, Damage.RECOMPUTED, Damage.TRUNCATED}


def test_a_checkpoint_whose_batch_is_gone_is_damage(trail) -> None:
    signed = AuditCheckpoint.objects.get()
    sql("DELETE FROM audit_auditbatch WHERE seq > %s", [signed.batch_seq - 2])
    last = AuditBatch.objects.order_by("-seq").values_list("last_id", flat=True)[0]
    sql("DELETE FROM audit_auditevent WHERE id > %s", [last])
    assert (Damage.TRUNCATED, signed.last_event_id) in damages(full_verify())


# 3. Forged prune records ----------------------------------------------------------------------


def test_a_prune_row_without_a_signed_statement_excuses_nothing(trail) -> None:
    third = AuditBatch.objects.get(seq=3)
    sql(
        "INSERT INTO audit_auditprune (up_to_batch, pruned_at, actor_label, reason, events, statement, signature, "
        "key_fingerprint) VALUES (%s, CURRENT_TIMESTAMP, 'x', 'x', 0, '', %s, '')",
        [third.seq, b""],
    )
    edited = trail[4]  # in batch 1, "pruned" by the forged row
    sql("UPDATE audit_auditevent SET leaf = %s WHERE id = %s", [bytes(32), edited])
    found = damages(full_verify())
    assert (Damage.PRUNE_FORGED, None) in found
    assert (Damage.EDITED, edited) in found


def test_a_prune_signed_by_a_stranger_is_damage(trail) -> None:
    intruder = Ed25519PrivateKey.generate()
    statement = json.dumps({"format": "registru-prune/1", "number": 1, "prev": GENESIS.hex(), "up_to_batch": 2})
    sql(
        "INSERT INTO audit_auditprune (up_to_batch, pruned_at, actor_label, reason, events, statement, signature, "
        "key_fingerprint) VALUES (2, CURRENT_TIMESTAMP, 'x', 'x', 0, %s, %s, 'f')",
        [statement, intruder.sign(statement.encode())],
    )
    sql("DELETE FROM audit_auditevent WHERE id = %s", [trail[1]])
    found = damages(full_verify())
    assert (Damage.PRUNE_FORGED, None) in found
    assert (Damage.DELETED, trail[1]) in found


@pytest.fixture
def pruned(trail) -> AuditPrune:
    with connection.cursor():
        pass
    return prune(before_event=trail[20], actor=SETUP, reason="retention rule R1")


def test_a_real_prune_verifies(pruned) -> None:
    report = full_verify()
    assert report.intact, report.findings
    assert pruned.statement


def test_a_removed_prune_record_shows_the_deleted_events(pruned, trail) -> None:
    sql("DELETE FROM audit_auditprune")
    assert (Damage.DELETED, trail[0]) in damages(full_verify())


def test_an_edited_prune_record_is_damage(pruned) -> None:
    sql("UPDATE audit_auditprune SET reason = 'a different rule'")
    assert (Damage.PRUNE_FORGED, None) in damages(full_verify())


def test_a_prune_record_moved_further_is_damage(pruned, trail) -> None:
    sql("UPDATE audit_auditprune SET up_to_batch = up_to_batch + 1")
    assert (Damage.PRUNE_FORGED, None) in damages(full_verify())


def test_an_event_left_in_a_pruned_batch_is_still_checked(pruned, trail) -> None:
    survivor = AuditEvent.objects.order_by("id").first()
    assert survivor is not None
    kept = trail[0]
    sql(
        "INSERT INTO audit_auditevent (id, occurred_at, actor_id, actor_label, channel, request_id, action, "
        "target_type, target_id, subject_id, fields, canonical, leaf) SELECT %s, occurred_at, actor_id, actor_label, "
        "channel, request_id, action, target_type, target_id, subject_id, fields, canonical, leaf "
        "FROM audit_auditevent WHERE id = %s",
        [kept, survivor.pk],
    )
    assert any(position == kept for _damage, position in damages(full_verify()))


# 4. Pinned keys ---------------------------------------------------------------------------


def resigned(stored: AuditCheckpoint) -> tuple[Checkpoint, Ed25519PrivateKey]:
    intruder = Ed25519PrivateKey.generate()
    statement = stored.statement
    return Checkpoint(statement, intruder.sign(statement.encode()), public_bytes(intruder.public_key())), intruder


def test_a_checkpoint_file_re_signed_with_another_key_is_damage(trail, tmp_path: Path) -> None:
    forged, _key = resigned(AuditCheckpoint.objects.get())
    path = tmp_path / "forged.json"
    path.write_text(forged.to_file())
    code, out = run_verify("--checkpoint", str(path))
    assert code == 1
    assert "does not trust" in out


def test_a_stored_checkpoint_re_signed_with_another_key_is_damage(trail) -> None:
    forged, _key = resigned(AuditCheckpoint.objects.get())
    sql(
        "UPDATE audit_auditcheckpoint SET signature = %s, key_fingerprint = %s",
        [forged.signature, forged.key_fingerprint],
    )
    assert (Damage.CHECKPOINT_INVALID, None) in damages(full_verify())


def test_an_edited_checkpoint_row_is_damage(trail) -> None:
    sql("UPDATE audit_auditcheckpoint SET created_at = %s", ["2020-01-01 00:00:00"])
    assert (Damage.CHECKPOINT_EDITED, None) in damages(full_verify())


def test_a_missing_signing_key_is_a_usage_error_and_makes_no_key(trail, tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "nowhere" / "audit-signing.key"
    monkeypatch.setenv("REGISTRU_AUDIT_SIGNING_KEY_FILE", str(missing))
    code, message = run_verify()
    assert code == 2
    assert "missing" in message
    assert not missing.exists()


def test_a_verifier_holding_only_the_public_key_can_verify(trail, tmp_path: Path, monkeypatch) -> None:
    assert AuditCheckpoint.objects.exists()
    trusted = public_bytes(signing_key().public_key()).hex()
    monkeypatch.setenv("REGISTRU_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "absent.key"))
    monkeypatch.setenv("REGISTRU_AUDIT_TRUSTED_KEYS", trusted)
    assert run_verify()[0] == 0


@pytest.fixture
def own_key(tmp_path: Path, monkeypatch) -> Path:
    """A key file of this test's own, so that rotating it leaves the suite's key alone."""
    from registru.audit.signing import generate_key_file

    path = tmp_path / "keys" / "audit-signing.key"
    monkeypatch.setenv("REGISTRU_AUDIT_SIGNING_KEY_FILE", str(path))
    generate_key_file(path)
    return path


def test_rotation_keeps_old_checkpoints_valid(cast, own_key: Path, tmp_path: Path) -> None:
    PersonFactory(owner=cast.alice)
    old_file = export(create_checkpoint(), tmp_path / "old.json")
    rotate_signing_key()
    PersonFactory(owner=cast.alice)
    create_checkpoint()
    report = full_verify(files=[Checkpoint.from_file(old_file.read_text())])
    assert report.intact, report.findings
    assert len({label.rsplit("key ", 1)[1] for label in report.checkpoints}) == 2


def test_a_forged_key_history_is_a_usage_error(cast, own_key: Path) -> None:
    PersonFactory(owner=cast.alice)
    create_checkpoint()
    rotate_signing_key()
    history = own_key.with_name(own_key.name + ".history.json")
    entries = json.loads(history.read_text())
    intruder = Ed25519PrivateKey.generate()
    entries.insert(1, {"public": public_bytes(intruder.public_key()).hex(), "since": "x",
                       "endorsement": base64.b64encode(b"0" * 64).decode()})  # fmt: skip
    history.write_text(json.dumps(entries))
    assert run_verify()[0] == 2


# 7. The tail after the last checkpoint ---------------------------------------------------------


def test_the_unsigned_tail_is_reported_with_its_size(trail, cast) -> None:
    for _ in range(3):
        PersonFactory(owner=cast.alice)
    report = full_verify()
    assert report.intact
    newest = AuditCheckpoint.objects.get()
    assert report.covered_up_to == newest.last_event_id
    assert report.tail_events == AuditEvent.objects.filter(id__gt=newest.last_event_id).count() > 0
    _code, out = run_verify()
    assert "Unsigned tail:" in out


def test_a_checkpoint_is_signed_when_the_interval_has_passed(cast, settings, own_key: Path) -> None:
    settings.AUDIT_CHECKPOINT_MINUTES = 15
    PersonFactory(owner=cast.alice)
    first = checkpoints.checkpoint_if_due()
    assert first is not None
    PersonFactory(owner=cast.alice)
    assert checkpoints.checkpoint_if_due() is None  # not yet due
    disable_the_audit_triggers()
    sql("UPDATE audit_auditcheckpoint SET created_at = created_at - INTERVAL '16 minutes'"
        if connection.vendor == "postgresql" else
        "UPDATE audit_auditcheckpoint SET created_at = datetime(created_at, '-16 minutes')")  # fmt: skip
    second = checkpoints.checkpoint_if_due()
    assert second is not None
    assert second.last_event_id > first.last_event_id


def test_nothing_new_signs_nothing(cast, own_key: Path) -> None:
    PersonFactory(owner=cast.alice)
    assert checkpoints.publish_checkpoint() is not None
    assert checkpoints.publish_checkpoint() is None


def test_checkpoints_are_copied_off_the_server(cast, settings, tmp_path: Path, own_key: Path) -> None:
    settings.AUDIT_CHECKPOINT_COPY_DIR = str(tmp_path / "share")
    handed = tmp_path / "handed"
    handed.mkdir()
    settings.AUDIT_CHECKPOINT_COMMAND = f"cp -t {handed}"
    PersonFactory(owner=cast.alice)
    stored = checkpoints.publish_checkpoint()
    assert stored is not None
    name = checkpoints.default_export_path(stored).name
    for folder in (tmp_path / "share", handed):
        copied = Checkpoint.from_file((folder / name).read_text())
        assert copied.signature_valid({copied.key_fingerprint: copied.public_key})


def test_a_checkpoint_can_be_asked_for_at_once(cast, own_key: Path, django_capture_on_commit_callbacks) -> None:
    from huey.contrib.djhuey import HUEY

    PersonFactory(owner=cast.alice)
    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            checkpoints.checkpoint_soon()
    finally:
        HUEY.immediate = False
    assert AuditCheckpoint.objects.count() == 1


def test_os_environ_is_left_as_found() -> None:
    assert os.environ.get("REGISTRU_AUDIT_TRUSTED_KEYS") is None


def test_the_nightly_verification_records_a_missing_key_as_a_failure(trail, tmp_path: Path, monkeypatch) -> None:
    from registru.audit.services.verification import run_verification

    monkeypatch.setenv("REGISTRU_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "gone.key"))
    outcome = run_verification(live_state=False)
    assert (outcome.intact, "audit signing key" in outcome.first_finding) == (False, True)


# 6. The data-key table ---------------------------------------------------------------------


def test_a_deleted_data_key_of_an_active_person_fails_verify(trail, cast) -> None:
    from registru.vault.tests.test_integrity import tamper

    person = cast.alice_person
    tamper("DELETE FROM vault_personkey WHERE person_id = %s", [person.pk])
    code, out = run_verify()
    assert code == 1
    assert f"data key damaged (person {person.pk}: data key missing)" in out


# A prune keeps the live data bound to the trail --------------------------------------------


def test_a_prune_leaves_every_record_bound_to_the_trail(trail) -> None:
    from registru.audit.state import verify_state

    prune(before_event=trail[-1], actor=SETUP, reason="retention rule R1")  # every update pruned
    report = verify_state(name_fields=False)
    assert (report.intact, report.uncommitted) == (True, 0), report.findings


def test_a_prune_refuses_to_hide_a_record_changed_outside_registru(trail, cast) -> None:
    from registru.audit.services.retention import LiveDataDiffersError
    from registru.audit.state import verify_state

    person = cast.alice_person
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('registru.audit_context', 'on', true)")
        else:
            cursor.execute('DROP TRIGGER "registru_guard_people_person_update"')
        cursor.execute("UPDATE people_person SET job_title = 'Forged' WHERE id = %s", [person.pk])
    with pytest.raises(LiveDataDiffersError):
        prune(before_event=trail[-1], actor=SETUP, reason="retention rule R1")
    assert not AuditPrune.objects.exists()
    assert not verify_state(name_fields=False).intact  # still found, not laundered


def test_a_column_kept_as_a_blob_of_the_same_text_is_damage(trail) -> None:
    # SQLite keeps the storage class it is given: 'people.person' as a BLOB reads the same, but
    # no SQL filter finds it, which would hide the event from pages and from verify --state.
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite keeps a text column's value as a BLOB")
    sql("UPDATE audit_auditevent SET target_type = CAST(target_type AS BLOB) WHERE id = %s", [trail[-1]])
    assert (Damage.COLUMN_EDITED, trail[-1]) in damages(full_verify())


def test_an_edited_prune_time_is_damage(pruned) -> None:
    sql("UPDATE audit_auditprune SET pruned_at = %s", ["2020-01-01 00:00:00"])
    assert (Damage.PRUNE_FORGED, None) in damages(full_verify())


def test_the_pages_show_no_forged_checkpoint_row_as_signed(trail) -> None:
    from registru.audit.selectors import trail_status

    real = AuditCheckpoint.objects.get()
    sql(
        "INSERT INTO audit_auditcheckpoint (seq, batch_seq, head, last_event_id, events, created_at, statement, "
        "signature, key_fingerprint) VALUES (999999, 99, %s, 9999, 9999, CURRENT_TIMESTAMP, %s, %s, 'x')",
        [bytes(32), '{"at":"x","batch_seq":99,"events":9999,"head":"00","last_event_id":9999}', bytes(64)],
    )
    assert trail_status()["checkpoint"] == real


def test_the_pages_show_no_verification_row_inserted_in_the_database(trail) -> None:
    from registru.audit.selectors import trail_status
    from registru.audit.services.verification import run_verification

    real = run_verification(live_state=False)
    sql(
        "INSERT INTO audit_trailverification (id, finished_at, intact, events, batches, unsealed, checkpoint, "
        "first_finding, state_first_finding, statement, signature, key_fingerprint) "
        "VALUES (999999, CURRENT_TIMESTAMP, %s, 1, 1, 0, '', '', '', '', %s, '')",
        [True, b""],
    )
    assert trail_status()["verification"] == real


def test_an_edited_verification_row_is_not_shown(trail) -> None:
    from registru.audit.selectors import trail_status
    from registru.audit.services.verification import run_verification

    run_verification(live_state=False)
    sql("UPDATE audit_trailverification SET first_finding = 'all fine'")
    assert trail_status()["verification"] is None
