"""The people and organization pages, as a logged-in user uses them."""

from __future__ import annotations

import pytest
from django.test import Client

from registru.audit.models import AuditEvent
from registru.people.models import Organization, Person
from registru.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db

PERSON_FORM = {
    "given_name": "Ana", "family_name": "Dobre", "emails": ["ana@dobre.ro", "ana.personal@mail.ro"],
    "primary_emails": "1", "phones": ["0744 111 222", ""], "preferred_language": "ro",
    "source": "business_card", "lawful_basis": "legitimate_interest", "country": "RO",
}  # fmt: skip


def test_it_sends_anonymous_visitors_to_the_login_page(cast) -> None:
    response = Client().get("/people/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_creates_a_person_from_the_form_with_the_chosen_primary_email(cast, client_for) -> None:
    response = client_for(cast.alice).post("/people/new/", PERSON_FORM | {"owner": cast.alice.pk})
    person = Person.objects.get(family_name="Dobre")
    assert response.status_code == 302
    assert response["Location"] == f"/people/{person.pk}/"
    assert person.emails == ["ana.personal@mail.ro", "ana@dobre.ro"]
    assert person.phones == ["+40744111222"]
    assert AuditEvent.objects.get(subject_id=person.pk, action="person.created").channel == "ui"


def test_it_edits_a_person_and_shows_the_change_in_history(cast, client_for) -> None:
    client = client_for(cast.andrei)
    person = cast.andrei_person
    form = PERSON_FORM | {
        "given_name": person.given_name, "family_name": person.family_name, "version": person.version,
        "owner": cast.andrei.pk, "phones": ["0755 999 888"], "primary_emails": "0",
        "reason": "a sunat clientul",
    }  # fmt: skip
    assert client.post(f"/people/{person.pk}/edit/", form).status_code == 302
    history = client.get(f"/people/{person.pk}/history/").content.decode()
    assert "+40755999888" in history
    assert "a sunat clientul" in history
    assert "via web" in history


def test_it_shows_a_conflict_instead_of_overwriting_a_newer_edit(cast, client_for) -> None:
    client = client_for(cast.andrei)
    person = cast.andrei_person
    form = PERSON_FORM | {
        "given_name": "Primul",
        "family_name": person.family_name,
        "version": 1,
        "owner": cast.andrei.pk,
    }
    client.post(f"/people/{person.pk}/edit/", form)
    response = client.post(f"/people/{person.pk}/edit/", form | {"given_name": "Al doilea"})
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    assert Person.objects.get(pk=person.pk).given_name == "Primul"


def test_it_searches_with_a_post_and_renders_only_the_results_for_htmx(cast, client_for) -> None:
    response = client_for(cast.dora).post("/people/", {"q": "turcanu"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "Țurcanu" in content
    assert "Ștefănescu" not in content
    assert "<html" not in content


def test_it_filters_people_by_organization_from_a_link(cast, client_for) -> None:
    response = client_for(cast.dora).get(f"/people/?organization={cast.carol_org.pk}")
    content = response.content.decode()
    assert "People at Construcții Someș SA" in content
    assert "Țurcanu" in content
    assert "Ștefănescu" not in content


def test_it_pages_the_people_list(cast, client_for) -> None:
    for index in range(30):
        PersonFactory(family_name=f"Lista{index:02d}", owner=cast.andrei)
    client = client_for(cast.andrei)
    first = client.get("/people/")
    assert first.context["page"].next_cursor
    second = client.post("/people/", {"cursor": first.context["page"].next_cursor, "sort": "name"})
    names = [p.family_name for p in second.context["page"].items]
    assert names
    assert not set(names) & {p.family_name for p in first.context["page"].items}


def test_it_archives_with_an_undo_and_restores(cast, client_for) -> None:
    client = client_for(cast.andrei)
    person = cast.andrei_person
    response = client.post(f"/people/{person.pk}/archive/", follow=True)
    assert f"/people/{person.pk}/restore/" in response.content.decode()  # the Undo button
    assert Person.objects.get(pk=person.pk).archived_at is not None
    client.post(f"/people/{person.pk}/restore/")
    assert Person.objects.get(pk=person.pk).archived_at is None


def test_it_undoes_a_change_from_history(cast, client_for) -> None:
    client = client_for(cast.andrei)
    person = cast.andrei_person
    client.post(
        f"/people/{person.pk}/edit/",
        PERSON_FORM
        | {"given_name": "Greșit", "family_name": person.family_name, "version": 1, "owner": cast.andrei.pk},
    )
    event = AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").latest("id")
    client.post(f"/people/{person.pk}/history/{event.pk}/revert/")
    assert Person.objects.get(pk=person.pk).given_name == "Mihai"


def test_it_adds_notes_and_employers_from_the_person_page(cast, client_for) -> None:
    client = client_for(cast.alice)
    person = cast.alice_person
    client.post(f"/people/{person.pk}/notes/", {"kind": "meeting", "body": "Întâlnire la sediu."})
    picker = client.post("/people/pick-organization/", {"organization_query": "țesăt"})
    assert "Țesătoria Mureșul SRL" in picker.content.decode()
    other = Organization.objects.get(name="Construcții Someș SA")
    client.post(f"/people/{person.pk}/employers/", {"organization": other.pk, "role": "Consultant"})  # not alice's
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert "Întâlnire la sediu." in page
    assert "Consultant" not in page
    assert person.affiliations.count() == 1


def test_it_creates_an_organization_and_refuses_a_duplicate_cui_in_scope(cast, client_for) -> None:
    client = client_for(cast.alice)
    form = {
        "name": "Brutăria Nouă SRL",
        "status": "prospect",
        "cui": "RO 185 472 90",
        "country": "RO",
        "owner": cast.alice.pk,
    }
    assert client.post("/organizations/new/", form).status_code == 302
    assert Organization.objects.get(name="Brutăria Nouă SRL").cui == "RO18547290"
    again = client.post("/organizations/new/", form | {"name": "Copie SRL", "cui": "18547290"})
    assert "already has this tax id" in again.content.decode()
    assert not Organization.objects.filter(name="Copie SRL").exists()


def test_it_does_not_reveal_a_duplicate_cui_outside_the_scope(cast, client_for) -> None:
    form = {"status": "prospect", "cui": "18547290", "country": "RO"}
    client_for(cast.carol).post("/organizations/new/", form | {"name": "A SRL", "owner": cast.carol.pk})
    response = client_for(cast.alice).post("/organizations/new/", form | {"name": "B SRL", "owner": cast.alice.pk})
    assert response.status_code == 302


def test_it_lists_only_visible_people_on_an_organization_page(cast, client_for) -> None:
    hidden = PersonFactory(given_name="Ascuns", family_name="Vechi", owner=cast.carol)
    from registru.people import services
    from registru.testing.factories import SETUP

    services.create_affiliation(hidden, cast.alice_org, {"since": "2010-01-01", "until": "2012-01-01"}, actor=SETUP)
    page = client_for(cast.alice).get(f"/organizations/{cast.alice_org.pk}/").content.decode()
    assert "Ștefănescu" in page
    assert "Ascuns" not in page


def test_it_marks_every_personal_page_no_store(cast, client_for) -> None:
    client = client_for(cast.alice)
    for url in (
        "/people/",
        f"/people/{cast.alice_person.pk}/",
        f"/people/{cast.alice_person.pk}/history/",
        "/account/",
    ):
        assert client.get(url)["Cache-Control"] == "no-store", url


def test_it_merges_a_duplicate_after_showing_both(cast, client_for) -> None:
    duplicate = PersonFactory(given_name="Ioana", family_name="Stefanescu", emails=["ioana@alt.ro"], owner=cast.alice)
    client = client_for(cast.alice)
    url = f"/people/{cast.alice_person.pk}/merge/"
    candidates = client.post(url, {"q": "stefanescu"}, headers={"HX-Request": "true"}).content.decode()
    assert f'value="{duplicate.pk}"' in candidates
    assert f'value="{cast.alice_person.pk}"' not in candidates
    confirm = client.post(url, {"duplicate": duplicate.pk}).content.decode()
    assert "ioana@alt.ro" in confirm
    assert Person.objects.get(pk=duplicate.pk).merged_into_id is None  # nothing changes before confirming
    client.post(url, {"duplicate": duplicate.pk, "confirm": "1", "reason": "aceeași persoană"})
    assert Person.objects.get(pk=duplicate.pk).merged_into_id == cast.alice_person.pk
    assert "ioana@alt.ro" in Person.objects.get(pk=cast.alice_person.pk).emails


def test_it_does_not_merge_a_person_outside_the_scope(cast, client_for) -> None:
    url = f"/people/{cast.alice_person.pk}/merge/"
    response = client_for(cast.alice).post(url, {"duplicate": cast.carol_person.pk, "confirm": "1"})
    assert response.status_code == 404
    assert Person.objects.get(pk=cast.carol_person.pk).merged_into_id is None


def test_it_deletes_a_note_and_keeps_its_text_in_history(cast, client_for) -> None:
    from registru.testing.factories import note_about

    note = note_about(cast.andrei_person, "Scris din greșeală")
    client = client_for(cast.andrei)
    client.post(f"/people/{cast.andrei_person.pk}/notes/{note.pk}/delete/")
    assert not cast.andrei_person.notes.exists()
    assert "Scris din greșeală" in client.get(f"/people/{cast.andrei_person.pk}/history/").content.decode()


def test_saving_an_edit_never_changes_the_owner_unasked(cast, client_for) -> None:
    person = PersonFactory(given_name="Dan", family_name="Vasile", owner=cast.andrei, employer=cast.alice_org)
    form = PERSON_FORM | {"given_name": "Dan", "family_name": "Vasile", "version": 1, "job_title": "CFO"}
    edit_page = client_for(cast.alice).get(f"/people/{person.pk}/edit/")
    offered = {owner.pk for owner in edit_page.context["form"].fields["owner"].queryset}
    assert offered == {cast.alice.pk, cast.andrei.pk}  # the current owner is always offered
    response = client_for(cast.alice).post(f"/people/{person.pk}/edit/", form | {"owner": cast.andrei.pk})
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.job_title, person.owner) == ("CFO", cast.andrei)
    assert "owner" not in AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").get().changes


def test_a_merge_into_someone_out_of_scope_is_not_named(cast, client_for, api_for) -> None:
    from registru.people import services
    from registru.testing.factories import SETUP

    services.merge_people(cast.carol_person, cast.andrei_person, actor=SETUP)
    client = client_for(cast.andrei)
    for url in (f"/people/{cast.andrei_person.pk}/", f"/people/{cast.andrei_person.pk}/history/"):
        page = client.get(url).content.decode()
        assert "Țurcanu" not in page, url
        assert "another record" in page, url
    history = api_for(cast.andrei).get(f"/api/v1/people/{cast.andrei_person.pk}/history").content.decode()
    assert "Țurcanu" not in history


def test_it_puts_the_marked_primary_first_even_after_a_blank_row(cast, client_for) -> None:
    form = PERSON_FORM | {
        "owner": cast.alice.pk,
        "emails": ["", "b@firma.ro", "nou@firma.ro"],
        "primary_emails": "2",
    }
    client_for(cast.alice).post("/people/new/", form)
    assert Person.objects.get(family_name="Dobre").emails == ["nou@firma.ro", "b@firma.ro"]


def test_an_absurd_organization_filter_is_ignored_not_a_500(cast, client_for) -> None:
    response = client_for(cast.dora).post("/people/", {"organization": "9999999999999999999999999"})
    assert response.status_code == 200


def test_undoing_a_change_that_is_no_longer_allowed_shows_a_message(cast, client_for) -> None:
    from registru.people import services

    services.update_person(cast.andrei_person, {"owner": cast.alice}, actor=cast.bob)
    services.update_person(cast.andrei_person, {"owner": cast.andrei}, actor=cast.bob)
    first = AuditEvent.objects.filter(subject_id=cast.andrei_person.pk, action="person.updated").earliest("id")
    response = client_for(cast.andrei).post(f"/people/{cast.andrei_person.pk}/history/{first.pk}/revert/", follow=True)
    assert response.status_code == 200
    assert Person.objects.get(pk=cast.andrei_person.pk).owner == cast.andrei


def test_an_organization_stays_editable_after_a_merge_filled_its_cui(cast, client_for) -> None:
    from registru.people import services
    from registru.testing.factories import OrganizationFactory

    duplicate = OrganizationFactory(name="Copie", owner=cast.alice, cui="18547290")
    services.merge_organizations(cast.alice_org, duplicate, actor=cast.alice)
    version = Organization.objects.get(pk=cast.alice_org.pk).version
    form = {"name": "Țesătoria Mureșul SRL", "status": "customer", "cui": "18547290", "country": "RO",
            "owner": cast.alice.pk, "industry": "Textile", "version": version}  # fmt: skip
    response = client_for(cast.alice).post(f"/organizations/{cast.alice_org.pk}/edit/", form)
    assert response.status_code == 302
    assert Organization.objects.get(pk=cast.alice_org.pk).industry == "Textile"


def test_a_note_can_be_dated_from_the_page(cast, client_for) -> None:
    client_for(cast.andrei).post(
        f"/people/{cast.andrei_person.pk}/notes/",
        {"kind": "meeting", "body": "Vizită", "occurred_at": "2026-11-02T10:30"},
    )
    note = cast.andrei_person.notes.get()
    assert note.occurred_at.isoformat().startswith("2026-11-02T08:30")  # 10:30 in Bucharest is 08:30 UTC


def test_an_agent_cannot_undo_a_change_to_a_field_their_role_sees_masked(cast, client_for) -> None:
    """The attack: the DPO records a birth date; an agent, whose role never sees birth dates,
    asks History to undo that change (which would write a value they have never seen). It is
    refused with a message, nothing changes and nothing is recorded; the page offers no undo
    for it, while a change the agent may see stays undoable."""
    from datetime import date

    from registru.people import services

    person = cast.andrei_person
    services.update_person(person, {"birth_date": date(1980, 5, 17)}, actor=cast.dora)
    birth = AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").latest("id")
    services.update_person(person, {"job_title": "Contabil"}, actor=cast.andrei)
    title = AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").latest("id")
    client = client_for(cast.andrei)
    page = client.get(f"/people/{person.pk}/history/")
    assert page.context["undoable"] == {title.pk}
    assert f"/history/{birth.pk}/revert/" not in page.content.decode()
    assert f"/history/{title.pk}/revert/" in page.content.decode()
    events_before = AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").count()
    response = client.post(f"/people/{person.pk}/history/{birth.pk}/revert/", follow=True)
    assert "masked" in response.content.decode()
    assert Person.objects.get(pk=person.pk).birth_date == date(1980, 5, 17)
    assert AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").count() == events_before


def test_the_reveal_form_offers_only_fields_that_hold_something(cast, client_for) -> None:
    from datetime import date

    from registru.people import services

    person = cast.andrei_person
    services.update_person(person, {"birth_date": None}, actor=cast.dora)
    client = client_for(cast.bob)  # a manager may reveal birth dates
    assert 'value="birth_date"' not in client.get(f"/people/{person.pk}/").content.decode()
    services.update_person(person, {"birth_date": date(1980, 5, 17)}, actor=cast.dora)
    assert 'value="birth_date"' in client.get(f"/people/{person.pk}/").content.decode()


def test_adding_a_person_whose_email_is_on_a_record_warns_first_and_adds_only_when_told(cast, client_for) -> None:
    """The same form sent twice (Back, then Save again) does not make a silent duplicate: the
    page names the record that has the email and adds the person only when told it is another."""
    client = client_for(cast.alice)
    form = {"given_name": "Ana", "family_name": "Dublură", "emails": ["ana.dublura@firma.ro"], "phones": [""],
            "preferred_language": "ro", "source": "other", "lawful_basis": "consent", "country": "RO",
            "owner": cast.alice.pk}  # fmt: skip
    assert client.post("/people/new/", form).status_code == 302
    first = Person.objects.get(family_name="Dublură")
    again = client.post("/people/new/", form | {"emails": ["Ana.Dublura@FIRMA.ro"]})
    assert again.status_code == 200
    assert [person.pk for person in again.context["duplicates"]] == [first.pk]
    assert f"/people/{first.pk}/" in again.content.decode()
    assert Person.objects.filter(family_name="Dublură").count() == 1
    assert client.post("/people/new/", form | {"add_anyway": "1"}).status_code == 302
    assert Person.objects.filter(family_name="Dublură").count() == 2


def test_the_duplicate_warning_names_no_record_outside_the_users_scope(cast, client_for) -> None:
    outside = cast.andrei_person  # not alice's
    form = {"given_name": "Ana", "family_name": "Nouă", "emails": [outside.emails[0]], "phones": [""],
            "preferred_language": "ro", "source": "other", "lawful_basis": "consent", "country": "RO",
            "owner": cast.alice.pk}  # fmt: skip
    response = client_for(cast.alice).post("/people/new/", form)
    assert response.status_code == 302
    assert outside.full_name not in client_for(cast.alice).get(response["Location"]).content.decode()


def test_a_person_with_nothing_in_the_masked_fields_is_not_said_to_have_masked_fields(cast, client_for) -> None:
    from datetime import date

    from registru.people import services

    person = cast.andrei_person
    services.update_person(person, {"birth_date": None}, actor=cast.dora)
    note = "Some fields are masked for your role."  # for agents, birth dates are
    assert note not in client_for(cast.andrei).get(f"/people/{person.pk}/").content.decode()
    services.update_person(person, {"birth_date": date(1980, 5, 17)}, actor=cast.dora)
    assert note in client_for(cast.andrei).get(f"/people/{person.pk}/").content.decode()


def test_a_revealed_field_can_be_corrected_on_the_edit_page_for_a_while(cast, client_for) -> None:
    """A manager (birth dates: reveal with a reason) cannot change a birth date unseen; after
    revealing it, the edit page offers it for a while in that session, and the change is
    recorded. Later, or in another session, it is masked again."""
    from datetime import date, timedelta

    from django.utils import timezone

    from registru.people import services

    person = cast.andrei_person
    services.update_person(person, {"birth_date": date(1980, 5, 17)}, actor=cast.dora)
    bob = client_for(cast.bob)
    assert 'name="birth_date"' not in bob.get(f"/people/{person.pk}/edit/").content.decode()
    bob.post(f"/people/{person.pk}/reveal/", {"group": "birth_date", "reason": "cerere de rectificare"})
    assert 'name="birth_date" value="1980-05-17"' in bob.get(f"/people/{person.pk}/edit/").content.decode()
    person.refresh_from_db()
    form = PERSON_FORM | {
        "given_name": person.given_name, "family_name": person.family_name, "version": person.version,
        "owner": cast.andrei.pk, "emails": person.emails, "phones": person.phones, "primary_emails": "0",
        "birth_date": "1980-05-18", "reason": "rectificare la cererea persoanei",
    }  # fmt: skip
    assert bob.post(f"/people/{person.pk}/edit/", form).status_code == 302
    assert Person.objects.get(pk=person.pk).birth_date == date(1980, 5, 18)
    assert client_for(cast.bob).get(f"/people/{person.pk}/edit/").context["masked"] >= {"birth_date"}  # new session
    session = bob.session
    entry = session[f"revealed:{person.pk}"]
    entry["until"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    session[f"revealed:{person.pk}"] = entry
    session.save()
    assert 'name="birth_date"' not in bob.get(f"/people/{person.pk}/edit/").content.decode()


def test_an_empty_search_of_one_or_two_letters_says_what_they_find(cast, client_for) -> None:
    alice = client_for(cast.alice)
    short = alice.post("/people/", {"q": "zq"}, headers={"HX-Request": "true"}).content.decode()
    long = alice.post("/people/", {"q": "zqx"}, headers={"HX-Request": "true"}).content.decode()
    assert "Nobody matches this search." in short
    assert "type three or more" in short
    assert "type three or more" not in long
