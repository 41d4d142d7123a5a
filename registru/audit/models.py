"""The audit trail: one event per change, with who, when, how, what and why, bound into a
tamper-evident structure.

Each event stores its canonical bytes (the JSON that is hashed, personal values encrypted under
the person's data key) and its leaf hash. Sealing groups committed events into batches whose
Merkle roots are hash-chained (the Certificate Transparency pattern): writers never wait on a
shared chain head, and any edit, deletion, insertion or reordering changes a root. Signed
checkpoints of the chain head, kept elsewhere, catch a rewrite of the whole table.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from registru.audit.actions import AuditAction
from registru.core.context import Channel
from registru.core.fields import RowidBigIntegerField


class AppendOnlyError(RuntimeError):
    """Someone tried to change or delete an audit record through Django."""


class AppendOnlyQuerySet[M: models.Model](models.QuerySet[M]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit records are never changed")

    def _raw_delete_events(self) -> tuple[int, dict[str, int]]:
        """Only for ``audit.services.retention``, which opens the retention path first."""
        return super().delete()

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records are never deleted")

    def bulk_update(self, objs: Any, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError("audit records are never changed")


class AppendOnly(models.Model):
    """Rows are only ever inserted. A guard against our own mistakes; database triggers refuse
    changes made around Django."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit records are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records are never deleted")


class AuditEvent(AppendOnly):
    """One recorded change (or access). Its position in the trail is its id.

    The columns beside ``canonical`` are an index for filtering; what an event says is what its
    canonical bytes say (``payload``), and verification hashes those bytes only.
    """

    id = RowidBigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200)
    channel = models.CharField(_("channel"), max_length=10, choices=[(c, c) for c in Channel])
    request_id = models.CharField(_("request id"), max_length=64)
    action = models.CharField(_("action"), max_length=64, choices=AuditAction.choices)
    target_type = models.CharField(_("target type"), max_length=60)
    target_id = models.BigIntegerField(_("target id"), null=True, blank=True)
    subject_id = models.BigIntegerField(
        _("person"), null=True, blank=True, help_text=_("The person whose data changed, if any.")
    )
    fields = models.CharField(max_length=500, blank=True, help_text="Names of the changed fields, space-separated.")
    canonical = models.TextField(help_text="The event's canonical JSON: the bytes that are hashed.")
    leaf = models.BinaryField(help_text="SHA-256 of 0x00 and the canonical bytes.")

    objects = AppendOnlyQuerySet["AuditEvent"].as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["subject_id", "-id"], name="audit_subject_idx"),
            models.Index(fields=["target_type", "target_id", "-id"], name="audit_target_idx"),
            models.Index(fields=["actor_id", "-id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id}"

    @cached_property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.canonical))

    @property
    def changes(self) -> dict[str, list[Any]]:
        """Field-level ``{name: [old, new]}`` as stored (personal values still encrypted)."""
        return dict(self.payload.get("changes", {}))

    @property
    def reason(self) -> str:
        return str(self.payload.get("reason", ""))


class AuditBatch(AppendOnly):
    """A sealed run of events: their ids, leaf hashes and Merkle root, chained to the batch
    before it. The chain of batch hashes is what checkpoints sign."""

    seq = models.BigIntegerField(primary_key=True)
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    size = models.PositiveIntegerField()
    ids = models.TextField(help_text="The event ids in the batch, as ranges: 1-40,42,44-90.")
    leaves = models.BinaryField(help_text="The 32-byte leaf hashes of the events, in id order.")
    root = models.BinaryField()
    prev = models.BinaryField(help_text="Hash of the previous batch (32 zero bytes for the first).")
    hash = models.BinaryField()
    sealed_at = models.DateTimeField()

    objects = AppendOnlyQuerySet["AuditBatch"].as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("sealed batch")
        verbose_name_plural = _("sealed batches")

    def __str__(self) -> str:
        return f"batch {self.seq}: events {self.first_id}-{self.last_id}"


class AuditCheckpoint(AppendOnly):
    """A signed statement of the chain head at a moment; exported and kept outside."""

    seq = models.BigAutoField(primary_key=True)
    batch_seq = models.BigIntegerField()
    head = models.BinaryField(help_text="Hash of the batch ``batch_seq``.")
    last_event_id = models.BigIntegerField()
    events = models.BigIntegerField()
    created_at = models.DateTimeField()
    statement = models.TextField(help_text="The signed JSON statement.")
    signature = models.BinaryField()
    key_fingerprint = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet["AuditCheckpoint"].as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self) -> str:
        return f"checkpoint {self.seq} at batch {self.batch_seq}"


class AuditPrune(AppendOnly):
    """The retention path: the events of sealed batches up to ``up_to_batch`` were deleted on
    purpose. Their batches stay, so the chain still verifies.

    Only a signed statement makes a prune real: it names the batch and its hash, and the
    statement before it (prune statements form a chain of their own). Verification does not
    excuse missing events on the word of a row that no trusted key signed."""

    id = models.BigAutoField(primary_key=True)
    up_to_batch = models.BigIntegerField()
    pruned_at = models.DateTimeField()
    actor_label = models.CharField(max_length=200)
    reason = models.TextField()
    events = models.BigIntegerField()
    statement = models.TextField(blank=True, help_text="The signed JSON statement of the prune.")
    signature = models.BinaryField(default=b"")
    key_fingerprint = models.CharField(max_length=64, blank=True)

    objects = AppendOnlyQuerySet["AuditPrune"].as_manager()

    def __str__(self) -> str:
        return f"events of batches up to {self.up_to_batch} pruned"


class TrailVerification(AppendOnly):
    """The outcome of one run of the verifier, shown on the trail page."""

    id = models.BigAutoField(primary_key=True)
    finished_at = models.DateTimeField()
    intact = models.BooleanField()
    events = models.BigIntegerField()
    batches = models.BigIntegerField()
    unsealed = models.BigIntegerField()
    checkpoint = models.TextField(blank=True, help_text="The latest checkpoint it was checked against.")
    first_finding = models.TextField(blank=True)
    # The live records against the states their events committed to (audit.state); NULL where
    # that was not checked in this run.
    state_records = models.BigIntegerField(null=True, blank=True)
    state_uncommitted = models.BigIntegerField(null=True, blank=True)
    state_findings = models.BigIntegerField(null=True, blank=True)
    state_first_finding = models.TextField(blank=True, default="")
    # A statement of the outcome signed with the checkpoint key: the pages show only a row that
    # a trusted key signed, so a row inserted in the database cannot say "intact" there.
    statement = models.TextField(blank=True, default="")
    signature = models.BinaryField(default=b"")
    key_fingerprint = models.CharField(max_length=64, blank=True, default="")

    objects = AppendOnlyQuerySet["TrailVerification"].as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"verification {self.finished_at:%Y-%m-%d %H:%M}: {'intact' if self.intact else 'damaged'}"

    @property
    def state_changed(self) -> bool:
        """Live records were found changed, inserted or deleted outside Registru."""
        return bool(self.state_findings)
