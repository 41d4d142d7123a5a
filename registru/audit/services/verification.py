"""Running the verifier on behalf of Registru itself (nightly, or when the DPO asks)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from registru.audit.models import AuditCheckpoint, TrailVerification
from registru.audit.services.checkpoints import as_checkpoint
from registru.audit.verify import Report, verify
from registru.core.context import service_scope


def run_verification() -> TrailVerification:
    """Verify the whole trail against every stored checkpoint and record the outcome."""
    stored = list(AuditCheckpoint.objects.order_by("seq"))
    report = verify(checkpoints=[as_checkpoint(checkpoint) for checkpoint in stored])
    return _record(report, str(stored[-1]) if stored else "")


def _record(report: Report, checkpoint: str) -> TrailVerification:
    with transaction.atomic(), service_scope():
        return TrailVerification.objects.create(
            finished_at=timezone.now(), intact=report.intact, events=report.events, batches=report.batches,
            unsealed=report.unsealed, checkpoint=checkpoint, first_finding=str(report.first or ""),
        )  # fmt: skip
