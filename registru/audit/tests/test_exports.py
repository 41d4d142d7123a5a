"""Exports of the trail: readable PDF (checked with pdftotext), JSON an outsider re-verifies
with scripts/verify-trail.py, CSV without live formulas; each export is itself recorded."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from registru.audit.models import AuditEvent
from registru.audit.services.checkpoints import create_checkpoint
from registru.audit.services.exporting import export_trail
from registru.audit.signing import public_bytes, signing_key
from registru.people import services
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db
VERIFIER = Path(__file__).resolve().parents[3] / "scripts" / "verify-trail.py"


@pytest.fixture
def person(cast):
    person = PersonFactory(given_name="Ștefan", family_name="Țăranu", phones=["0722 111 222"], owner=cast.alice)
    services.update_person(person, {"job_title": '=HYPERLINK("http://x")', "city": "Brăila"}, actor=cast.alice)
    create_checkpoint()
    services.update_person(person, {"city": "Galați"}, actor=cast.alice)  # one event after the checkpoint
    return person


def run_verifier(path: Path, *keys: str) -> subprocess.CompletedProcess[str]:
    """The outside verifier, given the installation's public key (as an auditor keeps it)."""
    trusted = keys or (public_bytes(signing_key().public_key()).hex(),)
    pinned = [argument for key in trusted for argument in ("--public-key", key)]
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(path), *pinned], capture_output=True, text=True, check=False
    )


