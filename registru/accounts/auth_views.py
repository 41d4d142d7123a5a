"""Logging in (password, then a code when two-factor is on), two-factor enrolment, sessions.

Each refused attempt is one security event: a wrong password or code, or a lockout. Throttling
is django-axes' (per user name and address), and wrong codes count towards it like passwords.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any, cast

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.models import Device

from registru.accounts.forms import CodeForm, LoginForm, SessionFilterForm
from registru.accounts.models import DeviceSession, User
from registru.accounts.models.devices import SessionEnd
from registru.accounts.roles import Capability
from registru.accounts.services import sessions, twofactor
from registru.accounts.throttling import throttled_name
from registru.audit.actions import AuditAction as A
from registru.core.pagination import InvalidCursorError, Sort, paginate
from registru.core.views import capability_required

PENDING = "registru_pending_login"  # the user who gave the right password, until the code
ENDED = "registru_session_ended"  # why the previous session was ended, for the login page
PENDING_SECONDS = 300
SESSIONS_PAGE_SIZE = 25


def ended_message(reason: str) -> str:
    texts: dict[str, str] = {
        SessionEnd.BY_USER: _("This session was ended from your account page. Log in again to continue."),
        SessionEnd.BY_ADMINISTRATOR: _("This session was ended by an administrator. Log in again to continue."),
        SessionEnd.IDLE: _("This session was ended because it was idle for too long. Log in again to continue."),
        SessionEnd.EXPIRED: _("This session was ended because it reached its maximum length. Log in again."),
    }
    return texts.get(reason, _("This session was ended. Log in again to continue."))


def _me(request: HttpRequest) -> User:
    """The logged-in user as a model instance: OTPMiddleware wraps it in a lazy object, and the
    trail names a target by its model."""
    user: Any = request.user
    while type(user) is SimpleLazyObject:  # one wrapper per middleware
        _ = user.pk  # evaluate it
        user = user._wrapped
    return cast(User, user)


def _next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


# The password step ------------------------------------------------------------------------


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """The password; then the code step for users with two-factor on."""
    next_url = _next(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            return _password_accepted(request, form.get_user(), next_url)
        refused = _password_refused(request)
        if refused is not None:
            return refused
    ended = request.session.pop(ENDED, "")
    context = {"form": form, "next": next_url, "ended": ended_message(ended) if ended else ""}
    return render(request, "registration/login.html", context)


def _password_accepted(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    if not twofactor.has_two_factor(user):
        return _complete_login(request, user, None, next_url)
    request.session[PENDING] = {
        "user": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
        "at": time.time(),
        "next": next_url,
    }
    return redirect("login_code")


def _password_refused(request: HttpRequest) -> HttpResponse | None:
    """Record the refused attempt (not a half-filled form); answer with the lockout page if
    this attempt was refused because of, or caused, a lockout."""
    username = request.POST.get("username", "")[:150]
    if not (username and request.POST.get("password")):
        return None
    locked = bool(getattr(request, "axes_locked_out", False))
    action = A.LOGIN_LOCKED_OUT if locked else A.LOGIN_FAILED
    user = User.objects.filter(username=username).first()
    if user is not None:
        sessions.record_login_failure(user, actor=user, action=action, reason=_failures(request))
    else:
        _record_unknown(request, username, action)
    return _locked_out(request) if locked else None


def _record_unknown(request: HttpRequest, username: str, action: A) -> None:
    ip_address = getattr(request, "axes_ip_address", None)
    attempts = AccessAttempt.objects.filter(username=throttled_name(username), ip_address=ip_address)
    attempt = attempts.order_by("-attempt_time").first()
    # Without a throttling record (a whitelisted address) there is nothing to name as the
    # target; the attempt was not counted either, and is left out of the trail.
    if attempt is not None:
        sessions.record_unknown_login_failure(username, attempt, actor=sessions.UNKNOWN_ACCOUNT, action=action)


def _failures(request: HttpRequest) -> str:
    count = getattr(request, "axes_failures_since_start", None)
    return f"{count} failed attempts" if count else ""


def _locked_out(request: HttpRequest) -> HttpResponse:
    """The lockout page, with when the user can try again. Axes would answer too (without the
    time); this view has answered, so its middleware is told to leave the answer alone."""
    request.axes_locked_out = False  # type: ignore[attr-defined]
    cool_off = get_cool_off(request) or timedelta(minutes=15)
    context = {"until": timezone.now() + cool_off, "minutes": math.ceil(cool_off.total_seconds() / 60)}
    return render(request, "registration/locked_out.html", context, status=429)


def _complete_login(request: HttpRequest, user: User, device: Device | None, next_url: str) -> HttpResponse:
    """Log in, record the device session and the event; a role that requires two-factor and
    a user without it goes to enrolment first."""
    auth_login(request, user, backend=getattr(user, "backend", None))
    if device is not None:
        otp_login(request, device)
    action = A.RECOVERY_CODE_USED if device is not None and twofactor.is_recovery(device) else A.LOGIN_SUCCEEDED
    client = sessions.Client.of(request)
    session_key = cast(str, request.session.session_key)
    two_factor = device is not None
    request.device_session = sessions.start_session(  # type: ignore[attr-defined]
        user, session_key, client, actor=user, two_factor=two_factor, action=action
    )
    if device is None and twofactor.required_for(user):
        return redirect("accounts:two_factor")
    return redirect(next_url)


# The code step ----------------------------------------------------------------------------


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    return (user, pending) if user is not None else None


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the app, or a recovery code."""
    found = _pending(request)
    if found is None:
        messages.info(request, _("Log in with your password first (the code step lasts five minutes)."))
        return redirect("login")
    user, pending = found
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if AxesProxyHandler.is_locked(request, {"username": user.username}):
            return _code_locked_out(request, user)
        try:
            device = twofactor.check_code(user, form.cleaned_data["code"])
        except twofactor.CodeThrottledError as exc:
            refusal = throttled_message(exc.seconds)
        else:
            if device is not None:
                request.session.pop(PENDING, None)
                user.backend = pending["backend"]
                return _complete_login(request, user, device, pending["next"])
            refusal = _("Wrong code. Enter the code your app shows now, or a recovery code.")
        refused = _code_refused(request, user, form, refusal)
        if refused is not None:
            return refused
    return render(request, "registration/login_code.html", {"form": form})


