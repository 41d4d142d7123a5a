"""The audit trail: one event per change, with who, when, how, what and why."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registru.audit.actions import AuditAction
from registru.core.context import Channel


class AppendOnlyError(RuntimeError):
    """Someone tried to change or delete an audit event through Django."""


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are never deleted")

    def bulk_update(self, objs: Any, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events are never changed")


class AuditEvent(models.Model):
    """One recorded change (or access). Rows are only ever inserted.

    The actor is stored as an id and a label, not a foreign key: the trail must outlive the
    accounts it names, and deleting a user must not touch it.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
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
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the event's canonical bytes.")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["subject_id", "-id"], name="audit_subject_idx"),
            models.Index(fields=["target_type", "target_id", "-id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A guard against our own mistakes; the database refuses changes made around Django.
        if not self._state.adding:
            raise AppendOnlyError("audit events are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are never deleted")
