"""Erasure reaches the export files: a file that holds a person who is erased is deleted at
once (not when its link expires), and the register keeps the request with the status
"deleted at an erasure" (docs/exports.md)."""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction

from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.services import service
from registru.exports.models import ExportRequest, ExportRow, ExportStatus
from registru.exports.services.requests import delete_file

# Statuses with a file on disk (a file being made is handled when it is finished).
WITH_FILE = (ExportStatus.READY,)


@service
def delete_files_holding(person_ids: list[int], *, actor: Any, reason: str) -> list[int]:
    """Delete the export files that hold any of ``person_ids`` (their rows' fingerprints say
    which) and mark their requests; returns the requests' ids. The files go once the erasure is
    committed: a rolled-back erasure leaves them where they were."""
    holding = ExportRow.objects.filter(person_id__in=person_ids).values("request_id")
    exports = list(ExportRequest.objects.filter(pk__in=holding, status__in=WITH_FILE).order_by("pk"))
    deleted = []
    for export in exports:
        changed = ExportRequest.objects.filter(pk=export.pk, status=export.status).update(status=ExportStatus.ERASED)
        if not changed:
            continue
        # The export's own trail, not the person's: an export is no one's data, and the reason
        # must stay readable after the person's key is destroyed.
        record(A.EXPORT_EXPIRED, actor=actor, target=export, reason=reason,
               changes={"status": (export.status, ExportStatus.ERASED.value)})  # fmt: skip
        transaction.on_commit(functools.partial(delete_file, export))
        deleted.append(export.pk)
    return deleted


def forget_person(sender: Any, person: Any, actor: Any, **kwargs: Any) -> None:
    """``person_erased``'s receiver."""
    delete_files_holding([person.pk], actor=actor, reason="file deleted: it held a person who was erased")
