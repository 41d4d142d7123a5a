"""Events refer to people by id alone; the History names them when it is read, as the reader
may see them: by their name, as "another record" out of scope, as "[erased]" once erased."""

from __future__ import annotations

import pytest

from registru.audit.models import AuditEvent
from registru.people import services
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


def merged_into_shown(client, person) -> str:
    """How the History page shows the record a person was merged into."""
    events = client.get(f"/people/{person.pk}/history/").context["events"]
    return next(change.new for view in events for change in view.changes if change.label == "merged into")


@pytest.fixture
def merged(cast):
    """Andrei's person merged into one of alice's (seen by alice and bob, not by carol)."""
    duplicate = PersonFactory(given_name="Teodosia", family_name="Vlăduțescu", owner=cast.alice)
    services.merge_people(cast.alice_person, duplicate, actor=SETUP)
    return duplicate


def test_it_stores_a_merge_with_the_other_persons_id_and_not_their_name(cast, merged) -> None:
    away = AuditEvent.objects.get(action="person.merged_away", target_id=merged.pk)
    assert away.changes["merged_into"] == [None, {"id": cast.alice_person.pk}]
    assert "Ștefănescu" not in away.canonical


def test_it_stores_a_moved_notes_person_by_id_alone(cast) -> None:
    from registru.testing.factories import note_about

    duplicate = PersonFactory(given_name="Teodosia", family_name="Vlăduțescu", owner=cast.alice)
    note_about(duplicate, "Sunat pentru ofertă.")
    services.merge_people(cast.alice_person, duplicate, actor=SETUP)
    moved = AuditEvent.objects.filter(action="note.updated").latest("id")
    assert "Vlăduțescu" not in moved.canonical
    assert "Ștefănescu" not in moved.canonical


def test_the_history_names_the_other_person_for_a_reader_who_may_see_them(cast, merged, client_for) -> None:
    assert merged_into_shown(client_for(cast.bob), merged) == "Ioana Ștefănescu"


def test_the_api_history_names_the_other_person_for_a_reader_who_may_see_them(cast, merged, api_for) -> None:
    items = api_for(cast.bob).get(f"/api/v1/people/{merged.pk}/history").json()["items"]
    merged_into = next(change for item in items for change in item["changes"] if change["field"] == "merged_into")
    assert merged_into["new"] == {"id": cast.alice_person.pk, "label": "Ioana Ștefănescu"}


def test_the_history_does_not_name_the_other_person_for_a_reader_who_may_not_see_them(
    cast, client_for, api_for
) -> None:
    services.merge_people(cast.carol_person, cast.andrei_person, actor=SETUP)  # carol's person: team B
    page = client_for(cast.andrei).get(f"/people/{cast.andrei_person.pk}/history/").content.decode()
    history = api_for(cast.andrei).get(f"/api/v1/people/{cast.andrei_person.pk}/history").content.decode()
    shown = merged_into_shown(client_for(cast.andrei), cast.andrei_person)
    assert (shown, "Țurcanu" in page, "Țurcanu" in history) == ("another record", False, False)


def test_the_same_history_names_them_for_the_dpo(cast, client_for) -> None:
    services.merge_people(cast.carol_person, cast.andrei_person, actor=SETUP)
    assert merged_into_shown(client_for(cast.dora), cast.andrei_person) == "Raluca Țurcanu"


def test_the_history_shows_an_erased_person_as_erased(cast, merged, client_for) -> None:
    services.erase_person(cast.alice_person, actor=cast.dora, reason="cerere art. 17")
    assert merged_into_shown(client_for(cast.dora), merged) == "[erased]"
