"""What the questionnaire pages show: the list, each one's results (counts, never who), and
the review queue of the people a user may change."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from registru.core.scopes import Action, restrict
from registru.people.models import Person
from registru.questionnaires.fields import LABELS
from registru.questionnaires.models import (
    Answer,
    Proposal,
    ProposalStatus,
    Question,
    QuestionKind,
    Questionnaire,
    RequestStatus,
    Response,
)
from registru.questionnaires.services import reviewable
from registru.vault import services as vault


def questionnaires_for(user: Any) -> QuerySet[Questionnaire]:
    return Questionnaire.objects.annotate(
        asked=Count("requests"), answered=Count("requests", filter=Q(requests__status=RequestStatus.ANSWERED))
    ).order_by("name", "id")


@dataclass
class QuestionResult:
    question: Question
    counts: list[tuple[str, int]] = field(default_factory=list)  # (option, how many)
    answered: int = 0

    @property
    def most(self) -> int:
        return max((count for _label, count in self.counts), default=0)


@dataclass
class Results:
    asked: int
    answered: int
    open: int
    expired: int
    confirmed: int
    corrections: list[tuple[str, int]]
    pending: int
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> float:
        return self.answered / self.asked if self.asked else 0.0


def results(questionnaire: Questionnaire, language: str) -> Results:
    counts = questionnaire.requests.aggregate(
        asked=Count("id"),
        answered=Count("id", filter=Q(status=RequestStatus.ANSWERED)),
        open=Count("id", filter=Q(status=RequestStatus.OPEN)),
        expired=Count("id", filter=Q(status=RequestStatus.EXPIRED)),
    )
    proposals = Proposal.objects.filter(response__request__questionnaire=questionnaire)
    corrections = [
        (str(LABELS.get(row["field"], row["field"])), row["n"])
        for row in proposals.values("field").annotate(n=Count("id")).order_by("-n", "field")
    ]
    return Results(
        **counts,
        confirmed=Response.objects.filter(request__questionnaire=questionnaire, confirmed_as_is=True).count(),
        corrections=corrections,
        pending=proposals.filter(status=ProposalStatus.PENDING).count(),
        questions=[_question_result(question, language) for question in questionnaire.questions.all()],
    )


def _question_result(question: Question, language: str) -> QuestionResult:
    """Counts per option. Answers are encrypted per person, so they are read with each person's
    key; an erased person's answers no longer count."""
    result = QuestionResult(question)
    answers = list(Answer.objects.filter(question=question).values_list("person_id", "value"))
    if question.kind in (QuestionKind.TEXT, QuestionKind.DATE):
        result.answered = len(answers)
        return result
    tally: Counter[int] = Counter()
    with vault.keys_for({person_id for person_id, _value in answers}):
        for person_id, stored in answers:
            value = vault.decrypt(person_id, "survey_answer", stored, vault.data_key(person_id))
            if value == vault.ERASED:
                continue
            result.answered += 1
            for option in value if isinstance(value, list) else [value]:
                tally[option] += 1
    result.counts = [(label, tally.get(index, 0)) for index, label in enumerate(question.option_labels(language))]
    return result


def review_queue(user: Any) -> QuerySet[Proposal]:
    return reviewable(user).order_by("id")


def already_decided(user: Any, pk: int) -> bool:
    """Whether proposal ``pk`` is one this user could have reviewed, and it has been decided
    (a second click, or a colleague first): they are told so, not shown "not found"."""
    people = restrict(user, Person, Action.CHANGE)
    return Proposal.objects.filter(pk=pk, person__in=people).exclude(status=ProposalStatus.PENDING).exists()
