"""The page a person reaches from a questionnaire's link (``/p/q/TOKEN/``, no login): their data
as it is, to confirm with one button or correct, and the extra questions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from registru.people.choices import Language, PersonStatus
from registru.portal import links
from registru.portal.tokens import TokenUse
from registru.portal.views import evidence_of, problem
from registru.questionnaires import services
from registru.questionnaires.fields import LABELS, LIST_FIELDS, MAX_TEXT, as_text, asked_fields, current_values
from registru.questionnaires.models import Question, QuestionKind, Request, RequestStatus

TOKEN_AGE = links.PREFERENCES_VALID  # requests close at their own expires_at; this is a backstop


def _open(token: str) -> Request | str:
    return links.open_record(
        TokenUse.QUESTIONNAIRE, token, TOKEN_AGE, Request.objects.select_related("questionnaire", "person"),
        lambda found: links.questionnaire_binding(found.person_id, found.questionnaire_id),
    )  # fmt: skip


def _closed(request: Request) -> str:
    if request.status == RequestStatus.ANSWERED:
        return "answered"
    if request.status == RequestStatus.EXPIRED or request.expires_at <= timezone.now():
        return "expired"
    person = request.person
    if request.status != RequestStatus.OPEN or person.status != PersonStatus.ACTIVE or person.archived_at:
        return "closed"
    return ""


def _closed_page(http_request: HttpRequest, found: Request, reason: str) -> HttpResponse:
    """Why this questionnaire's link cannot be used; once answered, where the preferences are."""
    context = {"reason": reason, "kind": "questionnaire"}
    if reason == "answered":
        context["preferences_url"] = links.preferences_url(found.person_id)
    return render(http_request, "portal/problem.html", context, status=410 if reason == "expired" else 409)


class ResponseForm(forms.Form):
    """The person's fields, pre-filled, and the extra questions, built per questionnaire."""

    def __init__(self, *args: Any, request: Request, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.names = asked_fields(request.questionnaire.fields)
        values = current_values(request.person, self.names)
        for name in self.names:
            self.fields[name] = self._person_field(name)
            self.initial[name] = as_text(name, values[name])
        self.questions = list(request.questionnaire.questions.all())
        for question in self.questions:
            self.fields[f"q{question.pk}"] = self._question_field(question, request.language)

    @staticmethod
    def _person_field(name: str) -> forms.Field:
        label = LABELS[name]
        if name == "preferred_language":
            return forms.ChoiceField(label=label, choices=Language.choices, required=False)
        if name in LIST_FIELDS:
            help_text = _("One per line; the first is the one we use.")
            return forms.CharField(label=label, required=False, max_length=MAX_TEXT, help_text=help_text,
                                   widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
        return forms.CharField(label=label, required=False, max_length=300)

    @staticmethod
    def _question_field(question: Question, language: str) -> forms.Field:
        label, required = question.label(language), question.required
        choices = list(enumerate(question.option_labels(language)))
        if question.kind == QuestionKind.TEXT:
            return forms.CharField(
                label=label, required=required, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
            )
        if question.kind == QuestionKind.DATE:
            return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}))
        if question.kind == QuestionKind.MULTIPLE:
            return forms.TypedMultipleChoiceField(label=label, required=required, choices=choices, coerce=int,
                                                  widget=forms.CheckboxSelectMultiple)  # fmt: skip
        return forms.TypedChoiceField(label=label, required=required, choices=choices, coerce=int,
                                      widget=forms.RadioSelect, empty_value=None)  # fmt: skip

    def person_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.names]

    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"q{question.pk}"] for question in self.questions]

    def submission(self, confirm_all: bool) -> services.Submission:
        data = self.cleaned_data
        texts = {name: str(data.get(name) or "") for name in self.names}
        answers = {}
        for question in self.questions:
            value = data.get(f"q{question.pk}")
            if value in (None, "", []):
                continue
            answers[question.pk] = value.isoformat() if hasattr(value, "isoformat") else value
        return services.Submission(texts=texts, answers=answers, confirm_all=confirm_all)


@require_http_methods(["GET", "POST"])
def questionnaire(request: HttpRequest, token: str) -> HttpResponse:
    found = _open(token)
    if isinstance(found, str):
        return problem(request, found, status=410 if found == "expired" else 400, kind="questionnaire")
    with translation.override(found.language):
        closed = _closed(found)
        if closed:
            return _closed_page(request, found, closed)
        form = ResponseForm(request.POST or None, request=found)
        if request.method == "GET":
            services.mark_opened(found, actor=services.subject_actor(found.questionnaire))
        elif form.is_valid():
            confirm_all = request.POST.get("action") == "confirm"
            try:
                actor = services.subject_actor(found.questionnaire)
                services.submit(found, form.submission(confirm_all), actor=actor, evidence=evidence_of(request))
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, messages)
            except services.AlreadyAnsweredError:
                return _closed_page(request, found, "answered")
            else:
                return render(request, "portal/questionnaire_done.html", {
                    "review": found.questionnaire.review, "confirm_all": confirm_all,
                    "preferences_url": links.preferences_url(found.person_id),
                })  # fmt: skip
        return render(request, "portal/questionnaire.html", {
            "form": form, "request_": found, "intro": found.questionnaire.text("intro", found.language),
            "asks_consents": "consents" in found.questionnaire.fields,
            "preferences_url": links.preferences_url(found.person_id),
        }, status=400 if request.method == "POST" else 200)  # fmt: skip
