"""The access policy page (administrators) and the viewing blocks page (managers, the DPO)."""

from __future__ import annotations

from copy import copy
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registru.accounts.forms import LiftBlockForm, RolePolicyForm
from registru.accounts.policy import all_policies
from registru.accounts.roles import Capability, Role
from registru.accounts.selectors import blocks_for
from registru.accounts.services import budget
from registru.accounts.services.policy import save_role_policy
from registru.core.views import capability_required

policy_required = capability_required(Capability.MANAGE_ACCESS_POLICY)
blocks_required = capability_required(Capability.LIFT_VIEW_BLOCKS)


@policy_required
@require_http_methods(["GET", "POST"])
def access_policy(request: HttpRequest) -> HttpResponse:
    """One form per role: masking of contact and sensitive fields, view budgets, sessions, 2FA."""
    posted_role = request.POST.get("role") if request.method == "POST" else None
    if posted_role is not None and posted_role not in Role.values:
        raise Http404
    forms: list[tuple[Any, RolePolicyForm]] = []
    for policy in all_policies():
        bound = policy.role == posted_role
        form = RolePolicyForm(request.POST if bound else None, instance=copy(policy), prefix=policy.role)
        if bound and form.is_valid():
            save_role_policy(policy.role, form.cleaned_data, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The policy of %(role)s was saved.") % {"role": policy})
            return redirect("accounts:access_policy")
        forms.append((policy, form))
    return render(request, "accounts/policy.html", {"forms": forms})


@blocks_required
def viewing_blocks(request: HttpRequest) -> HttpResponse:
    blocks = blocks_for(request.user, lifted=request.GET.get("lifted") == "1")
    page = Paginator(blocks, 25).get_page(request.GET.get("page"))
    context = {"page": page, "form": LiftBlockForm(), "lifted": request.GET.get("lifted") == "1"}
    return render(request, "accounts/blocks.html", context)


@blocks_required
@require_POST
def lift_block(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        block = blocks_for(request.user).get(pk=pk)
    except budget.ViewBlock.DoesNotExist as exc:
        raise Http404 from exc
    form = LiftBlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for lifting the block."))
    elif budget.lift_block(block, actor=request.user, reason=form.cleaned_data["reason"]):
        messages.success(request, _("The block was lifted."))
    else:
        messages.info(request, _("The block had already been lifted."))
    return redirect("accounts:viewing_blocks")
