"""Running the verifier on behalf of Registru itself (nightly, or when the DPO asks)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from registru.audit.models import AuditCheckpoint, TrailVerification
from registru.audit.services.checkpoints import as_checkpoint
from registru.audit.signing import KeyHistoryError, SigningKeyMissingError
from registru.audit.state import StateReport, verify_state
from registru.audit.verify import Damage, Finding, Report, verify
from registru.core.context import service_scope


def run_verification(*, live_state: bool = True) -> TrailVerification:
    """Verify the whole trail against every stored checkpoint and record the outcome; with
    ``live_state``, also the live records against the states the trail committed to."""
    stored = list(AuditCheckpoint.objects.order_by("seq"))
    try:
        report = verify(checkpoints=[as_checkpoint(checkpoint) for checkpoint in stored])
    except (SigningKeyMissingError, KeyHistoryError) as exc:
        # Without the keys it trusts, the trail cannot be held to its checkpoints: that is
        # recorded as a failed verification (the dashboard shows it), not a silent error.
        report = Report(findings=[Finding(Damage.CHECKPOINT_INVALID, None, f"not verified: {exc}")])
    return _record(report, str(stored[-1]) if stored else "", verify_state() if live_state else None)


def _record(report: Report, checkpoint: str, live: StateReport | None = None) -> TrailVerification:
    state_fields = {}
    if live is not None:
        state_fields = {
            "state_records": live.checked, "state_uncommitted": live.uncommitted,
            "state_findings": len(live.findings), "state_first_finding": str(live.first or ""),
        }  # fmt: skip
    with transaction.atomic(), service_scope():
        return TrailVerification.objects.create(
            finished_at=timezone.now(), intact=report.intact, events=report.events, batches=report.batches,
            unsealed=report.unsealed, checkpoint=checkpoint, first_finding=str(report.first or ""), **state_fields,
        )  # fmt: skip
