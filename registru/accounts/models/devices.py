"""Each login is a device session the user (and an administrator) can see and end."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SessionEnd(models.TextChoices):
    LOGOUT = "logout", _("logged out")
    BY_USER = "by_user", _("ended by the user")
    BY_ADMINISTRATOR = "by_administrator", _("ended by an administrator")
    IDLE = "idle", _("idle timeout")
    EXPIRED = "expired", _("absolute timeout")


class DeviceSession(models.Model):
    """One login on one device. The Django session key itself is never stored, only its
    SHA-256 digest, so this table cannot be used to hijack a session.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_sessions")
    key_digest = models.CharField(max_length=64, unique=True)
    device = models.CharField(_("device"), max_length=120, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    two_factor = models.BooleanField(_("two-factor verified"), default=False)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("how it ended"), max_length=20, choices=SessionEnd.choices, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen_at"]
        verbose_name = _("device session")
        verbose_name_plural = _("device sessions")
        indexes = [models.Index(fields=["user", "ended_at"], name="device_session_user_idx")]

    def __str__(self) -> str:
        return f"{self.device or '?'} ({self.user_id})"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None
