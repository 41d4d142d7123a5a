"""Views and helpers shared by the apps' pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from registru.accounts.roles import Capability
from registru.dashboard.access import starts_at_dashboard


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts where its work is: the dashboard (the DPO, auditors, marketing), records,
    or the account page."""
    user = request.user
    if starts_at_dashboard(user):
        return redirect("dashboard:dashboard")
    if user.can(Capability.BROWSE_RECORDS):  # type: ignore[union-attr]
        return redirect("people:list")
    return redirect("accounts:account")


@require_GET
@never_cache
def health(request: HttpRequest) -> HttpResponse:
    """Liveness and database check for load balancers; says nothing else."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def capability_required(
    capability: Capability,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Log in first, then refuse (403) users whose role lacks ``capability``."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.can(capability):  # type: ignore[union-attr]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorate


def apply_errors(form: Form, exc: ValidationError, *, inline: tuple[str, ...] = ()) -> None:
    """Show a service's validation errors on the form fields they belong to.

    ``inline`` names inputs the template renders itself (emails, phones): their errors are
    kept under their own name so that the template can show them beside the inputs.
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, messages in exc.message_dict.items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
        elif field in inline:
            form.errors.setdefault(field, form.error_class()).extend(messages)
        else:
            form.add_error(None, [f"{field}: {message}" for message in messages])


def form_error_text(form: Form) -> str:
    """All of a form's errors as one sentence, for a flash message."""
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def optional_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**62 else None


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token (a page left open too long, a browser that blocks
    cookies): a page in the user's language that says what to do, instead of Django's English
    one. On the public pages it speaks to the person who followed a link."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "CSRF check failed."}, status=403)
    if not request.path.startswith("/p/"):
        return render(request, "403_csrf.html", {"reason": "session"}, status=403)
    # The public forms carry the language they were shown in (the person's, not the browser's).
    language = request.POST.get("page_language", "")
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language()
    with translation.override(language):
        return render(request, "portal/problem.html", {"reason": "session"}, status=403)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 in the API's own shape for API paths, the page otherwise."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
