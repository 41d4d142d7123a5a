"""Running the verifier on behalf of Registru itself (nightly, or when the DPO asks)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from registru.audit.canonical import json_value
from registru.audit.models import AuditCheckpoint, TrailVerification
from registru.audit.services.checkpoints import as_checkpoint
from registru.audit.signing import (
    VERIFICATION_FORMAT,
    Checkpoint,
    KeyHistoryError,
    SigningKeyMissingError,
    sign,
)
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
    values: dict[str, Any] = {
        "finished_at": timezone.now(), "intact": report.intact, "events": report.events, "batches": report.batches,
        "unsealed": report.unsealed, "checkpoint": checkpoint, "first_finding": str(report.first or ""),
    }  # fmt: skip
    if live is not None:
        values |= {
            "state_records": live.checked, "state_uncommitted": live.uncommitted,
            "state_findings": len(live.findings), "state_first_finding": str(live.first or ""),
        }  # fmt: skip
    return record_outcome(values)


def record_outcome(values: dict[str, Any]) -> TrailVerification:
    """Store a verification outcome with its signed statement (none when no key can sign: the
    pages then show no verification, which the dashboard reports)."""
    values = UNSET | values
    with transaction.atomic(), service_scope():
        return TrailVerification.objects.create(**values, **_signed(values))


# What a row holds for a value not given (the model's defaults), so that the statement says it.
UNSET: dict[str, Any] = {
    "checkpoint": "", "first_finding": "", "state_records": None, "state_uncommitted": None,
    "state_findings": None, "state_first_finding": "",
}  # fmt: skip


SIGNED = (
    "finished_at", "intact", "events", "batches", "unsealed", "checkpoint", "first_finding", "state_records",
    "state_uncommitted", "state_findings", "state_first_finding",
)  # fmt: skip


def outcome_fields(values: dict[str, Any]) -> dict[str, Any]:
    """What an outcome's statement says: its shown values, as JSON."""
    return {name: json_value(values[name]) for name in SIGNED}


def _signed(values: dict[str, Any]) -> dict[str, Any]:
    try:
        signed = sign(outcome_fields(values), fmt=VERIFICATION_FORMAT)
    except (SigningKeyMissingError, KeyHistoryError):
        return {}
    return {"statement": signed.statement, "signature": signed.signature, "key_fingerprint": signed.key_fingerprint}


def is_signed_outcome(row: TrailVerification, trusted: dict[str, bytes]) -> bool:
    """Whether a trusted key signed this outcome and its columns say what the statement says."""
    if not row.statement:
        return False
    signed = Checkpoint(row.statement, bytes(row.signature), trusted.get(row.key_fingerprint, bytes(32)))
    if not signed.signature_valid(trusted, expected_format=VERIFICATION_FORMAT):
        return False
    said = {key: value for key, value in signed.fields.items() if key != "format"}
    return said == outcome_fields({name: getattr(row, name) for name in SIGNED})
