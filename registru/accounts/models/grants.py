"""Access requests: the procedure by which a user gets a record outside their scope.

A request names one person or one organization, the access (view, or view and change), a
reason and a duration. The record's owner or a manager decides; an approved request is the
grant, active until ``expires_at`` or until revoked, and ``restrict()`` counts it only then.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class GrantAccess(models.TextChoices):
    VIEW = "view", _("view")
    CHANGE = "change", _("view and change")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a decision")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    WITHDRAWN = "withdrawn", _("withdrawn by the requester")
    REVOKED = "revoked", _("revoked")


class AccessRequestQuerySet(models.QuerySet["AccessRequest"]):
    def active(self) -> AccessRequestQuerySet:
        """Grants in force now: approved, not revoked, not past their end."""
        return self.filter(status=RequestStatus.APPROVED, expires_at__gt=timezone.now())


class AccessRequest(models.Model):
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests")
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="access_requests"
    )
    organization = models.ForeignKey(
        "people.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="access_requests"
    )
    access = models.CharField(_("access"), max_length=10, choices=GrantAccess.choices, default=GrantAccess.VIEW)
    reason = models.CharField(_("reason"), max_length=500)
    days = models.PositiveSmallIntegerField(_("for how many days"))
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note on the decision"), max_length=500, blank=True)
    expires_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False, organization__isnull=True)
                | Q(person__isnull=True, organization__isnull=False),
                name="access_request_one_record",
            ),
        ]
        indexes = [models.Index(fields=["requester", "status", "expires_at"], name="access_grant_active_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"
