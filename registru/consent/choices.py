"""Codes of the consent app. Stored in the ledger and in proofs: add, never rename."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")


class ConsentKind(models.TextChoices):
    """What a ledger event says happened."""

    GRANTED = "granted", _("granted")
    WITHDRAWN = "withdrawn", _("withdrawn")
    REFUSED = "refused", _("refused")
    EXPIRED = "expired", _("expired")


class ConsentMethod(models.TextChoices):
    """How the person expressed it: the core of the evidence (GDPR Art. 7(1))."""

    DOUBLE_OPT_IN = "double_opt_in", _("double opt-in (confirmed by email link)")
    WEB_FORM = "web_form", _("web form")
    PREFERENCE_CENTRE = "preference_centre", _("preference centre")
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("one-click unsubscribe")
    PAPER_FORM = "paper_form", _("paper form (scanned)")
    VERBAL = "verbal", _("verbal, recorded by staff")
    IMPORTED = "imported", _("imported with attestation")
    SYSTEM = "system", _("by the system (expiry)")


class ConsentState(models.TextChoices):
    """Where a person stands for one purpose on one channel."""

    NONE = "none", _("not asked")
    GRANTED = "granted", _("granted")
    WITHDRAWN = "withdrawn", _("withdrawn")
    REFUSED = "refused", _("refused")
    EXPIRED = "expired", _("expired")
