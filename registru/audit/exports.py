"""Exporting a trail: a readable PDF, and JSON or CSV that an outsider can re-verify.

Every export carries the hashes that bind its events to the sealed batches and the chain of
batch hashes up to the latest signed checkpoint, so that ``scripts/verify-trail.py`` (Python's
standard library and ``cryptography`` only) can check it away from Registru. Values of erased
people read ``[erased]``. The format is documented in docs/audit.md.

Memory stays bounded whatever the size of the trail: events are read ``CHUNK`` at a time, in id
order, and each is checked, written and let go before the next chunk is read; a PDF of more
than ``PDF_PART`` events is made as numbered parts in a ZIP archive, since WeasyPrint holds the
whole layout of a document in memory (0.1 to 0.2 MB per event).
"""

from __future__ import annotations

import csv
import json
import math
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from registru.audit.canonical import decode_ids, json_value, leaf_hash
from registru.audit.models import AuditBatch, AuditCheckpoint, AuditEvent, TrailVerification
from registru.audit.presenters import EVERY_FIELD, EventView, mask_changes, present_across_people, present_all
from registru.audit.reading import KeyCache, readable_changes
from registru.audit.selectors import newest_signed_verification
from registru.audit.services.checkpoints import as_checkpoint
from registru.audit.verify import column_differences

FORMAT = "registru-trail/1"
FONTS = Path(__file__).resolve().parent / "fonts"
CHUNK = 500  # events read from the database at a time
# Events in one PDF document; more are made as parts. WeasyPrint holds a document's whole layout:
# 500 events of the whole trail peak near 200 MB in the rendering process (bench/audit/exporting.py).
PDF_PART = 500

type Progress = Callable[[int], None]


@dataclass
class ExportInfo:
    title: str
    generated_by: str
    filters: dict[str, Any]
    language: str = "ro"
    # A trail across many people is a bulk view of personal data: it keeps who did what and
    # when, and every hash, but the values of people's fields are left out (docs/audit.md).
    # One person's trail is readable in full.
    people_values: bool = True


def _shown_changes(
    event: AuditEvent, plain: dict[str, tuple[Any, Any]], info: ExportInfo
) -> dict[str, tuple[Any, Any]]:
    if info.people_values or event.subject_id is None:
        return plain
    return mask_changes(plain, EVERY_FIELD)


def in_chunks(events: QuerySet[AuditEvent], size: int | None = None) -> Iterator[list[AuditEvent]]:
    """The events in id order, ``size`` (``CHUNK``) at a time: keyset pages, so no query holds
    a cursor open while the export writes, and no more than one page is in memory."""
    after = 0
    while True:
        page = list(events.filter(id__gt=after).order_by("id")[: size or CHUNK])
        if not page:
            return
        yield page
        after = page[-1].pk


def each_event(events: QuerySet[AuditEvent]) -> Iterator[AuditEvent]:
    for page in in_chunks(events):
        yield from page


@dataclass
class Proof:
    """How the exported events were checked at export time."""

    checked: int
    failures: list[str]
    verification: TrailVerification | None
    checkpoint: AuditCheckpoint | None

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Prover:
    """Checks each exported event, as it is written, against its own hash and its sealed batch
    (an inclusion check). Events come in id order, so one batch at a time is held."""

    checked: int = 0
    failures: list[str] = field(default_factory=list)
    batches_used: set[int] = field(default_factory=set)  # seqs of batches holding exported events
    _batch: AuditBatch | None = None
    _positions: dict[int, int] = field(default_factory=dict)
    _last_sealed: int | None = None

    def check(self, event: AuditEvent) -> None:
        self.checked += 1
        leaf = bytes(event.leaf)
        if leaf_hash(event.canonical) != leaf:
            self.failures.append(f"event {event.pk}: bytes do not match the hash")
            return
        batch = self._batch_of(event.pk)
        if batch is not None:  # else not sealed yet
            self.batches_used.add(batch.seq)
            if self._sealed_leaf(batch, event.pk) != leaf:
                self.failures.append(f"event {event.pk}: not the event sealed at this position")
                return
        # What the export shows beside the bytes (who, when, how, what, whose) is what they say.
        differences = column_differences(_row(event))
        if differences:
            self.failures.append(f"event {event.pk}: {', '.join(differences)} differ from its hashed bytes")

    def proof(self) -> Proof:
        return Proof(
            checked=self.checked,
            failures=self.failures,
            verification=newest_signed_verification(),
            checkpoint=AuditCheckpoint.objects.order_by("-seq").first(),
        )

    def _batch_of(self, event_id: int) -> AuditBatch | None:
        if self._batch is not None and self._batch.first_id <= event_id <= self._batch.last_id:
            return self._batch
        if self._last_sealed is None:
            self._last_sealed = AuditBatch.objects.order_by("-seq").values_list("last_id", flat=True).first() or 0
        if event_id > self._last_sealed:
            return None
        self._batch = AuditBatch.objects.filter(first_id__lte=event_id, last_id__gte=event_id).first()
        ids = decode_ids(self._batch.ids) if self._batch is not None else []
        self._positions = {event: index for index, event in enumerate(ids)}
        return self._batch

    def _sealed_leaf(self, batch: AuditBatch, event_id: int) -> bytes | None:
        index = self._positions.get(event_id)
        if index is None:
            return None
        return bytes(batch.leaves)[index * 32 : (index + 1) * 32]


