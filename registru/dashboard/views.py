"""The dashboard: what is due and what is wrong, for the roles that oversee (docs/dashboard.md)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from registru.dashboard.access import has_dashboard
from registru.dashboard.selectors import overview_for


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Counts only, each linked to the page where it is dealt with; a role with no item: 403."""
    if not has_dashboard(request.user):
        raise PermissionDenied
    return render(request, "dashboard/dashboard.html", {"overview": overview_for(request.user)})
