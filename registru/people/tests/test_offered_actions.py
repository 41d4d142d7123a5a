"""A record's pages offer only what the user may do there: a view grant shows the record and no
button that would answer "not found" (docs/access.md, what a grant gives).
"""

from __future__ import annotations

import pytest

from registru.accounts.services import grants
from registru.accounts.tests.access import CAROL_CUI, prepare
from registru.people import services
from registru.testing.factories import SETUP, note_about

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(cast):
    prepare(cast)
    return cast


def granted(requester, decider, identifier: str, *, access: str, by: str = "email") -> None:
    """An access request filed and approved the real way."""
    request = grants.file_access_request(
        actor=requester, identified_by=by, identifier=identifier, access=access, days=7, reason="Preiau clientul."
    )
    grants.approve_access_request(request, actor=decider)


def person_actions(pk: int) -> list[str]:
    """The addresses of every change a person's pages can offer."""
    return [
        f"/people/{pk}/edit/", f"/people/{pk}/merge/", f"/people/{pk}/archive/", f"/people/{pk}/notes/",
        f"/people/{pk}/employers/",
    ]  # fmt: skip


def test_a_view_grant_shows_the_person_without_change_actions(ready, client_for) -> None:
    person = ready.andrei_person
    note_about(person)
    granted(ready.alice, ready.bob, person.primary_email, access="view")
    client = client_for(ready.alice)
    page = client.get(f"/people/{person.pk}/")
    assert page.status_code == 200
    offered = [url for url in [*person_actions(person.pk), "/delete/"] if url in page.content.decode()]
    assert offered == []


def test_a_change_grant_offers_the_change_actions(ready, client_for) -> None:
    person = ready.andrei_person
    granted(ready.alice, ready.bob, person.primary_email, access="change")
    page = client_for(ready.alice).get(f"/people/{person.pk}/").content.decode()
    assert [url for url in person_actions(person.pk) if url not in page] == []


def test_a_view_grant_offers_no_restore_of_an_archived_person(ready, client_for) -> None:
    person = ready.andrei_person
    services.archive_person(person, actor=SETUP, reason="")
    granted(ready.alice, ready.bob, person.primary_email, access="view")
    page = client_for(ready.alice).get(f"/people/{person.pk}/").content.decode()
    assert f"/people/{person.pk}/restore/" not in page


def test_a_view_grant_offers_no_undo_in_the_history(ready, client_for) -> None:
    person = ready.andrei_person
    services.update_person(person, {"job_title": "Contabil"}, actor=ready.andrei)
    granted(ready.alice, ready.bob, person.primary_email, access="view")
    page = client_for(ready.alice).get(f"/people/{person.pk}/history/").content.decode()
    assert "/revert/" not in page


def test_a_view_grant_offers_no_form_to_record_a_consent(ready, client_for) -> None:
    person = ready.andrei_person
    granted(ready.alice, ready.bob, person.primary_email, access="view")
    page = client_for(ready.alice).get(f"/consent/people/{person.pk}/")
    assert page.status_code == 200
    assert f'action="/consent/people/{person.pk}/#record"' not in page.content.decode()


def test_a_view_grant_shows_the_organization_without_change_actions(ready, client_for) -> None:
    organization = ready.carol_org
    granted(ready.alice, ready.carol, CAROL_CUI, access="view", by="cui")
    client = client_for(ready.alice)
    pk = organization.pk
    for url in (f"/organizations/{pk}/", f"/organizations/{pk}/history/"):
        page = client.get(url)
        assert page.status_code == 200
        offered = [action for action in ("/edit/", "/archive/", "/notes/") if f"/organizations/{pk}{action}" in
                   page.content.decode()]  # fmt: skip
        assert offered == [], url


def test_the_owner_is_offered_the_organizations_change_actions(ready, client_for) -> None:
    pk = ready.alice_org.pk
    page = client_for(ready.alice).get(f"/organizations/{pk}/").content.decode()
    assert [action for action in ("/edit/", "/archive/", "/notes/") if f"/organizations/{pk}{action}" not in page] == []


def test_a_view_grant_makes_no_merge_candidate(ready, client_for) -> None:
    person = ready.andrei_person
    granted(ready.alice, ready.bob, person.primary_email, access="view")
    client = client_for(ready.alice)
    found = client.post(f"/people/{ready.alice_person.pk}/merge/", {"q": person.family_name})
    assert f'value="{person.pk}"' not in found.content.decode()


def test_a_record_seen_through_a_grant_says_so_and_until_when(ready, client_for) -> None:
    person = ready.andrei_person
    granted(ready.alice, ready.bob, person.primary_email, access="view")
    alice = client_for(ready.alice)
    for path in (f"/people/{person.pk}/", f"/people/{person.pk}/history/", f"/consent/people/{person.pk}/"):
        text = alice.get(path).content.decode()
        assert 'id="seen-through"' in text, path
        assert "/account/access/" in text, path
    assert 'id="seen-through"' not in alice.get(f"/people/{ready.alice_person.pk}/").content.decode()
    assert 'id="seen-through"' not in client_for(ready.bob).get(f"/people/{person.pk}/").content.decode()
