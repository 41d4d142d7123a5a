"""The export register as a CSV file, for the DPO: exporting it is itself an audited act."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone

from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.services import service
from registru.exports.models import ExportRequest
from registru.exports.selectors import RegisterFilter, register
from registru.exports.writer import neutralised

HEADER = [
    "export", "requested_at", "requester", "purpose", "fields", "format", "filter", "people_counted",
    "needs_approval", "approval_reasons", "status", "decided_by", "decided_at", "decision_note",
    "generated_at", "rows", "sha256", "expires_at", "downloads", "download_log",
]  # fmt: skip


def _time(value: Any) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _filter_text(criteria: dict[str, Any]) -> str:
    # The search text itself stays sealed: the register says only that there was one.
    return " ".join(f"{key}={value}" for key, value in sorted(criteria.items()) if value not in ("", None, False))


def register_row(export: ExportRequest) -> list[str]:
    downloads = "; ".join(
        f"{download.user.username} {_time(download.at)} {download.ip or ''}".strip()
        for download in export.download_log.all()
    )
    return [
        str(export.pk), _time(export.created_at), export.requester.label, export.purpose,
        " ".join(export.fields), export.format, _filter_text(export.criteria), str(export.counted),
        "yes" if export.needs_approval else "no", " ".join(export.approval_reasons), export.status,
        export.decided_by.label if export.decided_by else "", _time(export.decided_at), export.decision_note,
        _time(export.generated_at), "" if export.row_count is None else str(export.row_count), export.sha256,
        _time(export.expires_at), str(export.downloads), downloads,
    ]  # fmt: skip


@service
def write_register_csv(out: io.TextIOBase, *, actor: Any, criteria: RegisterFilter) -> int:
    """Write the (filtered) register; returns how many requests it lists."""
    writer = csv.writer(out)
    writer.writerow(HEADER)
    count = 0
    for export in register(criteria).order_by("id"):
        writer.writerow([neutralised(cell) for cell in register_row(export)])
        count += 1
    filters = {key: str(value) for key, value in vars(criteria).items() if value not in ("", None)}
    record(A.EXPORT_REGISTER_EXPORTED, actor=actor, target=ExportRequest(pk=None),
           reason=f"CSV, {count} requests", changes={"filter": (None, filters)} if filters else None)  # fmt: skip
    return count
