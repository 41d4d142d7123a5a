"""Pages that restrict processing of a person's data (GDPR Art. 18) and lift the restriction.

Both are the DPO's (``Capability.RESTRICT_PROCESSING``); like every change of a person, they
answer "not found" for a record outside the user's scope before anything else.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from registru.accounts.roles import Capability
from registru.core.errors import ConflictError
from registru.core.scopes import Action
from registru.core.views import apply_errors
from registru.people import selectors, services
from registru.people.forms import LiftRestrictionForm, RestrictForm
from registru.people.models import Person
from registru.people.views import records_required


def _restrictable_or_403(request: HttpRequest, pk: int) -> Person:
    try:
        person = selectors.get_person(request.user, pk, Action.CHANGE)
    except Person.DoesNotExist as exc:
        raise Http404 from exc
    if not request.user.can(Capability.RESTRICT_PROCESSING):  # type: ignore[union-attr]
        raise PermissionDenied
    return person


@records_required
@require_http_methods(["GET", "POST"])
def person_restrict(request: HttpRequest, pk: int) -> HttpResponse:
    """The DPO restricts processing of the person's data, on a ground of Art. 18(1), for a reason."""
    done = _("Processing of %(name)s's data is restricted: it is only stored until the restriction is lifted.")
    return _decide(
        request, pk, form_class=RestrictForm, decision=services.restrict_processing, done=done,
        template="people/restrict.html",
    )  # fmt: skip


@records_required
@require_http_methods(["GET", "POST"])
def person_lift_restriction(request: HttpRequest, pk: int) -> HttpResponse:
    """The DPO lifts the restriction after telling the person (Art. 18(3)), for a reason."""
    done = _("The restriction was lifted; %(name)s's data is processed again.")
    return _decide(
        request, pk, form_class=LiftRestrictionForm, decision=services.lift_restriction, done=done,
        template="people/lift_restriction.html",
    )  # fmt: skip


def _decide(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type[forms.Form],
    decision: Callable[..., Person],
    done: str,
    template: str,
) -> HttpResponse:
    """The form of one decision on the person; on a valid POST the service makes it, and the
    person's page says so (or, if the record's state forbids it, why not)."""
    person = _restrictable_or_403(request, pk)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            decision(person, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("people:detail", pk=pk)
        else:
            messages.success(request, done % {"name": person.full_name})
            return redirect("people:detail", pk=pk)
    return render(request, template, {"person": person, "form": form})
