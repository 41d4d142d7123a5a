"""Every authenticated request checks its device session: ended or timed out means logged out,
and a role that requires two-factor reaches nothing but enrolment until the session has it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _

from registru.accounts.auth_views import ENDED
from registru.accounts.models import DeviceSession, User
from registru.accounts.services import sessions, twofactor
from registru.core.middleware import API_PREFIX


class DeviceSessionMiddleware:
    """Runs after the authentication and OTP middleware, before any view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        key = request.session.session_key
        if not (user.is_authenticated and key):
            return self.get_response(request)
        session = sessions.adopt_session(user, key, sessions.Client.of(request))
        refused = self._ended(request, session) or self._needs_enrolment(request, user)
        if refused is not None:
            return refused
        sessions.touch_session(session)
        request.device_session = session  # type: ignore[attr-defined]
        return self.get_response(request)

    def _ended(self, request: HttpRequest, session: DeviceSession) -> HttpResponse | None:
        if session.ended_at is None:
            timeout = sessions.timed_out(session, request.user)
            if timeout is None:
                return None
            sessions.end_session(session, actor=sessions.TIMEOUTS, reason=timeout)
        reason = session.end_reason
        logout(request)  # the row is ended already: this records no second event
        request.session[ENDED] = reason
        return self._refuse(request, resolve_url(settings.LOGIN_URL), _("This session was ended. Log in again."))

    def _needs_enrolment(self, request: HttpRequest, user: User) -> HttpResponse | None:
        if not twofactor.required_for(user) or user.is_verified():  # type: ignore[attr-defined]
            return None
        if request.path in self.open_paths:
            return None
        message = _("Your role requires two-factor authentication: set it up on your account page first.")
        return self._refuse(request, reverse("accounts:two_factor"), message)

    @staticmethod
    def _refuse(request: HttpRequest, location: str, message: str) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": message}, status=401)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = location
            return response
        return redirect(location)

    @cached_property
    def open_paths(self) -> frozenset[str]:
        """What a session without the required second factor may still reach."""
        names = ["accounts:two_factor", "logout", "login", "login_code", "set_language"]
        return frozenset(reverse(name) for name in names)
