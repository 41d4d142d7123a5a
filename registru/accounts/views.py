"""The user's own account page: who they are, their sessions, two-factor and API tokens."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registru.accounts import services
from registru.accounts.forms import TokenForm
from registru.accounts.models import ApiToken, User
from registru.accounts.roles import Capability
from registru.accounts.selectors import tokens_of
from registru.accounts.services import sessions, twofactor


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """Profile and tokens; a new token is shown on this response only, never again."""
    user = cast(User, request.user)
    may_use_api = user.can(Capability.USE_API)
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and may_use_api and form.is_valid():
        _token, new_token = services.create_api_token(
            user,
            form.cleaned_data["name"],
            actor=user,
            days=form.cleaned_data["days"],
        )
        form = TokenForm()
    context = {
        "form": form,
        "tokens": tokens_of(request.user),
        "new_token": new_token,
        "may_use_api": may_use_api,
        "sessions": sessions.sessions_of(user),
        "current_session": sessions.current_session_of(request),
        "two_factor_on": twofactor.has_two_factor(user),
        "two_factor_required": twofactor.required_for(user),
    }
    return render(request, "accounts/account.html", context)


@login_required
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = tokens_of(request.user).get(pk=pk)
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    services.revoke_api_token(token, actor=request.user)
    messages.success(request, _("The token was revoked."))
    return redirect("accounts:account")
