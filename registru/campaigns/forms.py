"""Forms of the campaign pages: what is asked, of whom, how fast; and marketing mailings."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registru.campaigns.audience import Audience, ConsentCondition
from registru.campaigns.models import Campaign, NonResponders
from registru.consent.choices import ContactChannel
from registru.consent.models import Purpose
from registru.people.choices import Language, OrganizationStatus

CONSENT_CONDITIONS = [
    (ConsentCondition.MISSING, _("people without a valid consent for what is asked")),
    (ConsentCondition.OLDER_THAN, _("people whose consent is older than the months below (ask again)")),
    (ConsentCondition.ANY, _("everyone who may be asked")),
]
DEFAULT_BODY_RO = (
    "Bună ziua, {name},\n\nVă rugăm să ne spuneți dacă doriți să primiți mesaje de la noi. "
    "Deschideți linkul de mai jos, citiți pentru ce vă cerem acordul și bifați doar ce doriți:\n\n{link}\n"
)
DEFAULT_BODY_EN = (
    "Hello {name},\n\nPlease tell us whether you would like to hear from us. Open the link below, "
    "read what we ask your consent for, and tick only what you want:\n\n{link}\n"
)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    purposes = forms.ModelMultipleChoiceField(
        label=_("Purposes asked"), queryset=Purpose.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels asked"), choices=ContactChannel.choices, widget=forms.CheckboxSelectMultiple,
        initial=[ContactChannel.EMAIL],
    )  # fmt: skip
    consent = forms.ChoiceField(label=_("Who is asked"), choices=CONSENT_CONDITIONS, initial=ConsentCondition.MISSING)
    months = forms.IntegerField(label=_("Consent older than (months)"), min_value=1, max_value=240, initial=24)
    organization_status = forms.ChoiceField(
        label=_("Organization status"), required=False,
        choices=[("", _("any (or no organization)")), *OrganizationStatus.choices],
    )  # fmt: skip
    language = forms.ChoiceField(label=_("Language"), required=False, choices=[("", _("both")), *Language.choices])
    subject_ro = forms.CharField(label=_("Subject (Romanian)"), max_length=200)
    body_ro = forms.CharField(
        label=_("Message (Romanian)"), widget=forms.Textarea(attrs={"rows": 6}), initial=DEFAULT_BODY_RO,
        help_text=_("{name} becomes the person's given name, {link} their personal link "
                    "(added at the end if missing)."),
    )  # fmt: skip
    subject_en = forms.CharField(label=_("Subject (English)"), max_length=200)
    body_en = forms.CharField(
        label=_("Message (English)"), widget=forms.Textarea(attrs={"rows": 6}), initial=DEFAULT_BODY_EN
    )
    starts_at = forms.DateTimeField(
        label=_("Start"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("The first wave goes out then (or at once, if that time has passed when you start)."),
    )  # fmt: skip
    wave_size = forms.IntegerField(label=_("Invitations per hour (wave size)"), min_value=1, max_value=100_000,
                                   initial=500)  # fmt: skip
    reminders = forms.IntegerField(label=_("Reminders"), min_value=0, max_value=5, initial=1)
    reminder_days = forms.IntegerField(label=_("Days between reminders"), min_value=1, max_value=60, initial=7)
    valid_days = forms.IntegerField(label=_("The link is valid for (days)"), min_value=1, max_value=365, initial=30)
    non_responders = forms.ChoiceField(
        label=_("People who do not answer"), choices=NonResponders.choices, initial=NonResponders.NOTHING
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, campaign: Campaign | None = None, **kwargs: Any) -> None:
        if campaign is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(campaign)
        super().__init__(*args, **kwargs)
        self.fields["purposes"].queryset = Purpose.objects.filter(active=True).order_by("code")  # type: ignore[attr-defined]
        if campaign is None:
            self.fields["starts_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    @staticmethod
    def initial_from(campaign: Campaign) -> dict[str, Any]:
        audience = Audience.load(campaign.audience)
        return {
            "name": campaign.name, "purposes": list(campaign.purposes.all()), "channels": campaign.channels,
            "consent": audience.consent, "months": audience.months,
            "organization_status": audience.organization_status, "language": audience.language,
            "subject_ro": campaign.subject_ro, "body_ro": campaign.body_ro, "subject_en": campaign.subject_en,
            "body_en": campaign.body_en, "starts_at": timezone.localtime(campaign.starts_at),
            "wave_size": campaign.wave_size, "reminders": campaign.reminders,
            "reminder_days": campaign.reminder_days, "valid_days": campaign.valid_days,
            "non_responders": campaign.non_responders, "version": campaign.version,
        }  # fmt: skip

    def audience(self) -> Audience:
        data = self.cleaned_data
        return Audience(
            consent=data["consent"], months=data["months"] or 24,
            organization_status=data.get("organization_status") or "", language=data.get("language") or "",
        )  # fmt: skip

    def values(self) -> dict[str, Any]:
        """The campaign's fields as the services take them."""
        data = self.cleaned_data
        plain = ("name", "subject_ro", "body_ro", "subject_en", "body_en", "starts_at", "wave_size", "reminders",
                 "reminder_days", "valid_days", "non_responders")  # fmt: skip
        return {name: data[name] for name in plain} | {
            "channels": list(data["channels"]),
            "audience": self.audience().dump(),
        }


class AudiencePreviewForm(forms.Form):
    """The part of the campaign form that decides the audience (for the live count)."""

    purposes = forms.ModelMultipleChoiceField(queryset=Purpose.objects.filter(active=True), required=False)
    channels = forms.MultipleChoiceField(choices=ContactChannel.choices, required=False)
    consent = forms.ChoiceField(choices=CONSENT_CONDITIONS)
    months = forms.IntegerField(min_value=1, max_value=240, required=False)
    organization_status = forms.ChoiceField(choices=[("", ""), *OrganizationStatus.choices], required=False)
    language = forms.ChoiceField(choices=[("", ""), *Language.choices], required=False)

    def audience(self) -> Audience:
        data = self.cleaned_data
        return Audience(
            consent=data["consent"], months=data.get("months") or 24,
            organization_status=data.get("organization_status") or "", language=data.get("language") or "",
        )  # fmt: skip


class MailingForm(forms.Form):
    purpose = forms.ModelChoiceField(
        label=_("Purpose"), queryset=Purpose.objects.none(), empty_label=_("Choose a purpose"),
        help_text=_("Only people with a valid consent for this purpose by email receive it."),
    )  # fmt: skip
    subject_ro = forms.CharField(label=_("Subject (Romanian)"), max_length=200)
    body_ro = forms.CharField(label=_("Message (Romanian)"), widget=forms.Textarea(attrs={"rows": 8}))
    subject_en = forms.CharField(label=_("Subject (English)"), max_length=200)
    body_en = forms.CharField(label=_("Message (English)"), widget=forms.Textarea(attrs={"rows": 8}))
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        by_email = [purpose.pk for purpose in Purpose.objects.filter(active=True) if "email" in purpose.channels]
        self.fields["purpose"].queryset = Purpose.objects.filter(pk__in=by_email).order_by("code")  # type: ignore[attr-defined]
