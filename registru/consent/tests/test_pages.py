"""The staff pages of consent: purposes and notices (the DPO), a person's consents with the ledger
and what staff collected themselves, and the proof bundle (JSON and a readable PDF)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from registru.audit.models import AuditEvent
from registru.conftest import login
from registru.consent import services as consent
from registru.consent.choices import ConsentKind, ConsentMethod, ConsentState
from registru.consent.models import Consent, ConsentEvent, Notice, Purpose
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db


def ledger_size() -> tuple[int, int]:
    return ConsentEvent.objects.count(), Consent.objects.count()


# Purposes and notices ----------------------------------------------------------------------


def test_the_dpo_adds_a_purpose_and_publishes_its_notices(cast) -> None:
    dpo = login(cast.dora)
    response = dpo.post("/consent/purposes/new/", {
        "code": "surveys", "name_ro": "Sondaje", "name_en": "Surveys", "lawful_basis": "consent",
        "channels": ["email", "phone"], "validity_days": "730", "is_marketing": "on", "active": "on",
    })  # fmt: skip
    purpose = Purpose.objects.get(code="surveys")
    assert response.status_code == 302
    assert (purpose.channels, purpose.validity_days) == (["email", "phone"], 730)
    text = "Vă întrebăm părerea de cel mult două ori pe an."
    for _ in range(2):  # the same text twice publishes one version
        dpo.post(f"/consent/purposes/{purpose.pk}/notices/", {"language": "ro", "text": text})
    dpo.post(f"/consent/purposes/{purpose.pk}/notices/", {"language": "ro", "text": text + " Oricând vă retrageți."})
    versions = list(Notice.objects.filter(purpose=purpose).order_by("version").values_list("version", "text"))
    assert versions == [(1, text), (2, text + " Oricând vă retrageți.")]
    page = dpo.get(f"/consent/purposes/{purpose.pk}/").content.decode()
    assert text in page
    assert "Oricând vă retrageți" in page


def test_a_purpose_code_never_changes(cast, purposes) -> None:
    purpose = purposes["newsletter"]
    login(cast.dora).post(f"/consent/purposes/{purpose.pk}/edit/", {
        "code": "renamed", "name_ro": "Noutăți", "name_en": "News", "lawful_basis": "consent", "channels": ["email"],
    })  # fmt: skip
    purpose.refresh_from_db()
    assert (purpose.code, purpose.name_ro) == ("newsletter", "Noutăți")


@pytest.mark.parametrize("user", ["alice", "bob", "mara", "audra", "admin"])
def test_only_the_dpo_manages_purposes(cast, purposes, user) -> None:
    client = login(getattr(cast, user))
    assert client.get("/consent/purposes/").status_code == 403
    response = client.post(f"/consent/purposes/{purposes['events'].pk}/notices/", {"language": "ro", "text": "Alt."})
    assert response.status_code == 403
    assert purposes["events"].notices.count() == 2


# A person's consents -----------------------------------------------------------------------


def record(client, person, **values) -> int:
    data = {"purpose": "", "channel": "email", "kind": "granted", "method": "paper_form", "notice": "latest",
            "attestation": "", "note": ""} | values  # fmt: skip
    return client.post(f"/consent/people/{person.pk}/", data).status_code


def test_an_agent_records_a_consent_on_paper_with_its_scan_reference(cast, purposes) -> None:
    person = cast.alice_person
    status = record(login(cast.alice), person, purpose=purposes["newsletter"].pk, attestation="Scan 2026/114")
    assert status == 302
    event = ConsentEvent.objects.get(person=person)
    assert (event.kind, event.method) == (ConsentKind.GRANTED, ConsentMethod.PAPER_FORM)
    assert event.notice == purposes["newsletter"].notices.get(language=person.preferred_language)
    assert Consent.objects.get(person=person).state == ConsentState.GRANTED
    page = login(cast.alice).get(f"/consent/people/{person.pk}/").content.decode()
    assert "Newsletter" in page  # the ledger lists it (the page speaks the browser's English)


def test_a_paper_consent_without_its_scan_reference_records_nothing(cast, purposes) -> None:
    before = ledger_size()
    status = record(login(cast.alice), cast.alice_person, purpose=purposes["newsletter"].pk, attestation="")
    assert status == 200
    assert ledger_size() == before


def test_another_agent_s_person_is_not_found_and_nothing_is_recorded(cast, purposes) -> None:
    before = ledger_size()
    carol_person = cast.carol_person
    alice = login(cast.alice)
    assert alice.get(f"/consent/people/{carol_person.pk}/").status_code == 404
    assert record(alice, carol_person, purpose=purposes["newsletter"].pk, attestation="Scan 1") == 404
    assert ledger_size() == before


# The proof bundle --------------------------------------------------------------------------


@pytest.fixture
def consented(cast, purposes):
    person = cast.alice_person
    newsletter = purposes["newsletter"]
    notice = newsletter.notices.get(language=person.preferred_language)
    evidence = consent.Evidence(ip="192.0.2.7", user_agent="Firefox 140")
    consent.grant_consent(person, newsletter, "email", actor=SETUP, method=ConsentMethod.DOUBLE_OPT_IN,
                          notice=notice, evidence=evidence)  # fmt: skip
    consent.withdraw_consent(person, newsletter, "email", actor=SETUP, method=ConsentMethod.UNSUBSCRIBE_LINK)
    consent.grant_consent(person, purposes["events"], "email", actor=SETUP, method=ConsentMethod.VERBAL,
                          notice=purposes["events"].notices.get(language=person.preferred_language))  # fmt: skip
    return person


def test_the_json_proof_shows_each_consent_with_its_evidence_and_notice_text(cast, consented) -> None:
    response = login(cast.dora).get(f"/consent/people/{consented.pk}/proof.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    bundle = json.loads(response.content)
    ledger = list(ConsentEvent.objects.filter(person=consented).order_by("id"))
    assert [event["id"] for event in bundle["events"]] == [event.pk for event in ledger]
    assert [event["kind"] for event in bundle["events"]] == ["granted", "withdrawn", "granted"]
    assert bundle["events"][0]["evidence"]["ip"] == "192.0.2.7"
    assert {(c["purpose"], c["state"]) for c in bundle["consents"]} == {("newsletter", "withdrawn"),
                                                                       ("events", "granted")}  # fmt: skip
    texts = {notice["text"] for notice in bundle["notices"]}
    assert "Vă trimitem buletin informativ cel mult lunar. Vă puteți retrage oricând." in texts
    assert bundle["verification"]["notice_hashes_verified"] is True
    downloads = AuditEvent.objects.filter(action="consent.proof_exported", subject_id=consented.pk)
    assert downloads.count() == 1


def test_a_notice_text_altered_in_the_database_shows_in_the_proof(cast, consented) -> None:
    notice = ConsentEvent.objects.filter(person=consented).earliest("id").notice
    assert notice is not None
    with connection.cursor() as cursor:  # someone with database access "improves" the wording
        cursor.execute("UPDATE consent_notice SET text = %s WHERE id = %s", ["Altceva.", notice.pk])
    bundle = json.loads(login(cast.dora).get(f"/consent/people/{consented.pk}/proof.json").content)
    assert bundle["verification"]["notice_hashes_verified"] is False
    altered = next(row for row in bundle["notices"] if row["id"] == notice.pk)
    assert altered["hash_verified"] is False


@pytest.mark.parametrize("user", ["alice", "mara", "audra"])
def test_the_proof_is_for_the_dpo_and_managers_only(cast, consented, user) -> None:
    client = login(getattr(cast, user))
    assert client.get(f"/consent/people/{consented.pk}/proof.json").status_code == 403
    assert client.get(f"/consent/people/{consented.pk}/proof.pdf").status_code == 403
    assert not AuditEvent.objects.filter(action="consent.proof_exported").exists()


def test_a_manager_gets_no_proof_of_a_person_outside_the_team(cast, consented) -> None:
    assert login(cast.bob).get(f"/consent/people/{cast.carol_person.pk}/proof.json").status_code == 404
    assert login(cast.bob).get(f"/consent/people/{consented.pk}/proof.json").status_code == 200


def test_the_pdf_proof_reads_in_romanian_with_the_notice_text(cast, consented, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        if os.environ.get("REGISTRU_REQUIRE_PDFTOTEXT"):
            pytest.fail("pdftotext is required (REGISTRU_REQUIRE_PDFTOTEXT) but not installed")
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF text test is skipped")
    response = login(cast.dora).get(f"/consent/people/{consented.pk}/proof.pdf", HTTP_ACCEPT_LANGUAGE="ro")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    pdf = tmp_path / "proof.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "Ștefănescu" in flat
    assert "Vă trimitem buletin informativ cel mult lunar." in flat
    assert "192.0.2.7" in flat
    assert "Pagina 1 din" in flat
