"""Purposes of processing, their versioned notices, the consent ledger and the current state.

The ledger is append-only: a consent is never edited, a new event says what changed. The current
state per person × purpose × channel is derived from it by the services and kept in its own table,
so that the send gate and the audience filters answer from an index.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registru.consent.choices import ConsentKind, ConsentMethod, ConsentState, ContactChannel
from registru.core.models import GuardedModel
from registru.core.pii import PIIClass
from registru.people.choices import Language, LawfulBasis
from registru.people.models import Person

N = PIIClass.NONE


class Purpose(models.Model):
    """A purpose of processing people are asked to consent to (newsletter, offers, events...)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_ro = models.CharField(_("name (Romanian)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    lawful_basis = models.CharField(
        _("lawful basis"), max_length=24, choices=LawfulBasis.choices, default=LawfulBasis.CONSENT
    )
    channels = models.JSONField(_("channels"), default=list, help_text=_("Channels this purpose may use."))
    validity_days = models.PositiveIntegerField(
        _("consent valid for (days)"), null=True, blank=True, help_text=_("Empty: until withdrawn.")
    )
    retention_days = models.PositiveIntegerField(_("keep data for (days)"), null=True, blank=True)
    is_marketing = models.BooleanField(_("marketing"), default=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")

    def __str__(self) -> str:
        return self.name_ro

    def name(self, language: str) -> str:
        return self.name_en if language == Language.ENGLISH else self.name_ro


class Notice(models.Model):
    """One version of a purpose's notice in one language. Immutable once a consent refers to it:
    a change is a new version, and each consent keeps the hash of the exact text the person saw."""

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="notices")
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    text_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    first_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["purpose", "language", "-version"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [models.UniqueConstraint(fields=["purpose", "language", "version"], name="notice_unique_version")]

    def __str__(self) -> str:
        return f"{self.purpose.code} v{self.version} ({self.language})"

    @staticmethod
    def hash_of(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ConsentEvent(GuardedModel):
    """One entry of the consent ledger: a person's consent for a purpose on a channel was
    granted, withdrawn, refused or expired, with the evidence of how. Never changed."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consent_events")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    kind = models.CharField(max_length=10, choices=ConsentKind.choices)
    method = models.CharField(max_length=20, choices=ConsentMethod.choices)
    notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notice_hash = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    # IP address, user agent, who recorded it, attestation: encrypted under the person's key.
    evidence = models.JSONField(default=dict, blank=True)
    recorded_by = models.CharField(max_length=200, help_text="The actor's label, as in the audit trail.")
    campaign_id = models.BigIntegerField(null=True, blank=True)
    invitation_id = models.BigIntegerField(null=True, blank=True)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "person": N, "purpose": N, "channel": N, "kind": N, "method": N, "notice": N,
        "notice_hash": N, "occurred_at": N, "evidence": PIIClass.SENSITIVE, "recorded_by": N,
        "campaign_id": N, "invitation_id": N,
    }  # fmt: skip

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        indexes = [models.Index(fields=["person", "purpose", "channel", "-id"], name="consent_ledger_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.purpose_id}/{self.channel}: {self.kind}"


class Consent(GuardedModel):
    """The current state of one person's consent for one purpose on one channel (derived)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consents")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    state = models.CharField(max_length=10, choices=ConsentState.choices, default=ConsentState.NONE)
    since = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    notice_hash = models.CharField(max_length=64, blank=True)
    last_event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, related_name="+")

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "person": N, "purpose": N, "channel": N, "state": N, "since": N, "expires_at": N,
        "notice_hash": N, "last_event": N,
    }  # fmt: skip

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["person", "purpose", "channel"], name="consent_one_state"),
        ]
        indexes = [models.Index(fields=["purpose", "channel", "state"], name="consent_state_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.purpose_id}/{self.channel}: {self.state}"
