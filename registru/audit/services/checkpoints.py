"""Making checkpoints: seal what is final, then sign the chain head; keep the unsigned tail short.

A checkpoint is signed every ``AUDIT_CHECKPOINT_MINUTES`` (when the trail has grown since the
last one), and at once after the actions that most need proof (an erasure, an export approval).
Each checkpoint file is written to the data directory and may be copied off the server: to a
directory, to a command, and (nightly) by mail to the DPO.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from registru.audit.canonical import json_value
from registru.audit.models import AuditBatch, AuditCheckpoint
from registru.audit.services.sealing import seal
from registru.audit.signing import Checkpoint, generate_key_file, has_signing_key, sign, trusted_keys
from registru.core.context import service_scope

logger = logging.getLogger(__name__)
COMMAND_TIMEOUT = 60  # seconds a copy command may take before it counts as failed


class NothingToCheckpointError(RuntimeError):
    pass


def create_checkpoint(*, only_if_grown: bool = False) -> AuditCheckpoint:
    """Seal, then sign and store a statement of the chain head. ``only_if_grown``: refuse
    (NothingToCheckpointError) when the head is the one the last checkpoint signed."""
    seal()
    _first_key_outside_production()
    with transaction.atomic(), service_scope():
        last = AuditBatch.objects.order_by("-seq").first()
        if last is None:
            raise NothingToCheckpointError("the trail has no sealed events yet")
        signed_before = AuditCheckpoint.objects.order_by("-seq").values_list("batch_seq", flat=True).first()
        if only_if_grown and signed_before == last.seq:
            raise NothingToCheckpointError("the trail has not grown since the last checkpoint")
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


def interval() -> timedelta:
    return timedelta(minutes=settings.AUDIT_CHECKPOINT_MINUTES)


def checkpoint_if_due() -> AuditCheckpoint | None:
    """The periodic tail: a new checkpoint once the last is ``interval()`` old and the trail
    has grown since; it is then published (written, copied off the server)."""
    last = AuditCheckpoint.objects.order_by("-seq").values_list("created_at", flat=True).first()
    if last is not None and timezone.now() - last < interval():
        return None
    return publish_checkpoint()


def publish_checkpoint(*, mail: bool = False) -> AuditCheckpoint | None:
    """Make a checkpoint (when the trail has grown) and copy it everywhere configured."""
    try:
        stored = create_checkpoint(only_if_grown=True)
    except NothingToCheckpointError:
        return None
    path = export(stored, default_export_path(stored))
    copy_off_server(path)
    if mail:
        mail_to_dpo(stored)
    return stored


def checkpoint_soon() -> None:
    """Sign the trail as soon as the current transaction commits (after an erasure or an
    export approval: the events that prove them should not wait for the next interval)."""
    from registru.audit.tasks import checkpoint_now

    transaction.on_commit(checkpoint_now.enqueue)


def copy_off_server(path: Path) -> None:
    """Copy a checkpoint file to ``AUDIT_CHECKPOINT_COPY_DIR`` and/or hand it to
    ``AUDIT_CHECKPOINT_COMMAND``. A failed copy is logged and does not undo the checkpoint."""
    if settings.AUDIT_CHECKPOINT_COPY_DIR:
        target = Path(settings.AUDIT_CHECKPOINT_COPY_DIR)
        try:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.name)
        except OSError:
            logger.exception("The checkpoint %s could not be copied to %s", path.name, target)
    if settings.AUDIT_CHECKPOINT_COMMAND:
        command = [*shlex.split(settings.AUDIT_CHECKPOINT_COMMAND), str(path)]
        try:
            subprocess.run(command, check=True, timeout=COMMAND_TIMEOUT, capture_output=True)  # noqa: S603
        except (OSError, subprocess.SubprocessError):
            logger.exception("The checkpoint command failed for %s", path.name)


def _first_key_outside_production() -> None:
    # Like the master key: a first run outside production makes its own signing key, but only
    # for a trail that no key has signed yet. Anywhere else a missing key is an error.
    if not has_signing_key() and not settings.PRODUCTION and not AuditCheckpoint.objects.exists():
        generate_key_file()


def as_checkpoint(stored: AuditCheckpoint, trusted: dict[str, bytes] | None = None) -> Checkpoint:
    """A stored checkpoint with the trusted public key its row names (its fingerprint only
    picks the key: a row naming a key that is not trusted gets none, and fails)."""
    trusted = trusted_keys() if trusted is None else trusted
    return Checkpoint(stored.statement, bytes(stored.signature), trusted.get(stored.key_fingerprint, bytes(32)))


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
