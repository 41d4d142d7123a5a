"""The consent ledger: append-only events with evidence, a derived current state, audit events,
encrypted evidence, expiry, and the gate's question."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from registru.audit.models import AuditEvent
from registru.consent import services
from registru.consent.choices import ConsentKind, ConsentMethod
from registru.consent.models import Consent, ConsentEvent, Notice, Purpose
from registru.consent.selectors import has_valid_consent
from registru.people import services as people
from registru.testing.factories import SETUP, plain

pytestmark = pytest.mark.django_db
EVIDENCE = services.Evidence(ip="192.0.2.7", user_agent="Mozilla/5.0 (Android 14)")


@pytest.fixture
def newsletter(cast) -> Purpose:
    purpose = Purpose.objects.create(code="newsletter", name_ro="Buletin informativ", name_en="Newsletter",
                                     channels=["email", "sms"], validity_days=730)  # fmt: skip
    services.publish_notice(purpose, "ro", "Vă trimitem lunar noutăți despre produsele noastre.", actor=SETUP)
    return purpose


def notice_of(purpose: Purpose) -> Notice:
    return purpose.notices.get(language="ro")


def test_a_grant_is_recorded_with_its_evidence_state_and_audit_event(cast, newsletter) -> None:
    person = cast.alice_person
    event = services.grant_consent(person, newsletter, "email", actor=SETUP, method=ConsentMethod.DOUBLE_OPT_IN,
                                   notice=notice_of(newsletter), evidence=EVIDENCE)  # fmt: skip
    consent = Consent.objects.get(person=person, purpose=newsletter, channel="email")
    assert (consent.state, consent.notice_hash) == ("granted", notice_of(newsletter).text_hash)
    assert consent.expires_at is not None
    assert "192.0.2.7" not in str(event.evidence)  # encrypted under the person's key
    audit = AuditEvent.objects.get(action="consent.granted", subject_id=person.pk)
    assert plain(audit) == {"newsletter/email": ["none", "granted"]}
    assert has_valid_consent(person.pk, "newsletter", "email")
    assert not has_valid_consent(person.pk, "newsletter", "sms")


def test_a_withdrawal_appends_and_closes_the_gate(cast, newsletter) -> None:
    person = cast.alice_person
    services.grant_consent(
        person, newsletter, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=notice_of(newsletter)
    )
    services.withdraw_consent(person, newsletter, "email", actor=SETUP, method=ConsentMethod.UNSUBSCRIBE_LINK)
    assert list(ConsentEvent.objects.filter(person=person).order_by("id").values_list("kind", flat=True)) == [
        "granted",
        "withdrawn",
    ]
    assert not has_valid_consent(person.pk, "newsletter", "email")


def test_a_grant_needs_the_notice_the_person_saw(cast, newsletter) -> None:
    with pytest.raises(ValidationError):
        services.grant_consent(cast.alice_person, newsletter, "email", actor=SETUP, method=ConsentMethod.VERBAL)
    assert not ConsentEvent.objects.exists()


def test_an_import_needs_an_attestation(cast, newsletter) -> None:
    with pytest.raises(ValidationError):
        services.grant_consent(cast.alice_person, newsletter, "email", actor=SETUP, method=ConsentMethod.IMPORTED)
    services.grant_consent(cast.alice_person, newsletter, "email", actor=SETUP, method=ConsentMethod.IMPORTED,
                           evidence=services.Evidence(attestation="Formulare târg 2025, dosar 12"))  # fmt: skip
    assert has_valid_consent(cast.alice_person.pk, "newsletter", "email")


def test_a_channel_the_purpose_does_not_use_is_refused(cast, newsletter) -> None:
    with pytest.raises(ValidationError):
        services.grant_consent(
            cast.alice_person,
            newsletter,
            "post",
            actor=SETUP,
            method=ConsentMethod.WEB_FORM,
            notice=notice_of(newsletter),
        )


def test_consents_expire_after_the_purposes_validity(cast, newsletter) -> None:
    services.grant_consent(
        cast.alice_person, newsletter, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=notice_of(newsletter)
    )
    assert services.expire_consents(timezone.now() + timedelta(days=731)) == 1
    assert Consent.objects.get(person=cast.alice_person).state == "expired"
    assert not has_valid_consent(cast.alice_person.pk, "newsletter", "email")


def test_restricted_and_erased_people_never_pass_the_gate(cast, newsletter) -> None:
    person = cast.alice_person
    services.grant_consent(
        person, newsletter, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=notice_of(newsletter)
    )
    people.erase_person(person, actor=cast.dora, reason="art. 17")
    assert not has_valid_consent(person.pk, "newsletter", "email")


def test_a_used_notice_is_never_changed_a_new_version_is_published(cast, newsletter) -> None:
    first = notice_of(newsletter)
    services.grant_consent(
        cast.alice_person, newsletter, "email", actor=SETUP, method=ConsentMethod.WEB_FORM, notice=first
    )
    second = services.publish_notice(newsletter, "ro", "Text nou, cu alte detalii.", actor=SETUP)
    assert (second.version, Notice.objects.get(pk=first.pk).text) == (2, first.text)
    assert Consent.objects.get(person=cast.alice_person).notice_hash == first.text_hash
    assert ConsentEvent.objects.get().kind == ConsentKind.GRANTED
