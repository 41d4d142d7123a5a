"""Erasure by crypto-shredding: the live record is anonymised, the person's key destroyed; the
trail keeps who did what and when, and its values become unreadable."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from registru.audit.models import AuditEvent
from registru.audit.presenters import present_all
from registru.core.errors import ConflictError, NotInScopeError
from registru.people import services
from registru.people.models import Person
from registru.testing.factories import PersonFactory, note_about, plain

pytestmark = pytest.mark.django_db
SECRETS = (
    "Zamfirescu",
    "zamfirescu",
    "Ecaterina",
    "ecaterina",
    "ecaterina.z@exemplu.ro",
    "40744999888",
    "0744999888",
)


def every_stored_text() -> str:
    """Every text and JSON value in every table of the database, as one string."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor, include_views=False):
            # FTS5's own segment tables hold binary trigram postings, not text; its content
            # table (people_search_fts_content) holds the documents and is checked.
            if table.startswith(
                (
                    "sqlite_",
                    "people_search_fts_data",
                    "people_search_fts_idx",
                    "people_search_fts_docsize",
                    "people_search_fts_config",
                )
            ):
                continue
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.extend(str(value) for row in cursor.fetchall() for value in row if isinstance(value, str))
    return "\n".join(chunks)


@pytest.fixture
def ecaterina(cast) -> Person:
    person = PersonFactory(
        given_name="Ecaterina", family_name="Zamfirescu", emails=["ecaterina.z@exemplu.ro"],
        phones=["0744 999 888"], owner=cast.alice, employer=cast.alice_org, job_title="Director",
    )  # fmt: skip
    services.update_person(person, {"job_title": "Director general", "city": "Brașov"}, actor=cast.alice)
    note_about(person, "Ecaterina Zamfirescu preferă e-mailul.")
    return person


def test_after_erasure_the_values_appear_nowhere_in_plaintext(cast, ecaterina) -> None:
    assert "Zamfirescu" in every_stored_text()
    services.erase_person(ecaterina, actor=cast.dora, reason="cerere de ștergere art. 17")
    stored = every_stored_text()
    assert [secret for secret in SECRETS if secret in stored] == []


def test_after_erasure_history_keeps_who_what_when_but_shows_values_as_erased(cast, ecaterina) -> None:
    before = AuditEvent.objects.filter(subject_id=ecaterina.pk).count()
    services.erase_person(ecaterina, actor=cast.dora, reason="cerere de ștergere art. 17")
    events = list(AuditEvent.objects.filter(subject_id=ecaterina.pk).order_by("id"))
    assert len(events) > before
    update = next(event for event in events if event.action == "person.updated")
    assert plain(update)["job_title"] == ["[erased]", "[erased]"]
    assert update.actor_label == "Alice Anghel (alice)"
    views = present_all(events, lambda ids: set())
    assert all("Zamfirescu" not in change.old + change.new for view in views for change in view.changes)


def test_the_erasure_event_names_the_persons_fields_not_the_search_sort_key(cast, ecaterina) -> None:
    services.erase_person(ecaterina, actor=cast.dora, reason="cerere de ștergere art. 17")
    erased = AuditEvent.objects.get(subject_id=ecaterina.pk, action="person.erased")
    assert "sort_key" not in erased.fields.split()
    assert {"given_name", "family_name", "status"} <= set(erased.fields.split())


def test_erasure_leaves_other_people_readable(cast, ecaterina) -> None:
    services.update_person(cast.andrei_person, {"job_title": "Contabil"}, actor=cast.andrei)
    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17")
    event = AuditEvent.objects.filter(subject_id=cast.andrei_person.pk, action="person.updated").latest("id")
    assert plain(event)["job_title"] == ["", "Contabil"]


def test_only_the_dpo_erases(cast, ecaterina) -> None:
    with pytest.raises(PermissionDenied):
        services.erase_person(ecaterina, actor=cast.alice, reason="vreau eu")
    assert Person.objects.get(pk=ecaterina.pk).family_name == "Zamfirescu"


def test_an_erased_person_is_not_found_by_their_old_name(cast, ecaterina, client_for) -> None:
    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17")
    response = client_for(cast.dora).post(
        "/people/", {"q": "zamfirescu", "archived": "on"}, headers={"HX-Request": "true"}
    )
    assert "Zamfirescu" not in response.content.decode()
    assert response.context["page"].items == []


def test_the_dpo_erases_from_the_page_after_confirming(cast, ecaterina, client_for) -> None:
    client = client_for(cast.dora)
    unconfirmed = client.post(f"/people/{ecaterina.pk}/erase/", {"reason": "cerere art. 17"})
    assert unconfirmed.status_code == 200
    assert Person.objects.get(pk=ecaterina.pk).family_name == "Zamfirescu"
    client.post(f"/people/{ecaterina.pk}/erase/", {"reason": "cerere art. 17", "confirm": "on"})
    assert Person.objects.get(pk=ecaterina.pk).status == "erased"


