"""Request-wide middleware: the request id and audit context, and no caching of pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from registru.core.context import Channel, audit_context, new_request_id

API_PREFIX = "/api/"
PORTAL_PREFIX = "/p/"  # the public pages people reach from their email (no login)


class RequestContextMiddleware:
    """Give each request an id (returned as ``X-Request-ID``) and open its audit context.

    The id is always made here, never taken from the client, so that ids in the audit trail
    cannot be chosen by whoever sends the request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        channel = (
            Channel.API
            if request.path.startswith(API_PREFIX)
            else Channel.PORTAL
            if request.path.startswith(PORTAL_PREFIX)
            else Channel.UI
        )
        with audit_context(channel, request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ViewingBlockedMiddleware:
    """A page that would show people to a user whose view budget is spent says so, with 429."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from registru.accounts.services.budget import ViewingBlockedError

        if not isinstance(exception, ViewingBlockedError):
            return None
        return render(request, "accounts/viewing_blocked.html", {"message": exception.message}, status=429)


class NoStoreMiddleware:
    """Pages and API answers may hold personal data: browsers and proxies must not keep them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.static_prefix):
            response["Cache-Control"] = "no-store"
        return response
