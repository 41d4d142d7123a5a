"""Making an approved export's file, in the background, a chunk of people at a time.

The people are those the requester's scope and filter select when the file is made, never
more than the count that was approved (docs/exports.md: a selection that grew is cut at the
approved count, in name order, and the event says so). The file is written outside any
transaction, so that its progress can be watched; claiming and finishing are services.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.actors import SystemActor
from registru.core.services import service
from registru.exports import canary, policy
from registru.exports.fields import FIELDS
from registru.exports.fingerprint import MARKER_HEADER, digest_key, new_code, row_digest
from registru.exports.models import ExportRequest, ExportRow, ExportStatus
from registru.exports.services.erasure import delete_files_holding
from registru.exports.services.requests import _tell_requester, delete_file
from registru.exports.writer import SheetWriter, Watermark, neutralised, open_writer
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.people.scopes import current_affiliations

logger = logging.getLogger(__name__)
GENERATOR = SystemActor("export generation")
CHUNK = 500


class GenerationError(Exception):
    """The file cannot be made (the requester lost the right, the people are gone)."""


def generate_export(export_id: int) -> ExportRequest | None:
    """The background task's body: claim an approved request, write its file, finish it."""
    export = _claim(export_id, actor=GENERATOR)
    if export is None:
        return None
    path = Path(settings.EXPORT_DIR) / f"{secrets.token_urlsafe(24)}.{export.format}"
    try:
        rows, matched = _write(export, path)
    except Exception as exc:
        logger.exception("export %s failed", export_id)
        path.unlink(missing_ok=True)
        ExportRow.objects.filter(request_id=export_id).delete()
        return _fail(export, str(exc) if isinstance(exc, GenerationError) else type(exc).__name__, actor=GENERATOR)
    finished = _finish(export, path, rows, matched, actor=GENERATOR)
    if finished is not None and (erased := _erased_in(finished)):
        # Someone in the file was erased while it was being made: the erasure could not delete
        # a file that was not finished; it goes now.
        delete_files_holding(erased, actor=GENERATOR, reason="file deleted: it held a person who was erased")
        return ExportRequest.objects.get(pk=export_id)
    return finished


def _erased_in(export: ExportRequest) -> list[int]:
    erased = Person.objects.filter(status=PersonStatus.ERASED).values("pk")
    rows = ExportRow.objects.filter(request_id=export.pk, person_id__in=erased)
    return [pk for pk in rows.values_list("person_id", flat=True) if pk is not None]


@service
def _claim(export_id: int, *, actor: Any) -> ExportRequest | None:
    """Approved → generating, if the approval still holds; a lapsed approval expires."""
    now = timezone.now()
    claimed = ExportRequest.objects.filter(
        pk=export_id, status=ExportStatus.APPROVED, approval_valid_until__gt=now
    ).update(status=ExportStatus.GENERATING, progress_done=0)
    if claimed:
        return ExportRequest.objects.select_related("requester").get(pk=export_id)
    lapsed = ExportRequest.objects.filter(pk=export_id, status=ExportStatus.APPROVED).update(
        status=ExportStatus.EXPIRED
    )
    if lapsed:
        export = ExportRequest.objects.get(pk=export_id)
        record(A.EXPORT_EXPIRED, actor=actor, target=export, reason="approval lapsed before the file was made",
               changes={"status": (ExportStatus.APPROVED.value, ExportStatus.EXPIRED.value)})  # fmt: skip
    return None


def _people(export: ExportRequest) -> Any:
    requester = export.requester
    if not requester.can(Capability.REQUEST_EXPORT):
        raise GenerationError(_("The requester may no longer export people."))
    if policy.hidden_fields(requester, export.fields):
        raise GenerationError(_("The requester's role may no longer see some of the fields asked."))
    if export.decided_by_id is None and policy.field_reasons(requester, export.fields):
        # Approved automatically, but the role policy changed since: no second person saw these fields.
        raise GenerationError(_("Some of the fields asked now need a second person's approval; ask again."))
    people = policy.people_in_file(export)
    if "organizations" in export.fields:
        employers = current_affiliations().select_related("organization")
        people = people.prefetch_related(Prefetch("affiliations", queryset=employers, to_attr="current_employers"))
    return people.order_by("sort_key", "pk")


def watermark(export: ExportRequest, when: Any) -> Watermark:
    requester = export.requester.label
    stamp = timezone.localtime(when).strftime("%Y-%m-%d %H:%M %Z")
    title = _("Registru export #%(id)d") % {"id": export.pk}
    first = _("Export #%(id)d for %(requester)s, %(time)s. Purpose: %(purpose)s") % {
        "id": export.pk, "requester": requester, "time": stamp, "purpose": export.purpose,
    }  # fmt: skip
    second = _(
        "Personal data, confidential: every row is marked and this file can be traced to its requester. "
        "Use it only for the purpose above and delete it when done."
    )
    return Watermark(export.pk, title, requester, [first, second], first)


