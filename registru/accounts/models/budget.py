"""The bulk-view budget: which distinct people each user has been shown, per day and hour.

Every page, API answer and search result that shows people charges the same ledger, so
paging, parallel sessions and API tokens all count against one budget per user.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ViewedPerson(models.Model):
    """One row per user, day and person; ``hour`` is the last hour of that day they were shown."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    person_id = models.BigIntegerField()
    day = models.DateField()
    hour = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day", "person_id"], name="viewed_person_once")]
        indexes = [models.Index(fields=["user", "day", "hour"], name="viewed_person_hour_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.person_id} on {self.day}"


class BudgetWindow(models.TextChoices):
    HOUR = "hour", _("hour")
    DAY = "day", _("day")


class BudgetLevel(models.TextChoices):
    SOFT = "soft", _("soft limit (DPO alerted)")
    HARD = "hard", _("hard limit (viewing blocked)")


class ViewAlert(models.Model):
    """A limit crossed. Unique per window, so the DPO hears of it once, not per request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="view_alerts")
    window = models.CharField(_("window"), max_length=4, choices=BudgetWindow.choices)
    window_start = models.DateTimeField(_("window start"))
    level = models.CharField(_("level"), max_length=4, choices=BudgetLevel.choices)
    count = models.PositiveIntegerField(_("people viewed"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "window", "window_start", "level"], name="view_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.level} {self.window} {self.window_start:%Y-%m-%d %H:%M}"


class ViewBlock(models.Model):
    """Viewing stopped after a hard limit, until a manager lifts it (or the window passes)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="view_blocks")
    alert = models.OneToOneField(ViewAlert, on_delete=models.CASCADE, related_name="block")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"block of {self.user_id} ({'lifted' if self.lifted_at else 'in force'})"
