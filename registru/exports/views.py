"""Export pages: ask, watch, download; approve; the export register. Thin: parse, call one
service or selector, render."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from registru.accounts.roles import Capability
from registru.core.pagination import InvalidCursorError, Page, Sort, paginate
from registru.core.views import apply_errors, capability_required
from registru.exports import policy, selectors, services
from registru.exports.fields import FIELDS
from registru.exports.forms import DecisionForm, ExportForm, RegisterFilterForm, filter_form, people_criteria
from registru.exports.models import ExportRequest, ExportStatus
from registru.exports.services.requests import CANCELLABLE

PAGE_SIZE = 25
NEWEST = Sort("id", descending=True)
WATCHED = (ExportStatus.APPROVED, ExportStatus.GENERATING)


def _page(request: HttpRequest, requests: Any, name: str) -> Page[ExportRequest]:
    try:
        return paginate(requests, NEWEST, name, request.GET.get("cursor"), PAGE_SIZE)
    except InvalidCursorError:
        return paginate(requests, NEWEST, name, None, PAGE_SIZE)


def _requester(request: HttpRequest) -> None:
    """Refuse (and record) users whose role may not export."""
    if not request.user.can(Capability.REQUEST_EXPORT):  # type: ignore[union-attr]
        services.record_denial(actor=request.user, target=ExportRequest(pk=None), detail="export request page")
        raise PermissionDenied


def _visible(request: HttpRequest, pk: int) -> ExportRequest:
    try:
        return selectors.visible_requests(request.user).get(pk=pk)
    except ExportRequest.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@never_cache
def export_new(request: HttpRequest) -> HttpResponse:
    """Ask for an export. The people list posts its filter here (q, organization, owner,
    status, archived, stale); the request itself is sent with the ``request`` button."""
    _requester(request)
    people = filter_form(request.POST, request.user)
    criteria = people_criteria(people)
    submitted = request.method == "POST" and "purpose" in request.POST
    form = ExportForm(request.POST if submitted else None, user=request.user)
    if submitted and form.is_valid():
        try:
            export = services.request_export(
                actor=request.user, criteria=criteria, fields=form.cleaned_data["columns"],
                fmt=form.cleaned_data["format"], purpose=form.cleaned_data["purpose"],
            )  # fmt: skip
        except services.ExportBlockedError as exc:
            return _blocked(request, exc)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if export.needs_approval:
                messages.success(request, _("Export #%(id)d asked: it now waits for a second person's approval.")
                                 % {"id": export.pk})  # fmt: skip
            else:
                messages.success(request, _("Export #%(id)d approved: the file is being made.") % {"id": export.pk})
            return redirect("exports:detail", export.pk)
    codes = form.cleaned_data["columns"] if form.is_bound and form.is_valid() else list(form.fields["columns"].initial)
    context = {"form": form, "people": people, "criteria": criteria,
               "assessment": policy.assess(request.user, criteria, codes),
               "blocked": policy.viewing_blocked(request.user)}  # fmt: skip
    return render(request, "exports/form.html", context)


def _blocked(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """The clear refusal of an export step while the user's viewing is blocked (403)."""
    return render(request, "exports/blocked.html", {"message": str(exc)}, status=403)


@login_required
@require_POST
def export_preview(request: HttpRequest) -> HttpResponse:
    """How many people the export would hold and whether it needs approval (as the form changes)."""
    _requester(request)
    criteria = people_criteria(filter_form(request.POST, request.user))
    codes = [code for code in request.POST.getlist("columns") if code in FIELDS]
    return render(request, "exports/_preview.html", {"assessment": policy.assess(request.user, criteria, codes)})


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    """The user's own exports, with their state and the download button."""
    _requester(request)
    page = _page(request, selectors.own_requests(request.user), "exports")
    return render(request, "exports/list.html", {"page": page, "watched": WATCHED})


@capability_required(Capability.APPROVE_EXPORTS)
def approval_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.to_approve(request.user), "approvals")
    return render(request, "exports/approvals.html", {"page": page})


def _detail_context(request: HttpRequest, export: ExportRequest) -> dict[str, Any]:
    user: Any = request.user
    criteria = policy.criteria_of(export)
    return {
        "export": export,
        "query": criteria.query,
        "mine": export.requester_id == user.pk,
        "may_decide": export.status == ExportStatus.PENDING and selectors.may_decide(user, export),
        "downloads": export.download_log.select_related("user") if user.can(Capability.READ_EXPORT_REGISTER) else None,
        "decision_form": DecisionForm(),
        "watched": WATCHED,
        "cancellable": CANCELLABLE,
    }  # fmt: skip


@login_required
@never_cache
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "exports/detail.html", _detail_context(request, _visible(request, pk)))


@login_required
@require_GET
def export_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The state and progress alone, polled by the page while the file is being made."""
    return render(request, "exports/_progress.html", _detail_context(request, _visible(request, pk)))


DECISIONS = {"approve": services.approve_export, "refuse": services.refuse_export}


@login_required
@require_POST
def export_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    export = _visible(request, pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        DECISIONS[decision](export, actor=request.user, note=note)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, _("Export approved.") if decision == "approve" else _("Export refused."))
    return redirect("exports:detail", export.pk)


@login_required
@require_POST
def export_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    export = _visible(request, pk)
    try:
        services.cancel_export(export, actor=request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, _("Export cancelled."))
    return redirect("exports:detail", export.pk)


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The file, to its requester only, while the link holds; every download is recorded."""
    try:
        export, path = services.record_download(pk, actor=request.user, ip=request.META.get("REMOTE_ADDR"))
    except services.ExportNotFoundError as exc:
        raise Http404 from exc
    except services.ExportBlockedError as exc:
        return _blocked(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("exports:detail", pk)
    if not path.is_file():
        raise Http404
    content_type = (
        "text/csv; charset=utf-8"
        if export.format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    filename = f"registru-export-{export.pk}.{export.format}"
    response = FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


@capability_required(Capability.READ_EXPORT_REGISTER)
@never_cache
def export_register(request: HttpRequest) -> HttpResponse:
    """Every request, decision, file hash, row count and download."""
    form = RegisterFilterForm(request.GET or None)
    page = _page(request, selectors.register(form.criteria()), "register")
    return render(request, "exports/register.html", {"form": form, "page": page, "query": request.GET.urlencode()})


@capability_required(Capability.READ_EXPORT_REGISTER)
@require_GET
def export_register_csv(request: HttpRequest) -> HttpResponse:
    form = RegisterFilterForm(request.GET or None)
    out = io.StringIO()
    services.write_register_csv(out, actor=request.user, criteria=form.criteria())
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="registru-export-register.csv"'
    response["Cache-Control"] = "no-store"
    return response
