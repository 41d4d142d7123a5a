"""The History tab's filters and exports, the DPO's trail page, and reads recorded as events."""

from __future__ import annotations

import pytest
from django.test import Client

from registru.audit.models import AuditEvent, TrailVerification
from registru.audit.services.checkpoints import create_checkpoint
from registru.audit.services.verification import record_outcome
from registru.people import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(cast):
    person = cast.andrei_person
    services.update_person(person, {"job_title": "Contabil"}, actor=cast.andrei)
    services.update_person(person, {"phones": ["0733 444 555"]}, actor=cast.bob)
    return person


def test_opening_a_person_and_their_history_are_recorded(cast, history, client_for) -> None:
    client = client_for(cast.andrei)
    client.get(f"/people/{history.pk}/")
    client.get(f"/people/{history.pk}/history/")
    reads = AuditEvent.objects.filter(subject_id=history.pk, action__in=["person.viewed", "person.history_viewed"])
    assert {(e.action, e.actor_id, e.channel) for e in reads} == {
        ("person.viewed", cast.andrei.pk, "ui"), ("person.history_viewed", cast.andrei.pk, "ui"),
    }  # fmt: skip


def test_history_filters_by_field_actor_and_channel(cast, history, client_for) -> None:
    client = client_for(cast.andrei)
    by_field = client.get(f"/people/{history.pk}/history/?field=phones").context["events"]
    assert [view.event.action for view in by_field] == ["person.updated", "person.created"]
    assert all("phones" in view.event.fields.split() for view in by_field)
    by_actor = client.get(f"/people/{history.pk}/history/?actor={cast.andrei.pk}").context["events"]
    assert {view.actor for view in by_actor} == {"andrei"}
    assert client.get(f"/people/{history.pk}/history/?channel=api").context["events"] == []


def test_history_hides_reads_unless_asked(cast, history, client_for) -> None:
    client = client_for(cast.andrei)
    client.get(f"/people/{history.pk}/")
    plain = {view.event.action for view in client.get(f"/people/{history.pk}/history/").context["events"]}
    assert "person.viewed" not in plain
    with_reads = client.get(f"/people/{history.pk}/history/?reads=on").context["events"]
    assert "person.viewed" in {view.event.action for view in with_reads}


