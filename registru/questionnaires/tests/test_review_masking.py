"""The corrections review queue is a list of people: masked by the reviewer's policy, charged."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from registru.accounts.models import ViewedPerson
from registru.conftest import login
from registru.questionnaires.tests.test_questionnaires import link_for, page_fields, sent
from registru.testing.factories import PersonFactory
from registru.testing.questionnaires import make_questionnaire

pytestmark = pytest.mark.django_db


def _corrected_phone(cast: Any, smtp_inbox: Any) -> Any:
    due = PersonFactory(lawful_basis="contract", phones=["0722123456"], owner=cast.alice)
    questionnaire = make_questionnaire(review=True)
    sent(questionnaire, smtp_inbox)
    client = Client()
    path = link_for(smtp_inbox, due)
    question = questionnaire.questions.get(kind="choice")
    data = page_fields(client, path) | {"phones": "0733 111 222", "action": "save", f"q{question.pk}": "0"}
    assert client.post(path, data).status_code == 200
    return due


def test_the_review_queue_masks_phones_for_a_role_that_sees_them_masked(cast: Any, smtp_inbox: Any) -> None:
    due = _corrected_phone(cast, smtp_inbox)
    masked = login(cast.admin).get("/questionnaires/reviews/").content.decode()  # contact: reveal
    assert "+40733111222" not in masked
    assert "+40722123456" not in masked
    assert "+40 7** *** 222" in masked
    clear = login(cast.bob).get("/questionnaires/reviews/").content.decode()  # manager: contact in clear
    assert "+40 733 111 222" in clear
    charged = set(ViewedPerson.objects.filter(user=cast.bob).values_list("person_id", flat=True))
    assert due.pk in charged


def test_the_review_queue_shows_phones_grouped_as_the_persons_page_does(cast: Any, smtp_inbox: Any) -> None:
    _corrected_phone(cast, smtp_inbox)
    page = login(cast.bob).get("/questionnaires/reviews/").content.decode()
    assert "<td>+40 722 123 456</td>" in page
    assert "<strong>+40 733 111 222</strong>" in page
