"""Staff pages of consent: purposes and their notices (the DPO), a person's consents with the
ledger and staff recording (whoever has the person in scope), and the proof bundle (DPO and
managers, within their scope). Each view parses, calls one selector or service, and renders.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction
from registru.audit.services import record_access
from registru.consent import proof, selectors, services
from registru.consent.forms import NoticeForm, PurposeForm, RecordConsentForm
from registru.consent.models import Purpose
from registru.core.actors import actor_identity
from registru.core.scopes import Action
from registru.core.views import apply_errors, capability_required
from registru.people.models import Person
from registru.people.selectors import get_person, record_head

purposes_required = capability_required(Capability.MANAGE_PURPOSES)
records_required = capability_required(Capability.BROWSE_RECORDS)
proof_required = capability_required(Capability.EXPORT_CONSENT_PROOF)


# --- purposes and notices -------------------------------------------------------------------


@purposes_required
@require_GET
def purpose_list(request: HttpRequest) -> HttpResponse:
    return render(request, "consent/purposes.html", {"rows": selectors.purposes_overview(request.user)})


@purposes_required
@require_http_methods(["GET", "POST"])
def purpose_create(request: HttpRequest) -> HttpResponse:
    form = PurposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            purpose = services.save_purpose(None, form.service_values(), actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The purpose was added. Publish its notices next."))
            return redirect("consent:purpose", pk=purpose.pk)
    return render(request, "consent/purpose_form.html", {"form": form, "purpose": None})


@purposes_required
@require_http_methods(["GET", "POST"])
def purpose_edit(request: HttpRequest, pk: int) -> HttpResponse:
    purpose = get_object_or_404(Purpose, pk=pk)
    form = PurposeForm(request.POST or None, purpose=purpose)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_purpose(purpose, form.service_values(), actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("consent:purpose", pk=purpose.pk)
    return render(request, "consent/purpose_form.html", {"form": form, "purpose": purpose})


@purposes_required
@require_GET
def purpose_detail(request: HttpRequest, pk: int) -> HttpResponse:
    purpose = get_object_or_404(Purpose, pk=pk)
    return render(request, "consent/purpose.html", _purpose_context(purpose, NoticeForm()))


def _purpose_context(purpose: Purpose, form: NoticeForm) -> dict[str, Any]:
    return {"purpose": purpose, "versions": selectors.notices_by_language(purpose), "form": form}


@purposes_required
@require_POST
def notice_publish(request: HttpRequest, pk: int) -> HttpResponse:
    purpose = get_object_or_404(Purpose, pk=pk)
    form = NoticeForm(request.POST)
    if not form.is_valid():
        return render(request, "consent/purpose.html", _purpose_context(purpose, form))
    language, text = form.cleaned_data["language"], form.cleaned_data["text"]
    before = selectors.latest_notice(purpose, language)
    notice = services.publish_notice(purpose, language, text, actor=request.user)
    if before is not None and notice.pk == before.pk:
        messages.info(request, _("The text is the same as version %(version)d: nothing new was published.")
                      % {"version": notice.version})  # fmt: skip
    else:
        messages.success(request, _("Version %(version)d was published.") % {"version": notice.version})
    return redirect("consent:purpose", pk=purpose.pk)


# --- a person's consents --------------------------------------------------------------------


def _person_or_404(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> Person:
    """The person if in the user's scope; outside it, exactly like one that does not exist."""
    try:
        return get_person(request.user, pk, action)
    except Person.DoesNotExist as exc:
        raise Http404 from exc


@records_required
@require_http_methods(["GET", "POST"])
def person_consents(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the person stands, the ledger, and the form for a consent staff collected."""
    person = _person_or_404(request, pk, Action.CHANGE if request.method == "POST" else Action.VIEW)
    form = RecordConsentForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_collected_consent(
                person, data["purpose"], data["channel"], data["kind"], actor=request.user, method=data["method"],
                notice=data["notice"], attestation=data["attestation"], note=data["note"],
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Recorded in the consent ledger."))
            return redirect("consent:person", pk=person.pk)
    return render(request, "consent/person.html", _person_context(request, person, form))


def _person_context(request: HttpRequest, person: Person, form: RecordConsentForm) -> dict[str, Any]:
    return {
        "person": person,
        "tab": "consents",
        "form": form,
        "rows": selectors.consent_states(request.user, person),
        "page": selectors.ledger_page(request.user, person, request.GET.get("cursor")),
        "may_export_proof": request.user.can(Capability.EXPORT_CONSENT_PROOF),  # type: ignore[union-attr]
    } | record_head(request.user, person)  # "may_change": recording a consent changes the person


# --- the proof bundle -----------------------------------------------------------------------


def _bundle(request: HttpRequest, pk: int) -> tuple[Person, dict[str, Any]]:
    person = _person_or_404(request, pk)
    return person, proof.build(person, generated_by=actor_identity(request.user)[1])  # type: ignore[arg-type]


def _downloaded(request: HttpRequest, person: Person, fmt: str, bundle: dict[str, Any]) -> None:
    detail = f"{fmt.upper()}, {len(bundle['events'])} events"
    record_access(
        AuditAction.CONSENT_PROOF_EXPORTED, actor=request.user, target=person, subject_id=person.pk, detail=detail
    )


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@proof_required
@require_GET
def proof_json(request: HttpRequest, pk: int) -> HttpResponse:
    person, bundle = _bundle(request, pk)
    content = json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8")
    _downloaded(request, person, "json", bundle)
    return _attachment(content, "application/json", f"consent-proof-{person.pk}.json")


@proof_required
@require_GET
def proof_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    person, bundle = _bundle(request, pk)
    content = proof.render_pdf(bundle, (get_language() or "ro").split("-")[0])
    _downloaded(request, person, "pdf", bundle)
    return _attachment(content, "application/pdf", f"consent-proof-{person.pk}.pdf")
