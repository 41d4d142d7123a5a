"""The questionnaire pages: who may define them, what results show, the review queue's scope."""

from __future__ import annotations

import csv
import io

import pytest

from registru.conftest import login
from registru.questionnaires import services
from registru.questionnaires.models import Questionnaire
from registru.testing.questionnaires import make_questionnaire

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Verificare anuală", "groups": ["name", "phones", "job_title"],
    "intro_ro": "Verificați datele.", "intro_en": "Check your data.",
    "subject_ro": "Datele dumneavoastră", "body_ro": "Bună ziua, {name}! {link}",
    "subject_en": "Your data", "body_en": "Hello {name}! {link}",
    "every_months": "12", "schedule": "since_verified", "reminders": "1", "reminder_days": "7", "valid_days": "30",
    "review": "on",
    "q-TOTAL_FORMS": "2", "q-INITIAL_FORMS": "0", "q-MIN_NUM_FORMS": "0", "q-MAX_NUM_FORMS": "20",
    "q-0-kind": "choice", "q-0-label_ro": "Canal preferat", "q-0-label_en": "Preferred channel",
    "q-0-options": "Telefon / Phone\nE-mail / Email", "q-0-required": "on",
    "q-1-kind": "text", "q-1-label_ro": "", "q-1-label_en": "", "q-1-options": "",
}  # fmt: skip


def test_a_manager_defines_a_questionnaire_with_an_extra_question(cast) -> None:
    response = login(cast.bob).post("/questionnaires/new/", FORM)
    assert response.status_code == 302
    questionnaire = Questionnaire.objects.get()
    assert questionnaire.fields == ["name", "phones", "job_title"]
    assert questionnaire.review
    assert not questionnaire.active
    (question,) = questionnaire.questions.all()
    assert question.options == [{"ro": "Telefon", "en": "Phone"}, {"ro": "E-mail", "en": "Email"}]
    page = login(cast.bob).get(f"/questionnaires/{questionnaire.pk}/edit/").content.decode()
    assert "Telefon / Phone" in page


def test_rounds_are_defined_with_their_first_date(cast) -> None:
    client = login(cast.dora)
    assert client.post("/questionnaires/new/", FORM | {"schedule": "rounds"}).status_code == 200  # no date
    assert not Questionnaire.objects.exists()
    response = client.post("/questionnaires/new/", FORM | {"schedule": "rounds", "next_round_at": "2027-01-15T09:00"})
    assert response.status_code == 302
    questionnaire = Questionnaire.objects.get()
    assert questionnaire.schedule == "rounds"
    assert questionnaire.next_round_at is not None
    assert questionnaire.next_round_at.date().isoformat() == "2027-01-15"


def test_a_choice_without_options_is_refused_and_nothing_is_saved(cast) -> None:
    form = FORM | {"q-0-options": "Doar una / Only one"}
    assert login(cast.bob).post("/questionnaires/new/", form).status_code == 200
    assert not Questionnaire.objects.exists()


@pytest.mark.parametrize("user", ["alice", "mara", "audra", "admin"])
def test_only_managers_and_the_dpo_define_questionnaires(cast, user) -> None:
    client = login(getattr(cast, user))
    assert client.get("/questionnaires/").status_code == 403
    assert client.post("/questionnaires/new/", FORM).status_code == 403
    assert not Questionnaire.objects.exists()


def test_the_results_count_answers_per_option_and_download_as_csv(cast, smtp_inbox) -> None:
    from registru.questionnaires.tests.test_questionnaires import link_for, page_fields

    questionnaire = make_questionnaire()
    services.run()
    from registru.mail.services import deliver_due

    deliver_due()
    from django.test import Client

    question = questionnaire.questions.get(kind="choice")
    for person, option in ((cast.alice_person, "0"), (cast.andrei_person, "1"), (cast.carol_person, "1")):
        path = link_for(smtp_inbox, person)
        Client().post(path, page_fields(Client(), path) | {"action": "confirm", f"q{question.pk}": option})
    page = login(cast.dora).get(f"/questionnaires/{questionnaire.pk}/").content.decode()
    assert "Confirmed as is" in page
    rows = list(csv.reader(io.StringIO(login(cast.dora).get(f"/questionnaires/{questionnaire.pk}/results.csv")
                                       .content.decode())))  # fmt: skip
    counts = {row[1]: row[2] for row in rows[1:] if row[0] == question.label_en}
    assert counts == {"Monthly": "1", "Quarterly": "2"}
    assert not any(cast.alice_person.family_name in cell for row in rows for cell in row)