def _write(export: ExportRequest, path: Path) -> tuple[int, int]:
    """Write the file; return the rows written (canaries left out) and the people matched."""
    people = _people(export)
    matched = people.count()
    total = min(matched, export.counted)
    ExportRequest.objects.filter(pk=export.pk).update(progress_total=total)
    Path(settings.EXPORT_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
    with translation.override(settings.LANGUAGE_CODE):
        headers = [str(FIELDS[code].label) for code in export.fields] + [MARKER_HEADER]
        sheet = open_writer(export.format, path, watermark(export, timezone.now()), headers)
        try:
            written = _rows(export, sheet, people.iterator(chunk_size=CHUNK), total)
        finally:
            sheet.close()
    return written, matched


def _rows(export: ExportRequest, sheet: SheetWriter, people: Iterator[Person], total: int) -> int:
    key = digest_key()
    canaries = [(position, index) for index, position in enumerate(canary.positions(export.pk, total))]
    batch: list[ExportRow] = []
    written = 0
    for person in people:
        if written == total:
            break
        batch += _canaries_before(export, sheet, canaries, written, key)
        batch.append(_row(export, sheet, [_cell(FIELDS[code].value(person)) for code in export.fields], key, person.pk))
        written += 1
        if len(batch) >= CHUNK:
            _flush(export, batch, written)
            batch = []
    batch += _canaries_before(export, sheet, canaries, written, key)
    _flush(export, batch, written)
    return written


def _canaries_before(export: ExportRequest, sheet: SheetWriter, canaries: list[tuple[int, int]], written: int,
                     key: bytes) -> list[ExportRow]:  # fmt: skip
    rows = []
    while canaries and canaries[0][0] <= written:
        _position, index = canaries.pop(0)
        made_up = canary.values(export.pk, index)
        rows.append(_row(export, sheet, [made_up[code] for code in export.fields], key, None))
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _row(export: ExportRequest, sheet: SheetWriter, cells: list[str], key: bytes, person_id: int | None) -> ExportRow:
    code = new_code()
    sheet.row([*cells, code])  # the writer guards cells that look like formulas, as its format allows
    # The digest is of the cells as a CSV file holds them (apostrophe and all), as it always was:
    # ``identify`` reads either format back to that form.
    digest = row_digest([neutralised(cell) for cell in cells], key)
    return ExportRow(request_id=export.pk, code=code, digest=digest or "", person_id=person_id,
                     canary=person_id is None)  # fmt: skip


def _flush(export: ExportRequest, batch: list[ExportRow], written: int) -> None:
    ExportRow.objects.bulk_create(batch)
    ExportRequest.objects.filter(pk=export.pk).update(progress_done=written)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@service
def _finish(export: ExportRequest, path: Path, rows: int, matched: int, *, actor: Any) -> ExportRequest | None:
    now = timezone.now()
    values = {
        "status": ExportStatus.READY, "file_name": path.name, "sha256": _sha256(path), "row_count": rows,
        "file_size": path.stat().st_size, "generated_at": now, "progress_done": rows,
        "expires_at": now + timedelta(hours=settings.EXPORT_LINK_HOURS),
        "capped_at": matched if matched > rows else None,
    }  # fmt: skip
    if not ExportRequest.objects.filter(pk=export.pk, status=ExportStatus.GENERATING).update(**values):
        path.unlink(missing_ok=True)  # cancelled meanwhile
        return None
    cut = f"; {matched} people match now, cut at the approved {rows}" if matched > rows else ""
    record(A.EXPORT_GENERATED, actor=actor, target=export, reason=f"{rows} rows{cut}", changes={
        "status": (ExportStatus.GENERATING.value, ExportStatus.READY.value), "rows": (None, rows),
        "sha256": (None, values["sha256"]),
    })  # fmt: skip
    _tell_requester(export, actor, "ready", gettext_lazy("Export #%(id)d is ready to download."))
    return ExportRequest.objects.get(pk=export.pk)


@service
def _fail(export: ExportRequest, error: str, *, actor: Any) -> ExportRequest | None:
    changed = ExportRequest.objects.filter(pk=export.pk, status=ExportStatus.GENERATING).update(
        status=ExportStatus.FAILED, error=error[:300]
    )
    if changed:
        record(A.EXPORT_GENERATED, actor=actor, target=export, reason=f"failed: {error}",
               changes={"status": (ExportStatus.GENERATING.value, ExportStatus.FAILED.value)})  # fmt: skip
        _tell_requester(export, actor, "failed", gettext_lazy("Export #%(id)d could not be made."))
    delete_file(export)
    return ExportRequest.objects.filter(pk=export.pk).first()