def throttled_message(seconds: int) -> str:
    """What a code tried while wrong ones slow the device down reads: it was not checked (it may
    well be right), and when the next one will be."""
    text = ngettext(
        "Too many wrong codes: this one was not checked. Wait %(seconds)d second, then enter the newest code.",
        "Too many wrong codes: this one was not checked. Wait %(seconds)d seconds, then enter the newest code.",
        seconds,
    )
    return text % {"seconds": seconds}


def _code_refused(request: HttpRequest, user: User, form: CodeForm, refusal: str) -> HttpResponse | None:
    # A wrong code is a failed login for throttling: the code step locks out like the password.
    # So is a code tried too soon, unchecked, as an attempt while locked out is (_code_locked_out).
    user_login_failed.send(sender=__name__, credentials={"username": user.username}, request=request)
    if getattr(request, "axes_locked_out", False):
        return _code_locked_out(request, user, counted=True)
    sessions.record_login_failure(user, actor=user, action=A.TWO_FACTOR_FAILED, reason=_failures(request))
    form.add_error("code", refusal)
    return None


def _code_locked_out(request: HttpRequest, user: User, *, counted: bool = False) -> HttpResponse:
    if not counted:
        # An attempt while locked out counts too (and keeps the lock), as for passwords.
        user_login_failed.send(sender=__name__, credentials={"username": user.username}, request=request)
    request.session.pop(PENDING, None)
    sessions.record_login_failure(user, actor=user, action=A.LOGIN_LOCKED_OUT, reason=_failures(request))
    return _locked_out(request)


# Two-factor enrolment ---------------------------------------------------------------------


@sensitive_post_parameters("code")
@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol (scan, confirm with a code) or, when on, see the state and manage it."""
    user = _me(request)
    if twofactor.has_two_factor(user):
        return render(request, "accounts/two_factor.html", _two_factor_state(user))
    device = twofactor.begin_enrolment(user, actor=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = twofactor.confirm_enrolment(user, form.cleaned_data["code"], actor=user)
        except twofactor.CodeThrottledError as exc:
            form.add_error("code", throttled_message(exc.seconds))
        else:
            if codes is not None:
                _verified_now(request, user)
                context = _two_factor_state(user) | {"recovery_codes": codes, "just_enrolled": True}
                return render(request, "accounts/two_factor.html", context)
            form.add_error("code", _("That code does not match. Check the app's clock and try the newest code."))
    context = {
        "form": form,
        "qr": twofactor.qr_svg(device),
        "secret": twofactor.secret_text(device),
        "required": twofactor.required_for(user),
    }
    return render(request, "accounts/two_factor_enrol.html", context)


def _verified_now(request: HttpRequest, user: User) -> None:
    device = twofactor.totp_device(user)
    if device is not None:
        otp_login(request, device)
    current = sessions.current_session_of(request)
    if current is not None:
        sessions.mark_two_factor(current)


def _two_factor_state(user: User) -> dict[str, Any]:
    return {
        "recovery_left": twofactor.recovery_codes_left(user),
        "required": twofactor.required_for(user),
        "disable_form": CodeForm(),
    }


@login_required
@require_POST
def regenerate_recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, from a session that passed two-factor (not from a password alone)."""
    user = _me(request)
    if not twofactor.has_two_factor(user) or not user.is_verified():  # type: ignore[attr-defined]
        raise Http404
    codes = twofactor.regenerate_recovery_codes(user, actor=user)
    return render(request, "accounts/two_factor.html", _two_factor_state(user) | {"recovery_codes": codes})


