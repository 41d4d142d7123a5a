"""The demo a newcomer starts with `make run`: a consent campaign already under way, its first
wave in the Outbox with links that open."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from registru.accounts.models import User
from registru.campaigns.models import Campaign, CampaignStatus
from registru.conftest import login
from registru.consent.models import Notice, Purpose
from registru.mail.models import OutboundMessage

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_campaign_whose_links_open_from_the_outbox(settings) -> None:
    settings.MAIL_TRANSPORT = "mailbox"
    call_command("demo", people=12, stdout=None)
    call_command("demo", people=12, stdout=None)  # again: nothing doubles
    assert Purpose.objects.count() == 3
    assert set(Notice.objects.values_list("language", flat=True)) == {"ro", "en"}
    assert sorted(Campaign.objects.values_list("status", flat=True)) == [CampaignStatus.DRAFT, CampaignStatus.RUNNING]
    invitation = OutboundMessage.objects.filter(kind="invitation").first()
    assert invitation is not None
    admin = login(User.objects.get(username="admin"))
    page = admin.get(f"/outbox/{invitation.pk}/").content.decode()
    link = re.search(r"https?://[^\s\"<]+(/p/i/[^\s\"<]+)", page)
    assert link, "the message page shows the consent link"
    assert Client().get(link.group(1)).status_code == 200
    # The yearly data check has asked the partners' people too.
    request = OutboundMessage.objects.filter(idempotency_key__startswith="questionnaire:").first()
    assert request is not None
    page = admin.get(f"/outbox/{request.pk}/").content.decode()
    link = re.search(r"https?://[^\s\"<]+(/p/q/[^\s\"<]+)", page)
    assert link, "the message page shows the questionnaire link"
    assert Client().get(link.group(1)).status_code == 200


def test_the_demo_has_birth_dates_a_manager_reveals_as_the_readme_says(settings) -> None:
    """README: as bob, a record's Reveal form shows a birth date once, for a reason."""
    from django.utils import formats, translation

    from registru.audit.models import AuditEvent
    from registru.people.models import Person

    settings.MAIL_TRANSPORT = "mailbox"
    call_command("demo", people=12, stdout=None)
    bob = login(User.objects.get(username="bob"))
    person = next(p for p in Person.objects.exclude(birth_date=None) if bob.get(f"/people/{p.pk}/").status_code == 200)
    page = bob.get(f"/people/{person.pk}/")
    assert person.birth_date is not None
    with translation.override(page.wsgi_request.LANGUAGE_CODE):
        shown = formats.date_format(person.birth_date, "SHORT_DATE_FORMAT")
    assert shown not in page.content.decode()
    revealed = bob.post(f"/people/{person.pk}/reveal/", {"group": "birth_date", "reason": "verificare identitate"})
    assert shown in revealed.content.decode()
    assert AuditEvent.objects.filter(action="person.field_revealed", subject_id=person.pk).exists()


def test_make_run_serves_on_the_port_it_is_given_and_the_demo_links_point_there() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[3]
    env = {"PATH": "/usr/bin:/bin"}
    dry_run = subprocess.run(
        [make, "-n", "-C", str(root), "run", "PORT=8765"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "registru serve --port 8765" in dry_run
    assert 'REGISTRU_PUBLIC_URL="${REGISTRU_PUBLIC_URL:-http://127.0.0.1:8765}"' in dry_run