def test_the_json_export_verifies_outside_registru(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    result = run_verifier(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stdout
    assert "Țăranu" in json.loads(out.read_text())["events"][0]["readable"]["family_name"][1]


def test_the_outside_verifier_finds_an_edited_export(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    trail = json.loads(out.read_text())
    trail["events"][1]["canonical"] = trail["events"][1]["canonical"].replace("Alice Anghel", "Bob Barbu")
    out.write_text(json.dumps(trail, ensure_ascii=False))
    result = run_verifier(out)
    assert result.returncode == 1
    assert f"event {trail['events'][1]['id']}: its bytes do not match" in result.stdout


def pdf_text(path: Path) -> str:
    """The text of a PDF, as poppler's pdftotext reads it (skipped, or failed in CI, without it)."""
    if shutil.which("pdftotext") is None:
        if os.environ.get("REGISTRU_REQUIRE_PDFTOTEXT"):
            pytest.fail("pdftotext is required (REGISTRU_REQUIRE_PDFTOTEXT) but not installed")
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF text test is skipped")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_pdf_reads_in_romanian_with_diacritics_and_page_numbers(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.pdf"
    export_trail(person_id=person.pk, fmt="pdf", path=out, actor=SETUP, language="ro")
    text = pdf_text(out)
    assert "Țăranu" in text
    assert "Brăila" in text
    assert "Pagina 1 din" in text
    assert "Alice Anghel (alice)" in text
    assert "Punct de control semnat" in text


def test_the_csv_neutralises_formulas(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.csv"
    export_trail(person_id=person.pk, fmt="csv", path=out, actor=SETUP)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    titles = [row["new"] for row in rows if row["field"] == "job_title"]
    assert titles == ['\'=HYPERLINK("http://x")']


def test_an_export_is_an_audit_event(person, tmp_path: Path) -> None:
    export_trail(person_id=person.pk, fmt="csv", path=tmp_path / "t.csv", actor=SETUP)
    event = AuditEvent.objects.filter(action="trail.exported").get()
    assert (event.subject_id, event.reason) == (person.pk, f"CSV, {event.reason.split(', ')[1]}")


def test_the_command_exports_and_refuses_an_unknown_person(person, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "audit", "export", "--person", str(person.pk), "--format", "json", "--out", str(tmp_path / "x.json"), stdout=out
    )
    assert "events written" in out.getvalue()
    from django.core.management import CommandError

    with pytest.raises(CommandError) as error:
        call_command("audit", "export", "--person", "999999", "--format", "json", "--out", str(tmp_path / "y.json"))
    assert error.value.returncode == 2


def test_a_checkpoint_is_mailed_to_the_dpo_through_smtp(person, settings) -> None:
    from registru.audit.services.checkpoints import mail_to_dpo
    from registru.audit.signing import Checkpoint
    from registru.testing.smtp import smtp_server

    with smtp_server() as (inbox, port):
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port},
            }
        }
        stored = create_checkpoint()
        assert mail_to_dpo(stored) == 1
    [message] = inbox.messages
    assert message["To"] == "dora@firma.test"
    body = bytes(message.get_payload(decode=True)).decode()
    assert Checkpoint.from_file(body[body.index("{") :]).signature_valid()


def test_a_pdf_across_people_masks_their_values_and_reads_every_kind_of_value(person, cast, tmp_path: Path) -> None:
    """The whole trail as PDF: people's values are •••; an event about no one, whose value is
    a structure of its own (an export request's filters), reads as text."""
    from django.db import transaction

    from registru.audit.actions import AuditAction
    from registru.audit.services import record
    from registru.core.context import service_scope

    with transaction.atomic(), service_scope():
        filters = {"query": False, "status": "customer", "owner_id": None}
        record(
            AuditAction.EXPORT_REQUESTED, actor=cast.dora, target=cast.alice_org, changes={"filter": (None, filters)}
        )
    out = tmp_path / "trail.pdf"
    export_trail(person_id=None, fmt="pdf", path=out, actor=SETUP, language="ro")
    text = pdf_text(out)
    assert "status: customer" in text
    assert "•••" in text
    for value in ("Țăranu", "Brăila", "Galați", "+40722111222"):
        assert value not in text


def test_the_outside_verifier_needs_a_trusted_key(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    result = subprocess.run([sys.executable, str(VERIFIER), str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 2


def test_the_outside_verifier_refuses_a_checkpoint_of_another_key(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    stranger = public_bytes(Ed25519PrivateKey.generate().public_key()).hex()
    result = run_verifier(out, stranger)
    assert (result.returncode, "did not name as trusted" in result.stdout) == (1, True)


def test_the_outside_verifier_fails_an_export_with_no_checkpoint(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    trail = json.loads(out.read_text())
    trail["checkpoint"] = None
    out.write_text(json.dumps(trail, ensure_ascii=False))
    result = run_verifier(out)
    assert (result.returncode, "no signed checkpoint" in result.stdout) == (1, True)


def test_the_outside_verifier_fails_events_the_checkpoint_does_not_cover(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    trail = json.loads(out.read_text())
    statement = json.loads(trail["checkpoint"]["statement"])
    assert all(event["id"] <= statement["last_event_id"] for event in trail["events"])  # the export signed first
    trail["events"][-1]["id"] = statement["last_event_id"] + 5
    out.write_text(json.dumps(trail, ensure_ascii=False))
    assert "not covered" in run_verifier(out).stdout


def test_the_outside_verifier_fails_a_renumbered_chain(person, tmp_path: Path) -> None:
    out = tmp_path / "trail.json"
    export_trail(person_id=person.pk, fmt="json", path=out, actor=SETUP)
    trail = json.loads(out.read_text())
    trail["batches"] = trail["batches"][1:]  # the first batch left out: the chain starts elsewhere
    out.write_text(json.dumps(trail, ensure_ascii=False))
    assert run_verifier(out).returncode == 1


def test_a_checked_export_holds_the_columns_to_the_hashed_bytes(person, tmp_path: Path) -> None:
    from django.db import connection

    from registru.audit.tests.test_tamper import disable_the_audit_triggers

    disable_the_audit_triggers()
    event_id = AuditEvent.objects.filter(subject_id=person.pk).order_by("id").values_list("id", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor_label = 'Maria Forger' WHERE id = %s", [event_id])
    proof = export_trail(person_id=person.pk, fmt="csv", path=tmp_path / "trail.csv", actor=SETUP)
    assert (proof.ok, any(str(event_id) in failure for failure in proof.failures)) == (False, True)
