"""Pages for organizations."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registru.accounts.forms import AccessProcedureForm
from registru.accounts.roles import Capability
from registru.audit.models import AuditEvent
from registru.core.errors import ConflictError
from registru.core.pagination import InvalidCursorError
from registru.core.scopes import Action
from registru.core.views import apply_errors, form_error_text
from registru.people import selectors, services
from registru.people.forms import NoteForm, OrganizationFilterForm, OrganizationForm, ReasonForm
from registru.people.models import Organization
from registru.people.views import HISTORY_PAGE_SIZE, presented, records_required


def _organization_or_404(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> Organization:
    try:
        return selectors.get_organization(request.user, pk, action)
    except Organization.DoesNotExist as exc:
        raise Http404 from exc


@records_required
@require_http_methods(["GET", "POST"])
def organization_list(request: HttpRequest) -> HttpResponse:
    form = OrganizationFilterForm(request.POST or None, user=request.user)
    criteria, sort, cursor = selectors.OrganizationFilter(), "name", None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        criteria = selectors.OrganizationFilter(
            query=data["q"], owner_id=data["owner"].pk if data["owner"] else None,
            status=data["status"], archived=data["archived"],
        )  # fmt: skip
        sort, cursor = data["sort"] or "name", data["cursor"] or None
    try:
        page = selectors.list_organizations(request.user, criteria, sort=sort, cursor=cursor)
    except InvalidCursorError:
        page = selectors.list_organizations(request.user, criteria, sort=sort)
    template = "people/org_results.html" if request.htmx else "people/org_list.html"  # type: ignore[attr-defined]
    return render(request, template, {"form": form, "page": page})


@records_required
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        organization = selectors.organization_detail(request.user, pk)
    except Organization.DoesNotExist as exc:
        raise Http404 from exc
    affiliations, people_count = selectors.organization_people(request.user, organization)
    context = {
        "organization": organization,
        "affiliations": affiliations,
        "people_count": people_count,
        "note_form": NoteForm(),
        "tab": "details",
        "procedure_form": _procedure_form(request, organization),
        "may_change": selectors.may_change_organization(request.user, organization),
    }
    return render(request, "people/org_detail.html", context)


def _procedure_form(request: HttpRequest, organization: Organization) -> AccessProcedureForm | None:
    """Administrators see the key-account switch (it posts to ``accounts:access_procedure``)."""
    if not request.user.can(Capability.MANAGE_ACCESS_POLICY):  # type: ignore[union-attr]
        return None
    return AccessProcedureForm(initial={"required": organization.access_by_request})


@records_required
def organization_history(request: HttpRequest, pk: int) -> HttpResponse:
    organization = _organization_or_404(request, pk)
    events = AuditEvent.objects.filter(target_type=Organization._meta.label_lower, target_id=organization.pk).order_by(
        "-id"
    )
    page = Paginator(events, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "organization": organization,
        "page": page,
        "events": presented(request, page),
        "tab": "history",
        "may_change": selectors.may_change_organization(request.user, organization),
    }
    return render(request, "people/org_history.html", context)


@records_required
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None, user=request.user, initial={"owner": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.create_organization(
                form.service_data(editing=False), actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except ConflictError as exc:
            form.add_error("cui", exc.message)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": organization.name})
            return redirect("organizations:detail", pk=organization.pk)
    return render(request, "people/org_form.html", {"form": form, "organization": None})


@records_required
@require_http_methods(["GET", "POST"])
def organization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organization = _organization_or_404(request, pk, Action.CHANGE)
    initial = {
        name: getattr(organization, name) for name in OrganizationForm.base_fields if hasattr(organization, name)
    }
    initial["version"] = organization.version
    form = OrganizationForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_organization(
                organization, form.service_data(editing=True), actor=request.user,
                expected_version=form.cleaned_data["version"], reason=form.cleaned_data["reason"],
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(form, exc)
        except ConflictError as exc:
            form.add_error("cui" if exc.code == "duplicate_tax_id" else None, exc.message)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("organizations:detail", pk=pk)
    return render(request, "people/org_form.html", {"form": form, "organization": organization})


@records_required
@require_POST
def organization_archive(request: HttpRequest, pk: int) -> HttpResponse:
    organization = _organization_or_404(request, pk, Action.CHANGE)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.archive_organization(organization, actor=request.user, reason=reason)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("organizations:detail", pk=pk)
    undo = reverse("organizations:restore", args=[pk])
    messages.success(request, _("%(name)s was archived.") % {"name": organization.name}, extra_tags=f"undo:{undo}")
    return redirect("organizations:list")


@records_required
@require_POST
def organization_restore(request: HttpRequest, pk: int) -> HttpResponse:
    organization = _organization_or_404(request, pk, Action.CHANGE)
    try:
        services.restore_organization(organization, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s was restored.") % {"name": organization.name})
    return redirect("organizations:detail", pk=pk)


@records_required
@require_POST
def organization_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    organization = _organization_or_404(request, pk, Action.CHANGE)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.create_note(form.service_data(), actor=request.user, organization=organization)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Note added."))
    else:
        messages.error(request, form_error_text(form))
    return redirect(reverse("organizations:detail", args=[pk]) + "#notes")
