"""Exports of a trail of any size in bounded memory: events are read a chunk at a time and
written (and checked) as they are read, never gathered into one list first."""

from __future__ import annotations

import csv
import gc
import io
import json
import weakref
import zipfile
from pathlib import Path
from typing import Any

import pytest

from registru.audit import exports
from registru.audit.canonical import leaf_hash
from registru.audit.models import AuditEvent
from registru.audit.services.exporting import export_trail
from registru.audit.services.sealing import seal
from registru.audit.tests.test_tamper import disable_the_audit_triggers, sql
from registru.people import services
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db
CHUNK = 4


@pytest.fixture
def person(cast, settings, monkeypatch):
    """A person with some twenty events, sealed in batches of 8, read 4 at a time."""
    settings.AUDIT_BATCH_SIZE = 8
    monkeypatch.setattr(exports, "CHUNK", CHUNK)
    person = PersonFactory(owner=cast.alice)
    for index in range(19):
        services.update_person(person, {"job_title": f"Funcția {index}"}, actor=cast.alice)
    seal()
    return person


class LiveEvents:
    """Counts the audit events loaded from the database that are still in memory."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.live: weakref.WeakSet[AuditEvent] = weakref.WeakSet()
        original = AuditEvent.from_db.__func__  # type: ignore[attr-defined]

        def from_db(cls: type[AuditEvent], *args: Any, **kwargs: Any) -> AuditEvent:
            instance = original(cls, *args, **kwargs)
            self.live.add(instance)
            return instance

        monkeypatch.setattr(AuditEvent, "from_db", classmethod(from_db))

    def count(self) -> int:
        if len(self.live) > 2 * CHUNK:
            gc.collect()  # only what is really still referenced counts
        return len(self.live)


class Watched(io.StringIO):
    """An output that notes, at each write, how many events are in memory."""

    def __init__(self, live: LiveEvents) -> None:
        super().__init__()
        self.live = live
        self.most = 0

    def write(self, text: str) -> int:
        self.most = max(self.most, self.live.count())
        return super().write(text)


@pytest.mark.parametrize("writer", [exports.write_csv, exports.write_json])
def test_it_holds_a_chunk_of_events_at_a_time_while_writing(person, monkeypatch, writer) -> None:
    live = LiveEvents(monkeypatch)
    out = Watched(live)
    events = AuditEvent.objects.filter(subject_id=person.pk)
    info = exports.ExportInfo("t", "test", {})
    proof = writer(events, info, out)
    assert proof.checked == events.count() == 20
    assert 0 < out.most <= 2 * CHUNK  # the page being written, and at most the one read after it


def test_it_writes_every_event_of_every_chunk(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.csv"
    export_trail(person_id=person.pk, fmt="csv", path=out, actor=SETUP)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    expected = list(
        AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").values_list("id", flat=True)
    )
    assert [int(row["event"]) for row in rows if row["field"] == "job_title"] == sorted(expected)


def test_the_json_holds_the_leaves_of_the_batches_with_exported_events_only(person, cast, tmp_path: Path) -> None:
    other = PersonFactory(owner=cast.alice)
    for index in range(10):
        services.update_person(other, {"job_title": f"Alta {index}"}, actor=cast.alice)
    seal()
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    trail = json.loads(out.read_text())
    ids = [event["id"] for event in trail["events"]]
    with_leaves = [batch["seq"] for batch in trail["batches"] if "leaves" in batch]
    holding = [batch["seq"] for batch in trail["batches"] if any(batch["first"] <= i <= batch["last"] for i in ids)]
    assert with_leaves == holding
    assert len(with_leaves) < len(trail["batches"])


def test_it_leaves_out_events_recorded_after_the_export_started(person, cast, tmp_path: Path, monkeypatch) -> None:
    """A trail that grows while it is written ends where it stood at the start."""
    original = exports.Prover.check
    recorded: list[object] = []

    def check_and_record(prover: exports.Prover, event: AuditEvent) -> None:
        if not recorded:
            recorded.append(services.update_person(person, {"city": "Iași"}, actor=cast.alice))
        original(prover, event)

    monkeypatch.setattr(exports.Prover, "check", check_and_record)
    proof = export_trail(person_id=person.pk, fmt="csv", path=tmp_path / "t.csv", actor=SETUP)
    assert proof.checked == 20


def test_the_streamed_check_finds_an_event_rewritten_in_sql(person, tmp_path: Path) -> None:
    """The attacker rewrites an event and its leaf to match: the event no longer is the one
    sealed at its position, and the export says so (and names it)."""
    victim = AuditEvent.objects.filter(subject_id=person.pk).order_by("id")[13]
    canonical = victim.canonical.replace("Alice Anghel", "Bob Barbu")
    disable_the_audit_triggers()
    sql("UPDATE audit_auditevent SET canonical = %s, leaf = %s WHERE id = %s",
        [canonical, leaf_hash(canonical), victim.pk])  # fmt: skip
    proof = export_trail(person_id=person.pk, fmt="json", path=tmp_path / "t.json", actor=SETUP)
    assert proof.failures == [f"event {victim.pk}: not the event sealed at this position"]


def test_the_streamed_check_finds_bytes_that_do_not_match_their_hash(person, tmp_path: Path) -> None:
    victim = AuditEvent.objects.filter(subject_id=person.pk).order_by("id")[5]
    disable_the_audit_triggers()
    sql("UPDATE audit_auditevent SET canonical = %s WHERE id = %s", [victim.canonical + " ", victim.pk])
    proof = export_trail(person_id=person.pk, fmt="csv", path=tmp_path / "t.csv", actor=SETUP)
    assert proof.failures == [f"event {victim.pk}: bytes do not match the hash"]


def test_a_pdf_in_parts_holds_every_event_once_in_numbered_parts(person, tmp_path: Path, monkeypatch) -> None:
    from registru.audit.tests.test_exports import pdf_text

    monkeypatch.setattr(exports, "PDF_PART", 8)
    out = tmp_path / "trail.zip"
    ids = sorted(AuditEvent.objects.filter(subject_id=person.pk).values_list("id", flat=True))
    seen: list[int] = []
    proof = export_trail(person_id=person.pk, fmt="pdf", path=out, actor=SETUP, language="en", progress=seen.append)
    assert (proof.checked, proof.ok, seen) == (20, True, [8, 16, 20])
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert names == [f"registru-trail-part-00{n}-of-003.pdf" for n in (1, 2, 3)]
    texts = [pdf_text(tmp_path / name) for name in names]
    assert f"Part 2 of 3: events #{ids[8]} to #{ids[15]}" in texts[1]
    for index, event_id in enumerate(ids):
        assert [f"#{event_id} ·" in text for text in texts].count(True) == 1, index


def test_the_command_makes_a_long_pdf_in_parts_when_asked_for_a_zip(person, tmp_path: Path, monkeypatch) -> None:
    from django.core.management import call_command

    monkeypatch.setattr(exports, "PDF_PART", 8)
    out = io.StringIO()
    call_command("audit", "export", "--person", str(person.pk), "--format", "pdf", "--out", str(tmp_path / "t.zip"),
                 stdout=out)  # fmt: skip
    assert "20 events written" in out.getvalue()
    with zipfile.ZipFile(tmp_path / "t.zip") as archive:
        assert len(archive.namelist()) == 3
