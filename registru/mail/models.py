"""The outbox: every outgoing message is a row, with its idempotency key and Message-ID,
before anything is sent. Workers deliver from here; the row says what happened."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registru.core.models import GuardedModel
from registru.core.pii import PIIClass
from registru.people.models import Person

N = PIIClass.NONE


class MessageKind(models.TextChoices):
    SERVICE = "service", _("service message")  # questionnaires, notices: no consent needed
    INVITATION = "invitation", _("consent invitation")
    MARKETING = "marketing", _("marketing")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    DEFERRED = "deferred", _("deferred (will retry)")
    FAILED = "failed", _("failed")
    BLOCKED = "blocked", _("blocked by the send gate")
    HELD = "held", _("held (campaign paused)")


class OutboundMessage(GuardedModel):
    """One message to one person, from queueing to delivery (or refusal)."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    message_id = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    purpose_code = models.CharField(max_length=50, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=16, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    invitation_id = models.BigIntegerField(null=True, blank=True)
    mailing_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "idempotency_key": N, "message_id": N, "kind": N, "purpose_code": N, "person": N,
        "recipient": PIIClass.CONTACT, "subject": PIIClass.SENSITIVE, "body_text": PIIClass.SENSITIVE,
        "headers": N, "status": N, "attempts": N, "next_attempt_at": N, "lease_until": N,
        "lease_owner": N, "last_error": N, "created_at": N, "sent_at": N, "campaign_id": N, "invitation_id": N,
        "mailing_id": N,
    }  # fmt: skip

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id} ({self.status})"
