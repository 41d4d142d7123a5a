"""The person's survey answers, on their page (the page has already checked scope)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language

from registru.questionnaires.models import Answer, QuestionKind
from registru.vault import services as vault

register = template.Library()


@register.inclusion_tag("questionnaires/_survey_answers.html")
def survey_answers(person: Any) -> dict[str, Any]:
    language = (get_language() or "ro").split("-")[0]
    answers = Answer.objects.filter(person=person).select_related("question", "response").order_by("-id")[:50]
    key = vault.data_key(person.pk)
    rows = []
    for answer in answers:
        value = vault.decrypt(person.pk, "survey_answer", answer.value, key)
        question = answer.question
        if value != vault.ERASED and question.kind not in (QuestionKind.TEXT, QuestionKind.DATE):
            labels = question.option_labels(language)
            chosen = value if isinstance(value, list) else [value]
            value = ", ".join(labels[index] for index in chosen if isinstance(index, int) and index < len(labels))
        rows.append({"question": question.label(language), "value": value, "when": answer.response.submitted_at})
    return {"rows": rows}
