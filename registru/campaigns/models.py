"""Consent campaigns: who is asked for which purposes, when, how often; and one invitation per
person with a single-use link."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registru.consent.models import Purpose
from registru.core.models import GuardedModel
from registru.core.pii import PIIClass
from registru.people.models import Person

N = PIIClass.NONE


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    RUNNING = "running", _("running")
    PAUSED = "paused", _("paused")
    CANCELLED = "cancelled", _("cancelled")
    FINISHED = "finished", _("finished")


class NonResponders(models.TextChoices):
    NOTHING = "nothing", _("do nothing")
    REFUSE = "refuse", _("record “no consent” (no marketing for them)")


class Campaign(models.Model):
    """A consent campaign: what is asked, of whom, and at which pace."""

    name = models.CharField(_("name"), max_length=150)
    purposes = models.ManyToManyField(Purpose, verbose_name=_("purposes"), related_name="campaigns")
    channels = models.JSONField(_("channels"), default=list)
    audience = models.JSONField(_("audience"), default=dict, help_text=_("The saved filter that selects people."))
    subject_ro = models.CharField(_("subject (Romanian)"), max_length=200)
    body_ro = models.TextField(_("message (Romanian)"))
    subject_en = models.CharField(_("subject (English)"), max_length=200)
    body_en = models.TextField(_("message (English)"))
    starts_at = models.DateTimeField(_("starts at"))
    wave_size = models.PositiveIntegerField(_("invitations per hour"), default=500)
    reminders = models.PositiveSmallIntegerField(_("reminders"), default=1)
    reminder_days = models.PositiveSmallIntegerField(_("days between reminders"), default=7)
    valid_days = models.PositiveSmallIntegerField(_("invitation valid for (days)"), default=30)
    non_responders = models.CharField(
        _("non-responders"), max_length=10, choices=NonResponders.choices, default=NonResponders.NOTHING
    )
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The pace: wave ``next_wave`` goes out at ``next_wave_at``, the next one an hour later.
    next_wave = models.PositiveIntegerField(default=0)
    next_wave_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name

    def subject(self, language: str) -> str:
        return self.subject_en if language == "en" else self.subject_ro

    def body(self, language: str) -> str:
        return self.body_en if language == "en" else self.body_ro


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("waiting for its wave")
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    BOUNCED = "bounced", _("bounced")
    BLOCKED = "blocked", _("not sent (send gate)")
    OPENED = "opened", _("opened the page")
    ANSWERED = "answered", _("answered")
    EXPIRED = "expired", _("expired")
    CANCELLED = "cancelled", _("cancelled")


OPEN_INVITATIONS = (InvitationStatus.QUEUED, InvitationStatus.SENT, InvitationStatus.OPENED)
WAITING_INVITATIONS = (InvitationStatus.PENDING, *OPEN_INVITATIONS)


class Outcome(models.TextChoices):
    GRANTED = "granted", _("granted")
    REFUSED = "refused", _("refused")


class Invitation(GuardedModel):
    """One person's invitation in one campaign, with the hash of its link's nonce."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="invitations")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="invitations")
    wave = models.PositiveIntegerField(default=0)
    nonce_digest = models.CharField(max_length=64)
    notices = models.JSONField(default=dict, help_text="purpose code -> notice id, in the person's language")
    language = models.CharField(max_length=8)
    status = models.CharField(max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "campaign": N, "person": N, "wave": N, "nonce_digest": N, "notices": N, "language": N,
        "status": N, "outcome": N, "reminders_sent": N, "sent_at": N, "opened_at": N, "answered_at": N, "expires_at": N,
        "created_at": N,
    }  # fmt: skip

    class Meta:
        ordering = ["id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["campaign", "person"], name="one_invitation_per_person")]
        indexes = [models.Index(fields=["campaign", "status"], name="invitation_progress_idx")]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.status})"


class Mailing(models.Model):
    """A marketing message sent to everyone with a valid consent for its purpose (by email).

    Each copy is re-checked by the send gate when it leaves, and carries one-click unsubscribe.
    """

    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="+")
    subject_ro = models.CharField(_("subject (Romanian)"), max_length=200)
    body_ro = models.TextField(_("message (Romanian)"))
    subject_en = models.CharField(_("subject (English)"), max_length=200)
    body_en = models.TextField(_("message (English)"))
    recipients = models.PositiveIntegerField(default=0)
    # The form's one-time token: the same form sent twice (a double click) queues one mailing.
    form_token = models.UUIDField(null=True, blank=True, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")

    def __str__(self) -> str:
        return self.subject_ro

    def subject(self, language: str) -> str:
        return self.subject_en if language == "en" else self.subject_ro

    def body(self, language: str) -> str:
        return self.body_en if language == "en" else self.body_ro
