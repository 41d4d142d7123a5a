"""Questionnaire pages: the list, defining one, its results with a CSV of the counts (managers
and the DPO), and the review queue (whoever may change the people concerned)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registru.accounts.roles import Capability
from registru.accounts.services.budget import charge
from registru.core.errors import NotInScopeError
from registru.core.pagination import InvalidCursorError, Sort, paginate
from registru.core.templatetags.registru import phone
from registru.core.views import apply_errors, capability_required, form_error_text
from registru.people.disclosure import field_policy, mask_value
from registru.questionnaires import selectors, services
from registru.questionnaires.fields import LABELS
from registru.questionnaires.forms import DecisionForm, QuestionFormSet, QuestionnaireForm, question_initial
from registru.questionnaires.models import Proposal, Questionnaire

MANAGE = capability_required(Capability.MANAGE_QUESTIONNAIRES)
REVIEW = capability_required(Capability.BROWSE_RECORDS)
PAGE_SIZE = 25


def _language() -> str:
    return (get_language() or "ro").split("-")[0]


@MANAGE
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    return render(request, "questionnaires/list.html", {"questionnaires": selectors.questionnaires_for(request.user)})


@MANAGE
@require_http_methods(["GET", "POST"])
def questionnaire_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@MANAGE
@require_http_methods(["GET", "POST"])
def questionnaire_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(Questionnaire, pk=pk))


def _edit(request: HttpRequest, questionnaire: Questionnaire | None) -> HttpResponse:
    form = QuestionnaireForm(request.POST or None, questionnaire=questionnaire)
    initial = question_initial(list(questionnaire.questions.all())) if questionnaire else []
    questions = QuestionFormSet(request.POST or None, prefix="q", initial=initial)
    if request.method == "POST":
        if form.is_valid() and questions.is_valid():
            asked = [f.question() for f in questions if f.has_changed() and not f.cleaned_data.get("DELETE")]
            try:
                saved = services.save_questionnaire(questionnaire, form.service_values(), asked, actor=request.user)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Questionnaire saved."))
                return redirect("questionnaires:detail", saved.pk)
        else:
            messages.error(request, form_error_text(form) or _("Check the questions."))
    return render(request, "questionnaires/form.html",
                  {"form": form, "questions": questions, "questionnaire": questionnaire})  # fmt: skip


@MANAGE
def questionnaire_detail(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = get_object_or_404(Questionnaire, pk=pk)
    results = selectors.results(questionnaire, _language())
    due = services.due_people(questionnaire, services.timezone.now()).count() if questionnaire.active else 0
    return render(request, "questionnaires/detail.html",
                  {"questionnaire": questionnaire, "results": results, "due": due})  # fmt: skip


@MANAGE
@require_POST
def questionnaire_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask who is due now rather than at the next tick of the clock."""
    get_object_or_404(Questionnaire, pk=pk)
    from registru.mail.tasks import deliver_now

    report = services.run()
    deliver_now.enqueue()
    messages.success(request, _("%(count)d people were asked.") % {"count": report.sent})
    return redirect("questionnaires:detail", pk)


@MANAGE
def questionnaire_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The counts behind the charts (no person in them)."""
    questionnaire = get_object_or_404(Questionnaire, pk=pk)
    results = selectors.results(questionnaire, _language())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Question"), _("Option"), _("Answers")])
    for row in results.questions:
        label = row.question.label(_language())
        for option, count in row.counts or [("", row.answered)]:
            writer.writerow([label, option, count])
    for name, count in results.corrections:
        writer.writerow([_("Corrected: %(field)s") % {"field": name}, "", count])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="questionnaire-{questionnaire.pk}-results.csv"'
    return response


@REVIEW
def review_list(request: HttpRequest) -> HttpResponse:
    queue = selectors.review_queue(request.user)
    try:
        page = paginate(queue, Sort("id"), "reviews", request.GET.get("cursor"), PAGE_SIZE)
    except InvalidCursorError:
        page = paginate(queue, Sort("id"), "reviews", None, PAGE_SIZE)
    charge(request.user, [proposal.person_id for proposal in page.items])
    masked = field_policy(request.user).masked
    rows = [_row(proposal, masked) for proposal in page.items]
    return render(request, "questionnaires/reviews.html", {"page": page, "rows": rows, "form": DecisionForm()})


def _row(proposal: Proposal, masked: frozenset[str]) -> dict[str, Any]:
    """One proposed change; values of fields the reviewer's role sees masked are masked here too
    (the reviewer can open the record and reveal them with a reason)."""
    old, new = services.proposal_values(proposal)
    field = proposal.field
    phones = field == "phones" and field not in masked  # a masked value is shown as masked
    if field in masked:
        old, new = mask_value(field, old), mask_value(field, new)
    return {"proposal": proposal, "label": LABELS.get(field, field), "old": _shown(old, phones=phones),
            "new": _shown(new, phones=phones), "by_hand": field in services.REVIEW_ONLY}  # fmt: skip


def _shown(value: Any, *, phones: bool) -> str:
    """A proposal's value as one line: lists (emails, phones) joined, phone numbers grouped as the
    person's page shows them, texts as they are."""
    if isinstance(value, list):
        return ", ".join(phone(str(item)) if phones else str(item) for item in value)
    return "" if value is None else str(value)


def _decided_already(request: HttpRequest, pk: int) -> HttpResponse:
    if not selectors.already_decided(request.user, pk):
        raise Http404
    messages.info(request, _("This correction has already been decided; nothing was changed now."))
    return redirect("questionnaires:reviews")


@REVIEW
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.review_queue(request.user).filter(pk=pk).first()
    if proposal is None:
        return _decided_already(request, pk)
    charge(request.user, [proposal.person_id])
    form = DecisionForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.decide_proposal(proposal, accept=form.cleaned_data["decision"] == "accept",
                                     reason=form.cleaned_data["reason"], actor=request.user)  # fmt: skip
        except NotInScopeError:
            return _decided_already(request, pk)  # decided by someone else in the meantime
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("questionnaires:reviews")
    else:
        error = form_error_text(form)
    return render(request, "questionnaires/reviews.html", {
        "page": None, "rows": [_row(proposal, field_policy(request.user).masked)], "form": form, "error": error,
    })  # fmt: skip
