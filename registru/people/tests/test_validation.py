"""Invariant 7: bad input gets a clear error and changes nothing, on every channel."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from registru.audit.models import AuditEvent
from registru.people import services
from registru.people.models import Organization, Person
from registru.people.validation import normalize_email, normalize_phone, normalize_tax_id

pytestmark = pytest.mark.django_db

VALID = {"given_name": "Ana", "family_name": "Pop"}
BAD_PERSON_INPUT = [
    ({"emails": ["ana@"]}, "emails"),
    ({"emails": ["nu este email"]}, "emails"),
    ({"phones": ["12"]}, "phones"),
    ({"phones": ["+40 722 12"]}, "phones"),
    ({"given_name": "x" * 101}, "given_name"),
    ({"family_name": ""}, "family_name"),
    ({"birth_date": "2999-01-01"}, "birth_date"),
    ({"birth_date": "not a date"}, "birth_date"),
    ({"preferred_language": "klingon"}, "preferred_language"),
    ({"lawful_basis": "because"}, "lawful_basis"),
    ({"favourite_colour": "blue"}, "favourite_colour"),
    ({"job_title": "nul\x00byte"}, "job_title"),
    ({"emails": [f"a{i}@firma.ro" for i in range(11)]}, "emails"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_PERSON_INPUT, ids=[f for _b, f in BAD_PERSON_INPUT])
def test_it_refuses_bad_person_input_and_saves_nothing(cast, bad, field) -> None:
    people, events = Person.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        services.create_person(VALID | bad, actor=cast.alice)
    assert field in error.value.message_dict
    assert all(error.value.message_dict[field])
    assert (Person.objects.count(), AuditEvent.objects.count()) == (people, events)


@pytest.mark.parametrize(
    ("cui", "country"),
    [("18547291", "RO"), ("RO18547291", "RO"), ("12", "RO"), ("DE123", "DE"), ("FR40303265046", "FR")],
)
def test_it_refuses_invalid_tax_ids(cast, cui, country) -> None:
    with pytest.raises(ValidationError) as error:
        services.create_organization({"name": "Firma", "cui": cui, "country": country}, actor=cast.alice)
    assert "cui" in error.value.message_dict
    assert not Organization.objects.filter(name="Firma").exists()


def test_it_keeps_the_ro_prefix_of_a_valid_cui_and_normalises_spacing() -> None:
    assert normalize_tax_id("ro 185 472 90", "RO") == "RO18547290"
    assert normalize_tax_id("18547290", "RO") == "18547290"
    assert normalize_tax_id("DE 136 695 976", "DE") == "DE136695976"


def test_it_normalises_phones_to_e164_and_emails_to_their_canonical_form() -> None:
    assert normalize_phone("0722 123 456") == "+40722123456"
    assert normalize_phone("+49 40 1234567") == "+49401234567"
    assert normalize_email("Ana.Pop@FIRMA.ro") == "Ana.Pop@firma.ro"


def test_it_refuses_an_update_that_is_partly_bad_without_applying_the_good_part(cast) -> None:
    person = cast.andrei_person
    with pytest.raises(ValidationError):
        services.update_person(person, {"job_title": "Bun", "phones": ["greșit"]}, actor=cast.andrei)
    assert Person.objects.get(pk=person.pk).job_title == ""
    assert not AuditEvent.objects.filter(subject_id=person.pk, action="person.updated").exists()


def test_it_answers_bad_api_input_with_422_and_the_field_path(cast, api_for) -> None:
    events = AuditEvent.objects.count()
    response = api_for(cast.alice).post(
        "/api/v1/people", data=json.dumps(VALID | {"phones": ["0722"]}), content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "phones"]
    assert AuditEvent.objects.count() == events + 1  # only the token creation


def test_it_answers_unknown_api_fields_with_422(cast, api_for) -> None:
    response = api_for(cast.alice).post(
        "/api/v1/people", data=json.dumps(VALID | {"is_vip": True}), content_type="application/json"
    )
    assert response.status_code == 422
    assert "is_vip" in json.dumps(response.json())
    assert not Person.objects.filter(family_name="Pop").exists()


def test_it_shows_form_errors_inline_and_saves_nothing(cast, client_for) -> None:
    response = client_for(cast.alice).post(
        "/people/new/",
        {"given_name": "Ana", "family_name": "Pop", "emails": ["ana@"], "phones": ["0722 123 456"],
         "preferred_language": "ro", "source": "other", "lawful_basis": "consent", "country": "RO",
         "owner": cast.alice.pk},
    )  # fmt: skip
    assert response.status_code == 200
    assert "is not a valid email address" in response.context["form"].errors["emails"][0]
    emails_fieldset = response.content.decode().split('id="emails-rows"')[1].split("</fieldset>")[0]
    assert "is not a valid email address" in emails_fieldset
    assert not Person.objects.filter(family_name="Pop").exists()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_it_never_crashes_on_arbitrary_phone_text(text: str) -> None:
    try:
        result = normalize_phone(text)
    except ValidationError:
        return
    assert result.startswith("+")


def test_the_api_literals_match_the_model_choices() -> None:
    from typing import get_args

    from registru.people.schemas import CHOICE_LITERALS

    for literal, choices in CHOICE_LITERALS.items():
        assert set(get_args(literal)) == set(choices.values), choices.__name__


@pytest.mark.parametrize("when", ["2026-01-01T10:00:00", "9999-12-31T23:30:00Z", "1850-01-01T00:00:00Z"])
def test_it_refuses_note_times_without_a_zone_or_out_of_range(cast, api_for, when: str) -> None:
    url = f"/api/v1/people/{cast.andrei_person.pk}/notes"
    response = api_for(cast.andrei).post(
        url, data=json.dumps({"body": "x", "occurred_at": when}), content_type="application/json"
    )
    assert response.status_code == 422
    assert not cast.andrei_person.notes.exists()


def test_a_manager_sending_no_owner_gets_422_not_500(cast, api_for) -> None:
    body = json.dumps({"given_name": "A", "family_name": "FaraResponsabil", "owner_id": None})
    response = api_for(cast.bob).post("/api/v1/people", data=body, content_type="application/json")
    assert response.status_code == 422
    assert not Person.objects.filter(family_name="FaraResponsabil").exists()


def test_it_refuses_a_team_outside_the_actors_own(cast, api_for) -> None:
    from registru.accounts.models import Team

    team_b = Team.objects.get(name="Vânzări B")
    url = f"/api/v1/organizations/{cast.alice_org.pk}"
    response = api_for(cast.alice).patch(url, data=json.dumps({"team_id": team_b.pk}), content_type="application/json")
    assert response.status_code == 422
    assert Organization.objects.get(pk=cast.alice_org.pk).team_id != team_b.pk


def test_the_team_follows_a_new_owner(cast) -> None:
    services.update_organization(cast.alice_org, {"owner": cast.carol}, actor=cast.dora)
    assert Organization.objects.get(pk=cast.alice_org.pk).team == cast.carol.team


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("email", "foo@", "„foo@” nu este o adresă de e-mail validă: după semnul @ nu urmează nimic."),
        ("email", "a b@firma.ro", "„a b@firma.ro” nu este o adresă de e-mail validă: conține caractere"),
        ("cui", "18547291", "„18547291” nu este un CUI sau un cod de TVA valid: cifra de control nu se potrivește"),
        ("cui", "123456789012", "„123456789012” nu este un CUI sau un cod de TVA valid: are prea puține"),
    ],
)
def test_the_reasons_of_invalid_emails_and_tax_ids_are_in_the_users_language(field, value, expected) -> None:
    """The libraries give their reasons in English only; Registru says them in Romanian too."""
    from django.utils import translation

    with translation.override("ro"), pytest.raises(ValidationError) as error:
        normalize_email(value) if field == "email" else normalize_tax_id(value, "RO")
    [message] = error.value.messages
    assert message.startswith(expected)
    assert not message.endswith(".).")
