"""Masking of contact and sensitive fields, and reveals: the same rules on pages and in the API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from registru.accounts.models import RolePolicy, Visibility
from registru.accounts.services.policy import save_role_policy
from registru.audit.actions import AuditAction
from registru.audit.models import AuditEvent
from registru.people import disclosure
from registru.people.services import update_person
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db


def test_masks_an_email_keeping_the_first_letter_and_the_domain() -> None:
    assert disclosure.mask_email("ana.popescu@firma.ro") == "a***@firma.ro"


def test_masks_a_phone_keeping_country_first_digit_and_last_three() -> None:
    assert disclosure.mask_phone("+40712345123") == "+40 7** *** 123"


def test_masks_what_is_not_a_phone_entirely() -> None:
    assert disclosure.mask_phone("not a number") == disclosure.MASK


def _with_birth_date(cast: Any) -> Any:
    person = cast.alice_person
    update_person(person, {"birth_date": dt.date(1980, 5, 17), "street": "Str. Lungă 12"}, actor=SETUP)
    return person


def test_the_list_masks_contacts_even_for_a_role_that_sees_them_on_the_record(cast: Any, client_for: Any) -> None:
    person = cast.alice_person
    page = client_for(cast.alice).get("/people/").content.decode()
    assert person.family_name in page
    assert person.primary_email not in page
    assert disclosure.mask_email(person.primary_email) in page


def test_an_agent_sees_contacts_on_the_record_but_not_the_birth_date(cast: Any, client_for: Any) -> None:
    person = _with_birth_date(cast)
    page = client_for(cast.alice).get(f"/people/{person.pk}/").content.decode()
    assert person.primary_email in page
    assert "17.05.1980" not in page
    assert "1980" not in page
    assert "Reveal" not in page  # agents may not reveal birth dates (MASKED, not REVEAL)


def test_the_api_applies_the_same_masking(cast: Any, api_for: Any) -> None:
    person = _with_birth_date(cast)
    client = api_for(cast.alice)
    listed = client.get("/api/v1/people").json()["items"][0]
    assert listed["emails"] == [disclosure.mask_email(person.primary_email)]
    assert listed["birth_date"] is None
    assert "birth_date" in listed["masked"]
    detail = client.get(f"/api/v1/people/{person.pk}").json()
    assert detail["emails"] == person.emails
    assert detail["birth_date"] is None
    assert detail["masked"] == ["birth_date"]


def test_a_manager_reveals_a_birth_date_with_a_reason_and_it_is_in_the_history(cast: Any, client_for: Any) -> None:
    person = _with_birth_date(cast)
    client = client_for(cast.bob)
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert "1980" not in page
    assert "Reveal" in page
    revealed = client.post(f"/people/{person.pk}/reveal/", {"group": "birth_date", "reason": "contract signature"})
    assert "1980" in revealed.content.decode()
    event = AuditEvent.objects.filter(action=AuditAction.FIELD_REVEALED, subject_id=person.pk).get()
    assert event.actor_id == cast.bob.pk
    assert "birth_date" in event.reason
    assert "contract signature" in event.reason
    assert "1980" not in event.reason  # the event says what was revealed, not the value


def test_a_reveal_without_a_reason_shows_nothing_and_is_a_security_event(cast: Any, client_for: Any) -> None:
    person = _with_birth_date(cast)
    response = client_for(cast.bob).post(f"/people/{person.pk}/reveal/", {"group": "birth_date", "reason": " "})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditAction.FIELD_REVEALED).exists()
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, subject_id=person.pk).count() == 1


def test_an_agent_cannot_reveal_what_the_role_masks_even_by_forging_the_form(cast: Any, client_for: Any) -> None:
    person = _with_birth_date(cast)
    response = client_for(cast.alice).post(f"/people/{person.pk}/reveal/", {"group": "birth_date", "reason": "x"})
    assert "1980" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.FIELD_REVEALED).exists()
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_id=cast.alice.pk).count() == 1


def test_nobody_reveals_a_record_outside_their_scope(cast: Any, client_for: Any) -> None:
    person = cast.carol_person
    response = client_for(cast.bob).post(f"/people/{person.pk}/reveal/", {"group": "emails", "reason": "x"})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(subject_id=person.pk, action=AuditAction.FIELD_REVEALED).exists()


def test_the_api_reveals_for_a_role_that_may(cast: Any, api_for: Any) -> None:
    person = _with_birth_date(cast)
    client = api_for(cast.bob)
    body = {"groups": ["birth_date"], "reason": "contract"}
    response = client.post(f"/api/v1/people/{person.pk}/reveal", json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["birth_date"] == "1980-05-17"
    refused = api_for(cast.alice).post(
        f"/api/v1/people/{person.pk}/reveal", json.dumps(body), content_type="application/json"
    )
    assert refused.status_code == 403
    assert "1980" not in refused.content.decode()


def test_the_administrator_changes_what_a_role_sees(cast: Any, client_for: Any) -> None:
    person = cast.alice_person
    response = client_for(cast.admin).post(
        "/account/policy/",
        {
            "role": "agent", "agent-contact": Visibility.REVEAL, "agent-sensitive": Visibility.MASKED,
            "agent-views_per_hour_soft": 150, "agent-views_per_hour_hard": 300, "agent-views_per_day_soft": 500,
            "agent-views_per_day_hard": 1000, "agent-idle_minutes": 60, "agent-session_hours": 10,
            "agent-reason": "agents work from phones",
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert RolePolicy.objects.get(role="agent").contact == Visibility.REVEAL
    event = AuditEvent.objects.filter(action=AuditAction.POLICY_CHANGED).get()
    assert event.actor_id == cast.admin.pk
    page = client_for(cast.alice).get(f"/people/{person.pk}/").content.decode()
    assert person.primary_email not in page
    assert disclosure.mask_email(person.primary_email) in page
    assert "Reveal" in page


def test_only_administrators_change_policies(cast: Any, client_for: Any) -> None:
    for user in (cast.dora, cast.bob, cast.alice):
        response = client_for(user).post("/account/policy/", {"role": "agent", "agent-contact": "clear"})
        assert response.status_code in (403, 404)
    assert not RolePolicy.objects.exists()


def test_a_role_that_sees_contacts_masked_cannot_overwrite_them_from_the_edit_page(cast: Any, client_for: Any) -> None:
    save_role_policy("agent", {"contact": Visibility.MASKED}, actor=SETUP)
    person = cast.alice_person
    client = client_for(cast.alice)
    form = client.get(f"/people/{person.pk}/edit/").content.decode()
    assert person.primary_email not in form
    client.post(
        f"/people/{person.pk}/edit/",
        {"given_name": "Ioana", "family_name": "Nouă", "preferred_language": "ro", "source": "other",
         "lawful_basis": person.lawful_basis, "owner": "", "version": person.version, "reason": "nume"},
    )  # fmt: skip
    person.refresh_from_db()
    assert person.family_name == "Nouă"
    assert person.emails
    assert person.phones  # left as they were, not emptied


def test_the_history_does_not_show_values_the_role_sees_masked(cast: Any, client_for: Any, api_for: Any) -> None:
    person = _with_birth_date(cast)
    history = client_for(cast.alice).get(f"/people/{person.pk}/history/").content.decode()
    assert "1980" not in history
    assert "Str. Lungă" in history  # the agent sees addresses in clear
    api_history = api_for(cast.alice).get(f"/api/v1/people/{person.pk}/history").content.decode()
    assert "1980" not in api_history
    save_role_policy("dpo", {"sensitive": Visibility.CLEAR}, actor=SETUP)
    assert "1980" in client_for(cast.dora).get(f"/people/{person.pk}/history/").content.decode()


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+4921112345678", "+49 2* *** *** 678"),
        ("+12025550123", "+1 2 *** *** 123"),
        ("+33612345678", "+33 6** *** 678"),
    ],
)
def test_masks_foreign_phones_by_their_country_code(phone: str, masked: str) -> None:
    assert disclosure.mask_phone(phone) == masked


def _admin_sees_contacts_masked() -> None:
    save_role_policy("administrator", {"contact": Visibility.REVEAL}, actor=SETUP)


def test_the_merge_confirmation_masks_what_the_role_sees_masked(cast: Any, client_for: Any) -> None:
    _admin_sees_contacts_masked()
    kept, other = cast.alice_person, cast.andrei_person
    page = client_for(cast.admin).post(f"/people/{kept.pk}/merge/", {"duplicate": other.pk}).content.decode()
    assert "Merge these two records?" in page
    for person in (kept, other):
        assert person.primary_email not in page
        assert disclosure.mask_email(person.primary_email) in page


def test_the_api_refuses_to_change_fields_masked_for_the_role(cast: Any, api_for: Any) -> None:
    _admin_sees_contacts_masked()
    person = cast.alice_person
    before = list(person.emails)
    body = json.dumps({"emails": ["attacker@evil.ro"], "version": person.version})
    response = api_for(cast.admin).patch(f"/api/v1/people/{person.pk}", body, content_type="application/json")
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.emails == before


def test_the_history_masks_message_recipients_when_emails_are_masked(cast: Any, client_for: Any) -> None:
    from registru.mail.models import MessageKind
    from registru.mail.services import queue_message

    _admin_sees_contacts_masked()
    person = cast.alice_person
    queue_message(actor=SETUP, key="t1", person=person, recipient=person.primary_email, subject="Salut",
                  body="text", kind=MessageKind.SERVICE)  # fmt: skip
    assert person.primary_email not in client_for(cast.admin).get(f"/people/{person.pk}/history/").content.decode()
    assert person.primary_email in client_for(cast.dora).get(f"/people/{person.pk}/history/").content.decode()


def test_note_bodies_are_masked_in_lists_and_whole_by_id(cast: Any, api_for: Any) -> None:
    from registru.people.services import create_note

    note = create_note({"kind": "call", "body": "Are un copil bolnav"}, actor=SETUP, person=cast.alice_person)
    client = api_for(cast.alice)
    for path in ("/api/v1/notes", f"/api/v1/people/{cast.alice_person.pk}/notes"):
        listed = client.get(path)
        assert "copil" not in listed.content.decode()
        assert listed.json()["items"][0]["masked"] == ["body"]
    assert client.get(f"/api/v1/notes/{note.pk}").json()["body"] == "Are un copil bolnav"
