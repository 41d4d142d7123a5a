"""Choices of the people app. Values are stored and exported: add, never rename."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    PARTNER = "partner", _("Partner")
    SUPPLIER = "supplier", _("Supplier")


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RESTRICTED = "restricted", _("Restricted")  # GDPR Art. 18: kept, not processed
    ERASED = "erased", _("Erased")


class RestrictionGround(models.TextChoices):
    """Why processing of a person's data is restricted: the four cases of GDPR Art. 18(1)."""

    ACCURACY_CONTESTED = "accuracy_contested", _("Accuracy contested, while it is verified (Art. 18(1)(a))")
    UNLAWFUL_PROCESSING = "unlawful_processing", _("Unlawful processing, erasure opposed (Art. 18(1)(b))")
    LEGAL_CLAIMS = "legal_claims", _("Needed by the person for legal claims (Art. 18(1)(c))")
    OBJECTION_PENDING = "objection_pending", _("Objection pending verification (Art. 18(1)(d))")


class Source(models.TextChoices):
    FORM = "form", _("Web form")
    IMPORT = "import", _("Import")
    BUSINESS_CARD = "business_card", _("Business card")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    PHONE = "phone", _("Phone call")
    EMAIL = "email", _("Email")
    OTHER = "other", _("Other")


class LawfulBasis(models.TextChoices):
    """GDPR Art. 6(1) bases for holding a person's data."""

    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")


class Language(models.TextChoices):
    ROMANIAN = "ro", _("Romanian")
    ENGLISH = "en", _("English")


class NoteKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
