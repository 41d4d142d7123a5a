"""A questionnaire's free-text answer is kept in the trail, encrypted under the person's key,
and the History shows it to those who may see it, and as erased after the erasure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from registru.audit.models import AuditEvent
from registru.people import services
from registru.people.models import Person
from registru.questionnaires import services as questionnaires
from registru.questionnaires.models import Request
from registru.testing.factories import PersonFactory
from registru.testing.questionnaires import make_questionnaire

pytestmark = pytest.mark.django_db
FREE_TEXT = "Sunați-mă joia, după ora 17"


@pytest.fixture
def answered(cast) -> Person:
    person = PersonFactory(owner=cast.alice, emails=["raspuns@exemplu.ro"])
    questionnaire = make_questionnaire()
    questionnaires.run()
    request = Request.objects.get(questionnaire=questionnaire, person=person)
    by_kind = {question.kind: question.pk for question in questionnaire.questions.all()}
    answers = {by_kind["choice"]: 1, by_kind["text"]: FREE_TEXT}
    submission = questionnaires.Submission(texts={}, answers=answers, confirm_all=True)
    evidence = SimpleNamespace(ip="", user_agent="")
    questionnaires.submit(request, submission, actor=questionnaires.subject_actor(questionnaire), evidence=evidence)
    return person


def free_text_shown(client, person: Person) -> str:
    events = client.get(f"/people/{person.pk}/history/").context["events"]
    return next(
        change.new for view in events for change in view.changes if change.label == "answers in their own words"
    )


def test_the_free_text_answer_is_in_the_trail_encrypted(answered) -> None:
    event = AuditEvent.objects.get(subject_id=answered.pk, action="questionnaire.answered")
    assert "enc" in event.changes["free_text"][1]
    assert "joia" not in event.canonical


def test_the_history_shows_the_free_text_answer_to_who_sees_the_person(cast, answered, client_for) -> None:
    # As the answers on the person's page and the notes: whoever sees the person reads them.
    assert free_text_shown(client_for(cast.alice), answered) == f"Altceva?: {FREE_TEXT}"  # asked in Romanian


def test_someone_outside_the_persons_scope_reads_nothing_of_it(cast, answered, client_for) -> None:
    response = client_for(cast.carol).get(f"/people/{answered.pk}/history/")
    assert (response.status_code, FREE_TEXT in response.content.decode()) == (404, False)


def test_after_the_erasure_the_history_shows_it_as_erased(cast, answered, client_for) -> None:
    services.erase_person(Person.objects.get(pk=answered.pk), actor=cast.dora, reason="art. 17")
    assert free_text_shown(client_for(cast.dora), answered) == "[erased]"
