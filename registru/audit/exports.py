"""Exporting a trail: a readable PDF, and JSON or CSV that an outsider can re-verify.

Every export carries the hashes that bind its events to the sealed batches and the chain of
batch hashes up to the latest signed checkpoint, so that ``scripts/verify-trail.py`` (Python's
standard library and ``cryptography`` only) can check it away from Registru. Values of erased
people read ``[erased]``. The format is documented in docs/audit.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from registru.audit.canonical import decode_ids, json_value, leaf_hash
from registru.audit.models import AuditBatch, AuditCheckpoint, AuditEvent, TrailVerification
from registru.audit.presenters import EVERY_FIELD, EventView, mask_changes, present_across_people, present_all
from registru.audit.reading import KeyCache, readable_changes
from registru.audit.services.checkpoints import as_checkpoint

FORMAT = "registru-trail/1"
FONTS = Path(__file__).resolve().parent / "fonts"
CHUNK = 500


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


def prove(events: list[AuditEvent]) -> Proof:
    """Check each event against its own hash and its sealed batch (an inclusion check)."""
    failures = []
    batches = _batches_for(events)
    for event in events:
        leaf = bytes(event.leaf)
        if leaf_hash(event.canonical) != leaf:
            failures.append(f"event {event.pk}: bytes do not match the hash")
            continue
        batch = batches.get(event.pk)
        if batch is not None and _sealed_leaf(batch, event.pk) != leaf:
            failures.append(f"event {event.pk}: not the event sealed at this position")
    return Proof(
        checked=len(events),
        failures=failures,
        verification=TrailVerification.objects.order_by("-id").first(),
        checkpoint=AuditCheckpoint.objects.order_by("-seq").first(),
    )


def _batches_for(events: list[AuditEvent]) -> dict[int, AuditBatch]:
    if not events:
        return {}
    ids = [event.pk for event in events]
    candidates = AuditBatch.objects.filter(last_id__gte=min(ids), first_id__lte=max(ids))
    by_event = {}
    for batch in candidates:
        for event_id in ids:
            if batch.first_id <= event_id <= batch.last_id:
                by_event[event_id] = batch
    return by_event


def _sealed_leaf(batch: AuditBatch, event_id: int) -> bytes | None:
    ids = decode_ids(batch.ids)
    if event_id not in ids:
        return None
    index = ids.index(event_id)
    return bytes(batch.leaves)[index * 32 : (index + 1) * 32]


# --- JSON -----------------------------------------------------------------------------------


def write_json(events: QuerySet[AuditEvent], info: ExportInfo, out: io.TextIOBase) -> Proof:
    """The machine-readable trail: canonical bytes and hashes, plaintext beside them."""
    rows = list(events.order_by("id"))
    proof = prove(rows)
    keys = KeyCache()
    document = {
        "format": FORMAT,
        "title": info.title,
        "generated_at": json_value(timezone.now()),
        "generated_by": info.generated_by,
        "filters": info.filters,
        "events": [_json_event(event, keys, info) for event in rows],
        "batches": [
            _json_batch(batch, rows) for batch in AuditBatch.objects.order_by("seq").iterator(chunk_size=CHUNK)
        ],
        "checkpoint": json.loads(as_checkpoint(proof.checkpoint).to_file()) if proof.checkpoint else None,
        "verification": _json_verification(proof),
    }
    json.dump(document, out, ensure_ascii=False, indent=1)
    return proof


def _json_event(event: AuditEvent, keys: KeyCache, info: ExportInfo) -> dict[str, Any]:
    plain = _shown_changes(event, readable_changes(event, keys), info)
    return {
        "id": event.pk,
        "canonical": event.canonical,
        "leaf": bytes(event.leaf).hex(),
        "readable": {name: [old, new] for name, (old, new) in plain.items()},
    }


def _json_batch(batch: AuditBatch, events: list[AuditEvent]) -> dict[str, Any]:
    header = {
        "seq": batch.seq, "first": batch.first_id, "last": batch.last_id, "size": batch.size, "ids": batch.ids,
        "root": bytes(batch.root).hex(), "prev": bytes(batch.prev).hex(), "hash": bytes(batch.hash).hex(),
        "sealed_at": json_value(batch.sealed_at),
    }  # fmt: skip
    if any(batch.first_id <= event.pk <= batch.last_id for event in events):
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


def write_csv(events: QuerySet[AuditEvent], info: ExportInfo, out: io.TextIOBase) -> Proof:
    """One row per changed field (one row for an event without changes)."""
    rows = list(events.order_by("id"))
    proof = prove(rows)
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    keys = KeyCache()
    for event in rows:
        for row in _csv_rows(event, _shown_changes(event, readable_changes(event, keys), info)):
            writer.writerow([_cell(value) for value in row])
    return proof


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


def write_pdf(events: QuerySet[AuditEvent], info: ExportInfo, out: io.BufferedIOBase) -> Proof:
    """The readable trail: sentences, the verification result and the checkpoint it rests on."""
    from weasyprint import HTML

    rows = list(events.order_by("id"))
    proof = prove(rows)
    with translation.override(info.language):
        views = _presented(rows, info)
        html = render_to_string("audit/trail_pdf.html", _pdf_context(info, views, proof))
    HTML(string=html, base_url=str(FONTS)).write_pdf(out)
    return proof


def _presented(rows: list[AuditEvent], info: ExportInfo) -> list[EventView]:
    if info.people_values:
        return present_all(rows, lambda ids: set())
    return present_across_people(rows)


def _pdf_context(info: ExportInfo, views: Iterable[EventView], proof: Proof) -> dict[str, Any]:
    return {
        "info": info,
        "views": list(views),
        "proof": proof,
        "generated_at": timezone.localtime(),
        "font_regular": (FONTS / "DejaVuSans.ttf").as_uri(),
        "font_bold": (FONTS / "DejaVuSans-Bold.ttf").as_uri(),
    }
