"""The nightly verification checks the live records against the trail, and the DPO sees a
record changed outside Registru on the dashboard and on the trail page."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from registru.audit.models import TrailVerification
from registru.audit.services.checkpoints import create_checkpoint
from registru.audit.services.verification import run_verification
from registru.audit.tasks import nightly_checkpoint
from registru.conftest import Cast, login

pytestmark = pytest.mark.django_db


def change_a_phone_around_registru(person_id: int) -> None:
    """As an attacker with database access does: open the guard, then UPDATE."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('registru.audit_context', 'on', true)")
        else:
            cursor.execute('DROP TRIGGER "registru_guard_people_person_update"')
        cursor.execute("UPDATE people_person SET phones = '[\"+40799000000\"]' WHERE id = %s", [person_id])


def text_of(html: str, name: str) -> str:
    found = re.search(rf'data-item="{name}">(.*?)</(?:li|div)>', html, re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


def dashboard(cast: Cast) -> str:
    return login(cast.dora).get("/dashboard/").content.decode()


def trail_page(cast: Cast) -> str:
    return login(cast.dora).get("/audit/").content.decode()


def test_the_nightly_check_records_the_live_records_as_bound(cast: Cast) -> None:
    nightly_checkpoint.call_local()
    verification = TrailVerification.objects.get()
    # Three people, two organizations, two affiliations.
    assert (verification.state_records, verification.state_findings, verification.state_uncommitted) == (7, 0, 0)
    assert text_of(dashboard(cast), "live-data-changed") == ""
    assert "as the trail says" in text_of(trail_page(cast), "live-state")


def test_the_dpo_sees_a_record_changed_outside_registru(cast: Cast) -> None:
    create_checkpoint()
    change_a_phone_around_registru(cast.alice_person.pk)
    verification = run_verification()
    assert verification.intact  # the trail itself is untouched
    assert verification.state_findings == 1
    assert text_of(dashboard(cast), "live-data-changed") == (
        "The last verification found 1 record changed outside Registru."
    )
    assert f"people.person {cast.alice_person.pk}: changed outside Registru (fields: phones)" in text_of(
        trail_page(cast), "live-state"
    )
