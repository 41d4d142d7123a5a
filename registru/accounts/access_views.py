"""Pages of the access-request procedure: my requests, requests to decide, one request.

The requester's pages show only what they typed (masked) and the request's state as they read
it (``shown_status``: a refusal only from ``settle_after`` on, with its note): they look the same
whether the identifier named a record or not. The deciders see the true state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registru.accounts.forms import (
    AccessProcedureForm,
    AccessRequestForm,
    ApproveAccessForm,
    RefuseAccessForm,
    RevokeAccessForm,
)
from registru.accounts.models import AccessRequest, User
from registru.accounts.models.grants import IdentifiedBy
from registru.accounts.roles import Capability
from registru.accounts.services import grants
from registru.core.errors import ConflictError, NotInScopeError
from registru.core.scopes import restrict
from registru.core.views import apply_errors, capability_required, form_error_text
from registru.people import services as people_services
from registru.people.models import Organization

records_required = capability_required(Capability.BROWSE_RECORDS)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _request_or_404(request: HttpRequest, pk: int) -> AccessRequest:
    try:
        return grants.request_for(_user(request), pk)
    except AccessRequest.DoesNotExist as exc:
        raise Http404 from exc


@records_required
@require_http_methods(["GET", "POST"])
def my_requests(request: HttpRequest) -> HttpResponse:
    """The user's requests, and the form to file one."""
    user = _user(request)
    kind = request.GET.get("kind")
    initial = {"identified_by": kind} if kind in IdentifiedBy.values else {}
    form = AccessRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            filed = grants.file_access_request(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except ConflictError as exc:
            if exc.code != "already_in_scope":
                form.add_error(None, exc.message)
            else:
                messages.info(request, exc.message)
                return redirect("accounts:access")
        else:
            message = _("Your request #%(number)s was filed; the person responsible will decide.")
            messages.success(request, message % {"number": filed.pk})
            return redirect("accounts:access")
    context = {"form": form, "requests": grants.requests_of(user), "tab": "mine"}
    return render(request, "accounts/access/requests.html", context)


@login_required
def to_decide(request: HttpRequest) -> HttpResponse:
    """Pending requests for records the user owns or, as a manager or the DPO, oversees."""
    user = _user(request)
    related = ("requester", "person", "organization")
    context = {
        "pending": grants.requests_to_decide(user).select_related(*related).order_by("created_at", "pk"),
        "active": grants.grants_to_revoke(user).select_related(*related, "decided_by").order_by("expires_at", "pk"),
        "tab": "decide",
    }
    return render(request, "accounts/access/decide.html", context)


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access_request = _request_or_404(request, pk)
    is_requester = access_request.requester_id == user.pk
    note_shown = not is_requester or access_request.decision_shown
    context = {
        "access_request": access_request,
        "is_requester": is_requester,
        "status": access_request.shown_status if is_requester else access_request.decider_status,
        "decision_note": access_request.decision_note if note_shown else "",
        "record": grants.record_shown(user, access_request),
        "may_withdraw": is_requester and access_request.reads_as_waiting,
        "may_decide": not is_requester and grants.may_decide(user, access_request),
        "may_revoke": grants.may_revoke(user, access_request),
        "approve_form": ApproveAccessForm(request=access_request),
        "refuse_form": RefuseAccessForm(),
        "revoke_form": RevokeAccessForm(),
    }
    return render(request, "accounts/access/detail.html", context)


def _act(request: HttpRequest, pk: int, action: Callable[[AccessRequest], str]) -> HttpResponse:
    """Run one decision on the request; a request the user may not act on is not found."""
    access_request = _request_or_404(request, pk)
    try:
        messages.success(request, action(access_request))
    except NotInScopeError as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ConflictError as exc:
        messages.error(request, exc.message)
    return redirect("accounts:access_detail", pk=pk)


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    def run(access_request: AccessRequest) -> str:
        form = ApproveAccessForm(request.POST, request=access_request)
        if not form.is_valid():
            raise ValidationError(form_error_text(form))
        grants.approve_access_request(access_request, actor=_user(request), **form.cleaned_data)
        return _("Request #%(number)s was approved.") % {"number": pk}

    return _act(request, pk, run)


@login_required
@require_POST
def refuse(request: HttpRequest, pk: int) -> HttpResponse:
    def run(access_request: AccessRequest) -> str:
        form = RefuseAccessForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        grants.refuse_access_request(access_request, actor=_user(request), note=note)
        return _("Request #%(number)s was refused.") % {"number": pk}

    return _act(request, pk, run)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    def run(access_request: AccessRequest) -> str:
        grants.withdraw_access_request(access_request, actor=_user(request))
        return _("Request #%(number)s was withdrawn.") % {"number": pk}

    return _act(request, pk, run)


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    def run(access_request: AccessRequest) -> str:
        form = RevokeAccessForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        grants.revoke_access_grant(access_request, actor=_user(request), reason=reason)
        return _("Access #%(number)s was revoked.") % {"number": pk}

    return _act(request, pk, run)


@capability_required(Capability.MANAGE_ACCESS_POLICY)
@require_POST
def organization_procedure(request: HttpRequest, pk: int) -> HttpResponse:
    """Administrators make an organization a key account (or an ordinary one again)."""
    try:
        organization = restrict(request.user, Organization).get(pk=pk)
    except Organization.DoesNotExist as exc:
        raise Http404 from exc
    form = AccessProcedureForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        _set_procedure(request, organization, form.cleaned_data)
    return redirect("organizations:detail", pk=pk)


def _set_procedure(request: HttpRequest, organization: Organization, data: dict[str, Any]) -> None:
    try:
        people_services.set_access_procedure(
            organization, required=data["required"], actor=request.user, reason=data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Saved: who may see this organization has changed."))
