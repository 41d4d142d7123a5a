"""Making checkpoints: seal what is final, then sign the chain head."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from registru.audit.canonical import json_value
from registru.audit.models import AuditBatch, AuditCheckpoint
from registru.audit.services.sealing import seal
from registru.audit.signing import Checkpoint, sign
from registru.core.context import service_scope


class NothingToCheckpointError(RuntimeError):
    pass


def create_checkpoint() -> AuditCheckpoint:
    """Seal, then sign and store a statement of the chain head."""
    seal()
    with transaction.atomic(), service_scope():
        last = AuditBatch.objects.order_by("-seq").first()
        if last is None:
            raise NothingToCheckpointError("the trail has no sealed events yet")
        events = AuditBatch.objects.filter(seq__lte=last.seq).aggregate(total=Sum("size"))["total"] or 0
        now = timezone.now()
        signed = sign(
            {
                "batch_seq": last.seq,
                "head": bytes(last.hash).hex(),
                "last_event_id": last.last_id,
                "events": events,
                "at": json_value(now),
            }
        )
        return AuditCheckpoint.objects.create(
            batch_seq=last.seq, head=bytes(last.hash), last_event_id=last.last_id, events=events,
            created_at=now, statement=signed.statement, signature=signed.signature,
            key_fingerprint=signed.key_fingerprint,
        )  # fmt: skip


def as_checkpoint(stored: AuditCheckpoint) -> Checkpoint:
    from registru.audit.signing import public_bytes, signing_key

    # The stored statement is checked with the current public key when it was signed with it;
    # exported files carry their own key.
    return Checkpoint(stored.statement, bytes(stored.signature), public_bytes(signing_key().public_key()))


def export(stored: AuditCheckpoint, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(as_checkpoint(stored).to_file(), encoding="utf-8")
    return path


def default_export_path(stored: AuditCheckpoint) -> Path:
    return Path(settings.DATA_DIR) / "checkpoints" / f"checkpoint-{stored.seq:06d}.json"


def mail_to_dpo(stored: AuditCheckpoint) -> int:
    """Send the checkpoint file to every active DPO with an email address; returns how many."""
    from registru.accounts.models import User
    from registru.accounts.roles import Role

    recipients = list(
        User.objects.filter(role=Role.DPO, is_active=True).exclude(email="").values_list("email", flat=True)
    )
    if not recipients:
        return 0
    body = (
        "Registru audit checkpoint. Keep this file somewhere other than the Registru server: "
        "`registru audit verify --checkpoint FILE` proves the trail was not rewritten since.\n\n"
        + as_checkpoint(stored).to_file()
    )
    send_mail(f"Registru audit checkpoint {stored.seq}", body, None, recipients)
    return len(recipients)
