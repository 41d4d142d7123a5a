"""The History tab's and the trail page's filters: a wrong one says so next to it and shows no
events that would pass for its result; an empty answer says whether the filters left nothing.
"""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from registru.audit.forms import HistoryFilterForm, TrailFilterForm
from registru.audit.models import AuditEvent
from registru.people import services

pytestmark = pytest.mark.django_db

REVERSED = "date_from=2026-02-01&date_to=2026-01-01"


@pytest.fixture
def history(cast):
    person = cast.andrei_person
    services.update_person(person, {"phones": ["0733 444 555"]}, actor=cast.andrei)
    return person


def test_a_wrong_date_is_an_error_beside_it_and_shows_no_events(cast, history, client_for) -> None:
    page = client_for(cast.andrei).get(f"/people/{history.pk}/history/?field=phones&date_from=31.12.2026")
    assert list(page.context["form"].errors) == ["date_from"]
    assert 'id="id_date_from_errors"' in page.content.decode()
    assert page.context["events"] == []
    assert "Nothing is shown until the filters above are corrected." in page.content.decode()


def test_a_reversed_date_range_is_an_error_not_an_empty_history(cast, history, client_for) -> None:
    page = client_for(cast.andrei).get(f"/people/{history.pk}/history/?{REVERSED}")
    content = page.content.decode()
    assert "This date is before the start date" in content
    assert "Nothing recorded yet." not in content


def test_filters_that_match_nothing_say_so(cast, history, client_for) -> None:
    content = client_for(cast.andrei).get(f"/people/{history.pk}/history/?channel=api").content.decode()
    assert "Nothing matches these filters." in content
    assert "Nothing recorded yet." not in content


def test_the_history_offers_the_persons_fields_by_their_names(cast) -> None:
    choices = dict(HistoryFilterForm(actors=[]).fields["field"].choices)  # type: ignore[attr-defined]
    assert choices["phones"] == "Phones"
    assert not {"sort_key", "version", "nonce_digest", "idempotency_key", "lease_owner", "cui"} & set(choices)


def test_the_field_names_are_translated(cast) -> None:
    with translation.override("ro"):
        choices = dict(TrailFilterForm(actors=[]).fields["field"].choices)  # type: ignore[attr-defined]
    assert choices["given_name"] == "Prenume"
    assert choices["cui"] != "Tax id (CUI / VAT)"


def test_the_trail_shows_a_wrong_filter_and_no_events(cast, history, client_for) -> None:
    page = client_for(cast.dora).get("/audit/?person=abc")
    assert list(page.context["form"].errors) == ["person"]
    assert page.context["events"] == []
    assert "This date is before the start date" in client_for(cast.dora).get(f"/audit/?{REVERSED}").content.decode()


def test_an_export_under_a_wrong_filter_exports_nothing(cast, history, client_for) -> None:
    client = client_for(cast.dora)
    answer = client.get(f"/people/{history.pk}/history/export/?format=csv&{REVERSED}")
    assert answer.status_code == 302
    assert answer["Location"] == f"/people/{history.pk}/history/?{REVERSED}"
    assert client.get(f"/audit/export/?format=csv&{REVERSED}").status_code == 302


def test_an_export_filtered_by_who_keeps_that_filter(cast, history, client_for) -> None:
    answer = client_for(cast.dora).get(f"/people/{history.pk}/history/export/?format=json&actor={cast.andrei.pk}")
    exported = json.loads(b"".join(answer.streaming_content))["events"]
    andreis = AuditEvent.objects.filter(subject_id=history.pk, actor_id=cast.andrei.pk).order_by("id")
    assert [event["id"] for event in exported] == list(andreis.values_list("pk", flat=True))


def test_the_field_names_are_in_the_romanian_alphabets_order(cast) -> None:
    with translation.override("ro"):
        labels = [label for _name, label in HistoryFilterForm(actors=[]).fields["field"].choices][1:]  # type: ignore[attr-defined]
    assert labels.index("Temei legal") < labels.index("Țară") < labels.index("Ultima verificare")
