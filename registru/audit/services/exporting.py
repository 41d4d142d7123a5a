"""Exporting a trail is an action of its own: it is recorded like any other read that matters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import override

from registru.audit import exports
from registru.audit.actions import AuditAction
from registru.audit.models import AuditCheckpoint, AuditEvent
from registru.audit.selectors import TrailFilter, filtered
from registru.audit.services import checkpoints, record_access
from registru.audit.signing import KeyHistoryError, SigningKeyMissingError
from registru.core.actors import actor_identity

WRITERS: dict[str, Callable[..., exports.Proof]] = {
    "json": exports.write_json,
    "csv": exports.write_csv,
    "pdf": exports.write_pdf,
}
PARTS_SUFFIX = ".zip"  # a PDF export to a path ending so is made in parts (exports.write_pdf_parts)


def export_trail(
    *, person_id: int | None, fmt: str, path: Path, actor: Any, language: str = "ro",
    criteria: TrailFilter | None = None, progress: exports.Progress | None = None,
) -> exports.Proof:  # fmt: skip
    """Write the trail of one person (or the filtered whole trail) to ``path``: the events
    recorded when the export starts (those written meanwhile, the export's own event among
    them, wait for the next one). A PDF to a ``.zip`` path is made in parts."""
    events = trail_events(person_id, criteria)
    info = exports.ExportInfo(
        _title(person_id, language),
        actor_identity(actor)[1],
        _filters(person_id, criteria),
        language,
        people_values=person_id is not None,
    )
    if fmt == "pdf":
        with path.open("wb") as binary:
            if path.suffix == PARTS_SUFFIX:
                proof = exports.write_pdf_parts(events, info, binary, progress=progress)
            else:
                proof = WRITERS[fmt](events, info, binary)
    else:
        with path.open("w", encoding="utf-8", newline="") as text:
            proof = WRITERS[fmt](events, info, text)
    _record(actor, person_id, fmt, proof.checked)
    return proof


def trail_events(person_id: int | None, criteria: TrailFilter | None) -> QuerySet[AuditEvent]:
    """The events an export holds: one person's (or all), under the filters, up to the last
    event recorded now. Raises ``LookupError`` for a person without events."""
    events: QuerySet[AuditEvent] = AuditEvent.objects.all()
    if person_id is not None:
        if not events.filter(subject_id=person_id).exists():
            raise LookupError(f"no audit events for person {person_id}")
        events = events.filter(subject_id=person_id)
    return filtered(events, criteria or TrailFilter()).filter(id__lte=_signed_up_to())


def _signed_up_to() -> int:
    """The last event the export holds: the trail is sealed and signed first, so that the proof
    rests on a checkpoint that covers every exported event (an export of events no checkpoint
    covers would prove nothing against a rewrite of them)."""
    try:
        checkpoints.publish_checkpoint()
    except (SigningKeyMissingError, KeyHistoryError):
        # No key to sign with: the export still goes, and its proof says what is not covered.
        return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0
    newest = AuditCheckpoint.objects.order_by("-seq").values_list("last_event_id", flat=True).first()
    return newest if newest is not None else 0


def _title(person_id: int | None, language: str) -> str:
    with override(language):
        if person_id is None:
            return _("Audit trail")
        return _("Audit trail of person #%(id)d") % {"id": person_id}


def _filters(person_id: int | None, criteria: TrailFilter | None) -> dict[str, Any]:
    values = {key: str(value) for key, value in vars(criteria or TrailFilter()).items() if value not in ("", None)}
    return values | ({"person": person_id} if person_id is not None else {})


def _record(actor: Any, person_id: int | None, fmt: str, count: int) -> None:
    # The target is the person whose trail left, or (no id) the trail itself.
    target = apps.get_model("people", "Person")(pk=person_id) if person_id else AuditEvent(pk=None)
    detail = f"{fmt.upper()}, {count} events"
    record_access(AuditAction.TRAIL_EXPORTED, actor=actor, target=target, subject_id=person_id, detail=detail)