def _row(event: AuditEvent) -> tuple[Any, ...]:
    """The event as the verifier reads it: id, canonical bytes, leaf, then its index columns."""
    return (
        event.pk, event.canonical.encode("utf-8"), bytes(event.leaf), event.occurred_at, event.actor_id,
        event.actor_label, event.channel, event.request_id, event.action, event.target_type, event.target_id,
        event.subject_id,
    )  # fmt: skip


# --- JSON -----------------------------------------------------------------------------------


def write_json(events: QuerySet[AuditEvent], info: ExportInfo, out: IO[str]) -> Proof:
    """The machine-readable trail: canonical bytes and hashes, plaintext beside them.

    Written as it is read: the events one by one, then every batch header, then the checkpoint
    and the check result (which is known only once every event has been checked)."""
    prover, keys = Prover(), KeyCache()
    out.write("{\n")
    head = {"format": FORMAT, "title": info.title, "generated_at": json_value(timezone.now()),
            "generated_by": info.generated_by, "filters": info.filters}  # fmt: skip
    for name, value in head.items():
        out.write(f" {_dumps(name)}: {_dumps(value)},\n")
    out.write(' "events": [')
    for count, event in enumerate(each_event(events)):
        prover.check(event)
        out.write(("\n  " if count == 0 else ",\n  ") + _dumps(_json_event(event, keys, info)))
    out.write('\n ],\n "batches": [')
    for count, batch in enumerate(AuditBatch.objects.order_by("seq").iterator(chunk_size=CHUNK)):
        out.write(("\n  " if count == 0 else ",\n  ") + _dumps(_json_batch(batch, prover.batches_used)))
    proof = prover.proof()
    checkpoint = json.loads(as_checkpoint(proof.checkpoint).to_file()) if proof.checkpoint else None
    out.write(
        f'\n ],\n "checkpoint": {_dumps(checkpoint)},\n "verification": {_dumps(_json_verification(proof))}\n}}\n'
    )
    return proof


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_event(event: AuditEvent, keys: KeyCache, info: ExportInfo) -> dict[str, Any]:
    plain = _shown_changes(event, readable_changes(event, keys), info)
    return {
        "id": event.pk,
        "canonical": event.canonical,
        "leaf": bytes(event.leaf).hex(),
        "readable": {name: [old, new] for name, (old, new) in plain.items()},
    }


def _json_batch(batch: AuditBatch, used: set[int]) -> dict[str, Any]:
    header = {
        "seq": batch.seq, "first": batch.first_id, "last": batch.last_id, "size": batch.size, "ids": batch.ids,
        "root": bytes(batch.root).hex(), "prev": bytes(batch.prev).hex(), "hash": bytes(batch.hash).hex(),
        "sealed_at": json_value(batch.sealed_at),
    }  # fmt: skip
    if batch.seq in used:
        # The batch's leaves let an outsider check that each exported event is the one sealed.
        header["leaves"] = bytes(batch.leaves).hex()
    return header


def _json_verification(proof: Proof) -> dict[str, Any]:
    last = proof.verification
    return {
        "exported_events_checked": proof.checked,
        "exported_events_ok": proof.ok,
        "failures": proof.failures,
        "last_full_verification": None
        if last is None
        else {"at": json_value(last.finished_at), "intact": last.intact, "events": last.events},
    }