def test_an_agent_cannot_reach_the_erase_page(cast, ecaterina, client_for) -> None:
    assert (
        client_for(cast.alice).post(f"/people/{ecaterina.pk}/erase/", {"reason": "x", "confirm": "on"}).status_code
        == 403
    )
    assert Person.objects.get(pk=ecaterina.pk).family_name == "Zamfirescu"


def test_an_erased_record_offers_nothing_to_change(cast, ecaterina, client_for) -> None:
    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17")
    page = client_for(cast.dora).get(f"/people/{ecaterina.pk}/").content.decode()
    actions = ("edit", "merge", "restore", "notes", "employers", "erase")
    assert [name for name in actions if f"/people/{ecaterina.pk}/{name}/" in page] == []


def test_a_note_posted_to_an_erased_record_is_not_found(cast, ecaterina, client_for) -> None:
    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17")
    response = client_for(cast.alice).post(f"/people/{ecaterina.pk}/notes/", {"kind": "note", "body": "0722 123 456"})
    assert response.status_code == 404


def test_an_erased_person_cannot_be_changed_by_anyone(cast, ecaterina) -> None:
    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17")
    with pytest.raises(NotInScopeError):
        services.update_person(Person.objects.get(pk=ecaterina.pk), {"given_name": "Ion"}, actor=cast.dora)


def test_erasing_twice_says_the_person_is_already_erased(cast, ecaterina) -> None:
    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17")
    with pytest.raises(ConflictError):
        services.erase_person(Person.objects.get(pk=ecaterina.pk), actor=cast.dora, reason="art. 17")


# --- records merged away into the erased person ----------------------------------------------


@pytest.fixture
def duplicate(cast, ecaterina) -> Person:
    """A second record of Ecaterina, merged into the first: it keeps its own name and contacts."""
    other = PersonFactory(
        given_name="Ecaterina", family_name="Zamfirescu-Pop", emails=["katy.zp@posta.ro"], phones=["0755 111 222"],
        owner=cast.alice, job_title="Contabilă",
    )  # fmt: skip
    services.merge_people(ecaterina, other, actor=cast.alice)
    return Person.objects.get(pk=other.pk)


def test_erasing_a_person_erases_the_duplicates_merged_into_them_with_an_event_each(cast, ecaterina, duplicate) -> None:
    from registru.vault import services as vault

    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17", duplicates=[duplicate])
    erased = Person.objects.get(pk=duplicate.pk)
    assert (erased.status, erased.family_name, erased.emails, erased.job_title) == (
        "erased",
        f"#{duplicate.pk}",
        [],
        "",
    )
    assert vault.data_key(duplicate.pk) is None
    assert AuditEvent.objects.filter(subject_id=duplicate.pk, action="person.erased").count() == 1


def test_a_duplicate_left_out_keeps_its_record(cast, ecaterina, duplicate) -> None:
    services.erase_person(ecaterina, actor=cast.dora, reason="art. 17")
    assert Person.objects.get(pk=duplicate.pk).family_name == "Zamfirescu-Pop"


def test_a_record_not_merged_into_the_person_is_refused_and_nothing_is_erased(cast, ecaterina) -> None:
    with pytest.raises(ConflictError):
        services.erase_person(ecaterina, actor=cast.dora, reason="art. 17", duplicates=[cast.andrei_person])
    assert Person.objects.filter(pk__in=[ecaterina.pk, cast.andrei_person.pk], status="erased").count() == 0


def test_the_erase_page_offers_the_duplicates_and_erases_those_ticked(cast, ecaterina, duplicate, client_for) -> None:
    client = client_for(cast.dora)
    form = client.get(f"/people/{ecaterina.pk}/erase/").context["form"]
    assert form["duplicates"].initial == [str(duplicate.pk)]
    client.post(f"/people/{ecaterina.pk}/erase/", {"reason": "art. 17", "confirm": "on", "duplicates": [duplicate.pk]})
    assert Person.objects.get(pk=duplicate.pk).status == "erased"


def test_the_api_erases_the_person_and_every_duplicate_unless_told_otherwise(
    cast, ecaterina, duplicate, api_for
) -> None:
    response = api_for(cast.dora).post(
        f"/api/v1/people/{ecaterina.pk}/erase", {"reason": "cerere art. 17"}, content_type="application/json"
    )
    assert response.json() == {"erased": [ecaterina.pk, duplicate.pk]}
    assert Person.objects.get(pk=duplicate.pk).status == "erased"


def test_the_api_refuses_an_agent_and_erases_nothing(cast, ecaterina, api_for) -> None:
    response = api_for(cast.alice).post(
        f"/api/v1/people/{ecaterina.pk}/erase", {"reason": "vreau eu"}, content_type="application/json"
    )
    assert (response.status_code, Person.objects.get(pk=ecaterina.pk).status) == (403, "active")
