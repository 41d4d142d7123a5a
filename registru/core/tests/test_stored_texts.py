"""Labels and reasons the system stores in English are shown in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from registru.core.stored_texts import translated


@pytest.mark.parametrize(
    ("stored", "romanian"),
    [
        ("demo data", "date demonstrative"),
        ("data subject", "persoana vizată"),
        ("data subject via questionnaire #7", "persoana vizată prin chestionarul #7"),
        ("accepted by Bogdan Barbu (bob)", "acceptată de Bogdan Barbu (bob)"),
        ("out of scope (change)", "în afara ariei (modificare)"),
        ("Sunat de client, a cerut corectarea.", "Sunat de client, a cerut corectarea."),
        ("", ""),
    ],
)
def test_a_stored_system_text_reads_in_romanian_and_a_typed_one_as_written(stored, romanian) -> None:
    with translation.override("ro"):
        assert translated(stored) == romanian
    with translation.override("en"):
        assert translated(stored) == stored


@pytest.mark.django_db
def test_the_history_shows_a_system_actor_and_reason_in_the_readers_language(cast, client_for) -> None:
    from registru.core.actors import SystemActor
    from registru.people import services

    services.update_person(cast.andrei_person, {"job_title": "Contabil"}, actor=SystemActor("demo data"))
    client = client_for(cast.andrei)
    client.cookies["django_language"] = "ro"
    content = client.get(f"/people/{cast.andrei_person.pk}/history/", HTTP_ACCEPT_LANGUAGE="ro").content.decode()
    assert "date demonstrative" in content
    assert "demo data" not in content


def test_a_reveal_names_its_fields_by_their_names_not_their_codes() -> None:
    from registru.core.stored_texts import GROUPS
    from registru.people.disclosure import REVEAL_GROUPS

    assert set(GROUPS) == set(REVEAL_GROUPS)
    with translation.override("ro"):
        assert translated("birth_date: Verificare identitate") == "Data nașterii: Verificare identitate"
        assert translated("emails, phones: client nou") == "Adrese de e-mail, Telefoane: client nou"
        assert translated("reveal refused: address") == "afișare refuzată: Adresă"
        assert translated("Sunat azi: a cerut ofertă") == "Sunat azi: a cerut ofertă"