# --- CSV ------------------------------------------------------------------------------------

CSV_HEADER = [
    "event",
    "time",
    "actor",
    "channel",
    "request",
    "action",
    "target",
    "person",
    "field",
    "old",
    "new",
    "reason",
    "leaf_sha256",
]


def write_csv(events: QuerySet[AuditEvent], info: ExportInfo, out: IO[str]) -> Proof:
    """One row per changed field (one row for an event without changes), written as read."""
    prover, keys = Prover(), KeyCache()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for event in each_event(events):
        prover.check(event)
        for row in _csv_rows(event, _shown_changes(event, readable_changes(event, keys), info)):
            writer.writerow([_cell(value) for value in row])
    return prover.proof()


def _csv_rows(event: AuditEvent, plain: dict[str, tuple[Any, Any]]) -> Iterator[list[Any]]:
    base = [event.pk, json_value(event.occurred_at), event.actor_label, event.channel, event.request_id, event.action,
            f"{event.target_type}:{event.target_id}", event.subject_id or ""]  # fmt: skip
    leaf = bytes(event.leaf).hex()
    if not plain:
        yield [*base, "", "", "", event.reason, leaf]
    for name, (old, new) in plain.items():
        yield [*base, name, old, new, event.reason, leaf]


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) if value not in (None, "") else ""
    # A spreadsheet would run a cell starting with these as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- PDF ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Which part of a trail made in parts a PDF document holds."""

    number: int
    of: int
    first: int
    last: int


def write_pdf(events: QuerySet[AuditEvent], info: ExportInfo, out: IO[bytes]) -> Proof:
    """The readable trail in one document: sentences, the verification result and the
    checkpoint it rests on. Its memory grows with the number of events: ``write_pdf_parts``
    is the one for more than ``PDF_PART``."""
    rows = [event for page in in_chunks(events) for event in page]
    prover = Prover()
    _render_pdf(rows, info, prover, out)
    return prover.proof()


def write_pdf_parts(
    events: QuerySet[AuditEvent], info: ExportInfo, out: IO[bytes], *, progress: Progress | None = None,
    part_size: int | None = None,
) -> Proof:  # fmt: skip
    """The readable trail as a ZIP archive of PDF documents of ``part_size`` events each,
    written one after the other, so that memory holds one part's layout at a time.
    ``progress`` is told how many events are written after each part."""
    part_size = part_size or PDF_PART
    parts = max(1, math.ceil(events.count() / part_size))
    total = Prover()
    stem = "registru-trail"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for number, rows in enumerate(in_chunks(events, part_size), 1):
            part = Part(number, parts, rows[0].pk, rows[-1].pk)
            with archive.open(f"{stem}-part-{number:03d}-of-{parts:03d}.pdf", "w", force_zip64=True) as target:
                _render_pdf(rows, info, Prover(), target, part=part, total=total)
            if progress is not None:
                progress(total.checked)
    return total.proof()


def _render_pdf(
    rows: list[AuditEvent], info: ExportInfo, prover: Prover, out: IO[bytes], *, part: Part | None = None,
    total: Prover | None = None,
) -> None:  # fmt: skip
    from weasyprint import HTML

    for event in rows:
        prover.check(event)
    if total is not None:
        total.checked += prover.checked
        total.failures.extend(prover.failures)
    with translation.override(info.language):
        views = _presented(rows, info)
        html = render_to_string("audit/trail_pdf.html", _pdf_context(info, views, prover.proof(), part))
    HTML(string=html, base_url=str(FONTS)).write_pdf(out)


def _presented(rows: list[AuditEvent], info: ExportInfo) -> list[EventView]:
    if info.people_values:
        return present_all(rows, lambda ids: set())
    return present_across_people(rows)


def _pdf_context(info: ExportInfo, views: Iterable[EventView], proof: Proof, part: Part | None) -> dict[str, Any]:
    return {
        "info": info,
        "views": views,
        "proof": proof,
        "part": part,
        "generated_at": timezone.localtime(),
        "font_regular": (FONTS / "DejaVuSans.ttf").as_uri(),
        "font_bold": (FONTS / "DejaVuSans-Bold.ttf").as_uri(),
    }