@sensitive_post_parameters("code")
@login_required
@require_POST
def disable_two_factor(request: HttpRequest) -> HttpResponse:
    """Turn two-factor off, on a current code; a role that requires it cannot."""
    user = _me(request)
    if not twofactor.has_two_factor(user):
        return redirect("accounts:two_factor")
    if twofactor.required_for(user):
        messages.error(request, _("Your role requires two-factor authentication: it cannot be turned off."))
        return redirect("accounts:two_factor")
    form = CodeForm(request.POST)
    refusal = _("That code does not match: two-factor authentication is still on.")
    try:
        if form.is_valid() and twofactor.disable_two_factor(user, form.cleaned_data["code"], actor=user):
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:account")
    except twofactor.CodeThrottledError as exc:
        refusal = throttled_message(exc.seconds)
    sessions.record_login_failure(user, actor=user, action=A.TWO_FACTOR_FAILED, reason="turning two-factor off")
    state = _two_factor_state(user) | {"disable_form": form}
    form.add_error(None, refusal)
    return render(request, "accounts/two_factor.html", state, status=400)


# Sessions ---------------------------------------------------------------------------------


@login_required
@require_POST
def end_session(request: HttpRequest, pk: int) -> HttpResponse:
    """End one session: one's own, or anyone's for an administrator (others: 404)."""
    user = _me(request)
    may_manage = user.can(Capability.MANAGE_SESSIONS)
    found = DeviceSession.objects.filter(pk=pk, ended_at__isnull=True)
    session = (found if may_manage else found.filter(user=user)).select_related("user").first()
    if session is None:
        raise Http404
    reason = SessionEnd.BY_USER if session.user_id == user.pk else SessionEnd.BY_ADMINISTRATOR
    sessions.end_session(session, actor=user, reason=reason)
    current = sessions.current_session_of(request)
    if current is not None and current.pk == session.pk:
        auth_logout(request)
        request.session[ENDED] = str(reason)
        return redirect("login")
    messages.success(request, _("The session was ended: that device is logged out at its next click."))
    return redirect("accounts:all_sessions" if request.POST.get("back") == "all" else "accounts:account")


@capability_required(Capability.MANAGE_SESSIONS)
@require_http_methods(["GET"])
def all_sessions(request: HttpRequest) -> HttpResponse:
    """Every user's active sessions, newest first, filtered by user."""
    form = SessionFilterForm(request.GET or None)
    chosen = form.cleaned_data["user"] if form.is_valid() else None
    listed = sessions.active_sessions(chosen.pk if chosen else None)
    try:
        page = paginate(listed, Sort("id", descending=True), "sessions", request.GET.get("cursor"), SESSIONS_PAGE_SIZE)
    except InvalidCursorError:
        page = paginate(listed, Sort("id", descending=True), "sessions", None, SESSIONS_PAGE_SIZE)
    current = sessions.current_session_of(request)
    context = {"form": form, "page": page, "chosen": chosen, "current_pk": current.pk if current else None}
    return render(request, "accounts/all_sessions.html", context)


@capability_required(Capability.MANAGE_SESSIONS)
@require_POST
def end_user_sessions(request: HttpRequest, pk: int) -> HttpResponse:
    """End every session of one user (a lost phone, someone leaving), and revoke their API tokens."""
    target = User.objects.filter(pk=pk).first()
    if target is None:
        raise Http404
    ended = sessions.end_all_sessions(target, actor=request.user)
    message = _("%(count)s sessions of %(user)s were ended and their API tokens revoked.")
    messages.success(request, message % {"count": ended, "user": target.label})
    if target.pk == request.user.pk:
        return redirect("login")
    return redirect("accounts:all_sessions")


@capability_required(Capability.MANAGE_SESSIONS)
@require_POST
def reset_user_two_factor(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a user's two-factor off (lost phone and no recovery code), end their sessions and
    revoke their API tokens."""
    target = User.objects.filter(pk=pk).first()
    if target is None:
        raise Http404
    twofactor.reset_two_factor(target, actor=request.user, reason="lost device")
    sessions.end_all_sessions(target, actor=request.user)
    messages.success(
        request, _("Two-factor authentication of %(user)s is off; they enrol again.") % {"user": target.label}
    )
    return redirect("accounts:all_sessions")