def test_the_dpo_downloads_a_persons_history_as_pdf_and_it_is_recorded(cast, history, client_for) -> None:
    response = client_for(cast.dora).get(f"/people/{history.pk}/history/export/?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="trail.exported", subject_id=history.pk, actor_id=cast.dora.pk).exists()


def test_an_agent_may_read_history_but_not_export_it(cast, history, client_for) -> None:
    client = client_for(cast.andrei)
    assert client.get(f"/people/{history.pk}/history/").status_code == 200
    assert client.get(f"/people/{history.pk}/history/export/?format=json").status_code == 403
    assert not AuditEvent.objects.filter(action="trail.exported").exists()


def test_the_auditor_starts_at_the_dashboard_and_reads_the_trail_with_its_status(cast, history, client_for) -> None:
    create_checkpoint()
    record_outcome({"finished_at": history.updated_at, "intact": True, "events": 1, "batches": 1, "unsealed": 0})
    client = client_for(cast.audra)
    assert client.get("/")["Location"] == "/dashboard/"
    page = client.get("/audit/?action=person.updated")
    content = page.content.decode()
    assert "intact" in content
    assert {view.event.action for view in page.context["events"]} == {"person.updated"}
    assert client.get("/people/").status_code == 403


def test_the_checkpoint_line_counts_events_as_each_language_does(cast, history, client_for) -> None:
    for title in ("Jurist", "Economist", "Inginer", "Profesor", "Medic"):
        services.update_person(history, {"job_title": title}, actor=cast.andrei)
    checkpoint = create_checkpoint()
    assert checkpoint.events >= 20  # Romanian says "de" from 20 on
    client = client_for(cast.dora)
    english = client.get("/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{checkpoint.events} events," in english
    romanian = client.get("/audit/", HTTP_ACCEPT_LANGUAGE="ro").content.decode()
    assert f"{checkpoint.events} de evenimente," in romanian


def test_the_trail_page_is_for_the_dpo_and_auditors_only(cast, client_for) -> None:
    assert client_for(cast.alice).get("/audit/").status_code == 403
    assert client_for(cast.admin).get("/audit/").status_code == 403
    assert Client().get("/audit/").status_code == 302


def test_verify_now_runs_the_verifier(cast, history, client_for, django_capture_on_commit_callbacks) -> None:
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client_for(cast.dora).post("/audit/verify/")
    finally:
        HUEY.immediate = False
    assert TrailVerification.objects.get().intact


def test_the_trail_export_carries_every_filtered_event(cast, history, client_for) -> None:
    import json

    response = client_for(cast.dora).get("/audit/export/?format=json&action=person.updated")
    trail = json.loads(b"".join(response.streaming_content))
    assert {json.loads(event["canonical"])["action"] for event in trail["events"]} == {"person.updated"}
    assert len(trail["events"]) == 2


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_trail_across_people_keeps_hashes_but_not_their_values(cast, client_for, fmt) -> None:
    """Many people's trail is a bulk view: who, what, when and every hash, no field values;
    one person's trail (their History export) is readable in full."""
    person = cast.alice_person
    email = person.primary_email
    across = b"".join(client_for(cast.dora).get(f"/audit/export/?format={fmt}").streaming_content).decode()
    assert email not in across
    assert "person.created" in across
    one = b"".join(client_for(cast.dora).get(f"/people/{person.pk}/history/export/?format={fmt}").streaming_content)
    assert email in one.decode()


@pytest.mark.parametrize("reader", ["audra", "dora"])
def test_the_trail_page_shows_who_did_what_but_not_peoples_values(cast, history, client_for, reader) -> None:
    """The attack: the auditor (whose role never sees contact or sensitive fields) or the DPO
    reads people's values off the trail page, across people or narrowed to one person and one
    field. The page masks every value of an event about a person, as its exports do."""
    from datetime import date

    services.update_person(history, {"birth_date": date(1980, 5, 17)}, actor=cast.dora)
    client = client_for(getattr(cast, reader))
    for query in (
        "",
        f"?person={history.pk}",
        f"?person={history.pk}&field=birth_date",
        f"?person={history.pk}&field=phones",
    ):
        page = client.get(f"/audit/{query}")
        content = page.content.decode()
        assert page.context["events"], query
        assert "•••" in content, query
        for value in (history.family_name, "+40733444555", "Contabil", "17.05.1980", "17 May 1980", "1980-05-17"):
            assert value not in content, (query, value)
        assert "person.updated" in {view.event.action for view in page.context["events"]}


def test_the_trail_pages_actor_filter_does_not_read_the_whole_trail(cast, history, client_for) -> None:
    """The actors to filter by come from the staff accounts: a DISTINCT over every event would
    cost the DPO a full read of the trail on each page (and export)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(cast.dora)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(f"/audit/?actor={cast.bob.pk}")
    assert {view.actor for view in page.context["events"]} == {cast.bob.label}
    assert (cast.bob.pk, cast.bob.label) in page.context["form"].fields["actor"].choices
    distinct_over_trail = [
        q["sql"] for q in captured.captured_queries if "DISTINCT" in q["sql"] and "audit_auditevent" in q["sql"]
    ]
    assert distinct_over_trail == []


def test_a_date_typed_the_romanian_way_into_a_filter_shows_in_its_date_box(cast, history, client_for) -> None:
    """The browser's date box reads only ISO dates: 31.12.2026 (valid in Romanian) filters, and
    the box shows it, instead of filtering by a date the page does not show."""
    client = client_for(cast.andrei)
    page = client.get(f"/people/{history.pk}/history/?date_from=31.12.2026", HTTP_ACCEPT_LANGUAGE="ro")
    content = page.content.decode()
    assert 'name="date_from" value="2026-12-31"' in content
    assert page.context["events"] == []  # every change so far is before that day
