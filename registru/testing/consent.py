"""Purposes with notices in both languages, and campaigns, made through the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from registru.campaigns import services as campaigns
from registru.campaigns.models import Campaign
from registru.consent import services as consent
from registru.consent.models import Purpose
from registru.testing.factories import SETUP

NOTICES = {
    "newsletter": ("Buletin informativ", "Newsletter", ["email"]),
    "offers": ("Oferte comerciale", "Commercial offers", ["email", "sms"]),
    "events": ("Invitații la evenimente", "Event invitations", ["email"]),
}


def make_purposes() -> dict[str, Purpose]:
    made = {}
    for code, (name_ro, name_en, channels) in NOTICES.items():
        purpose = Purpose.objects.create(code=code, name_ro=name_ro, name_en=name_en, channels=channels)
        consent.publish_notice(purpose, "ro", f"Vă trimitem {name_ro.lower()} cel mult lunar. Vă puteți retrage oricând.",  # noqa: E501
                               actor=SETUP)  # fmt: skip
        consent.publish_notice(purpose, "en", f"We send you {name_en.lower()} at most monthly. Withdraw at any time.",
                               actor=SETUP)  # fmt: skip
        made[code] = purpose
    return made


def make_campaign(purposes: list[Purpose], *, actor: Any = SETUP, **overrides: Any) -> Campaign:
    values = {
        "name": "Acord 2026", "channels": ["email"], "audience": {"consent": "missing"},
        "subject_ro": "Vă rugăm să ne spuneți", "body_ro": "Bună ziua, {name}! Alegeți aici: {link}",
        "subject_en": "Please tell us", "body_en": "Hello {name}! Choose here: {link}",
        "starts_at": timezone.now() - timedelta(minutes=1), "wave_size": 500, "reminders": 1,
        "reminder_days": 7, "valid_days": 30, "non_responders": "nothing",
    } | overrides  # fmt: skip
    return campaigns.create_campaign(values, purposes, actor=actor)
