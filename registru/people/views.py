"""Pages for people. Each view parses the request, calls one selector or service with the
user as actor, and renders; scope and validation are decided below.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction
from registru.audit.forms import READ_ACTIONS, HistoryFilterForm
from registru.audit.presenters import present_all
from registru.audit.selectors import actors_in, filtered, may_read_trail
from registru.audit.services import record_access
from registru.audit.views import filters_refused, trail_download
from registru.core.errors import ConflictError, NotInScopeError
from registru.core.pagination import InvalidCursorError
from registru.core.scopes import Action, restrict
from registru.core.views import apply_errors, capability_required, form_error_text, optional_int
from registru.people import disclosure, search, selectors, services
from registru.people.forms import (
    AffiliationForm,
    EndAffiliationForm,
    EraseForm,
    NoteForm,
    PeopleFilterForm,
    PersonForm,
    ReasonForm,
)
from registru.people.models import Affiliation, Note, Organization, Person
from registru.people.scopes import invisible_people

records_required = capability_required(Capability.BROWSE_RECORDS)
CONTACT_INPUTS = ("emails", "phones")
HISTORY_PAGE_SIZE = 20


def _person_or_404(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> Person:
    try:
        return selectors.get_person(request.user, pk, action)
    except Person.DoesNotExist as exc:
        raise Http404 from exc


# --- list ----------------------------------------------------------------------------------


@records_required
@require_http_methods(["GET", "POST"])
def person_list(request: HttpRequest) -> HttpResponse:
    """The people list. Searches are POSTed so that names never appear in URLs or logs."""
    data = request.POST if request.method == "POST" else _get_filters(request)
    form = PeopleFilterForm(data or None, user=request.user)
    criteria, sort, cursor = _criteria(form)
    try:
        page = selectors.list_people(request.user, criteria, sort=sort, cursor=cursor)
    except InvalidCursorError:
        page = selectors.list_people(request.user, criteria, sort=sort)
    context = {
        "form": form,
        "page": page,
        "people": disclosure.for_list(page.items),
        "criteria": criteria,
        "name_prefix_only": search.name_prefix_only(criteria.query),
        "organization": _filter_organization(request, criteria),
    }
    template = "people/_results.html" if request.htmx else "people/list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _filter_organization(request: HttpRequest, criteria: selectors.PeopleFilter) -> Organization | None:
    if not criteria.organization_id:
        return None
    return selectors.organizations_for(request.user).filter(pk=criteria.organization_id).first()


def _get_filters(request: HttpRequest) -> dict[str, Any]:
    # Links from an organization page pass its id; ids are not personal data.
    organization = optional_int(request.GET.get("organization"))
    filters: dict[str, Any] = {"organization": organization} if organization else {}
    if request.GET.get("stale"):  # "people whose data went stale": a link, no personal data
        filters["stale"] = "on"
    return filters


def _criteria(form: PeopleFilterForm) -> tuple[selectors.PeopleFilter, str, str | None]:
    if not form.is_bound or not form.is_valid():
        return selectors.PeopleFilter(), "name", None
    data = form.cleaned_data
    paging_a_correction = data["cursor"] and data["corrected_q"]
    criteria = selectors.PeopleFilter(
        query=data["corrected_q"] if paging_a_correction else data["q"],
        organization_id=data["organization"],
        owner_id=data["owner"].pk if data["owner"] else None,
        status=data["status"],
        archived=data["archived"],
        stale=data["stale"],
    )
    return criteria, data["sort"] or "name", data["cursor"] or None


# --- detail, create, edit -----------------------------------------------------------------


def presented(request: HttpRequest, events: Any) -> list[Any]:
    """History events as sentences, naming other people only if the user may see them."""
    masked = disclosure.masked_in_history(request.user)
    return present_all(events, lambda ids: invisible_people(request.user, ids), masked)


@records_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        person = selectors.person_detail(request.user, pk)
    except Person.DoesNotExist as exc:
        raise Http404 from exc
    record_access(AuditAction.PERSON_VIEWED, actor=request.user, target=person, subject_id=person.pk)
    return render(
        request, "people/detail.html", _detail_context(request, person, disclosure.for_detail(request.user, person))
    )


def _detail_context(request: HttpRequest, person: Person, shown: disclosure.Shown) -> dict[str, Any]:
    return {
        "person": person,
        "shown": shown,
        "note_form": NoteForm(),
        "tab": "details",
        "changeable_affiliations": set(
            restrict(request.user, Affiliation, Action.CHANGE).filter(person=person).values_list("pk", flat=True)
        ),
    } | selectors.record_head(request.user, person)


@records_required
@require_POST
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show masked fields of a person in clear, once, for a reason that goes in the history."""
    try:
        person = selectors.person_detail(request.user, pk)
    except Person.DoesNotExist as exc:
        raise Http404 from exc
    groups = set(request.POST.getlist("group")) & set(disclosure.REVEAL_GROUPS)
    try:
        shown = disclosure.reveal(request.user, person, groups, reason=request.POST.get("reason", "")[:300])
        _remember_revealed(request, person.pk, groups)
    except disclosure.RevealRefusedError:
        messages.error(request, _("Give a short reason to reveal these fields."))
        if request.htmx:  # type: ignore[attr-defined]
            return HttpResponse(status=422)
        return redirect("people:detail", pk=pk)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "people/_contact_facts.html", {"person": person, "shown": shown})
    return render(request, "people/detail.html", _detail_context(request, person, shown))


# A reveal on the page also lets its fields be corrected on the edit page for a while, in
# the same session: the DPO rectifying a birth date reveals it (the reason is in the History)
# and then changes it. Without a reveal, masked fields are neither shown nor changed there.
REVEALED_FOR_EDITING = timedelta(minutes=15)


def _remember_revealed(request: HttpRequest, person_pk: int, groups: set[str]) -> None:
    until = timezone.now() + REVEALED_FOR_EDITING
    request.session[f"revealed:{person_pk}"] = {"groups": sorted(groups), "until": until.isoformat()}


def _revealed_fields(request: HttpRequest, person_pk: int) -> frozenset[str]:
    """Fields of the person this user revealed in this session, lately, and still may reveal."""
    entry = request.session.get(f"revealed:{person_pk}")
    if not entry or datetime.fromisoformat(entry["until"]) <= timezone.now():
        return frozenset()
    groups = set(entry["groups"]) & disclosure.field_policy(request.user).revealable_groups
    return frozenset(name for group in groups for name in disclosure.REVEAL_GROUPS[group])


@records_required
def person_history(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_or_404(request, pk)
    events, form = _filtered_history(request, person)
    page = Paginator(events, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    record_access(AuditAction.HISTORY_VIEWED, actor=request.user, target=person, subject_id=person.pk)
    head = selectors.record_head(request.user, person)
    context = {
        "person": person, "page": page, "events": presented(request, page), "tab": "history", "form": form,
        "may_export": may_read_trail(request.user), "undoable": _undoable(request, page, head["may_change"]),
    }  # fmt: skip
    return render(request, "people/history.html", context | head)


def _undoable(request: HttpRequest, events: Any, may_change: bool) -> set[int]:
    """The changes on this page the user may undo: none without the right to change the person
    (a view grant), none that touches a field masked for them.
    """
    if not may_change:
        return set()
    masked = disclosure.field_policy(request.user).masked
    changes = (event for event in events if event.action == AuditAction.PERSON_UPDATED)
    return {event.pk for event in changes if not masked & set(event.fields.split())}


def _filtered_history(request: HttpRequest, person: Person) -> tuple[Any, HistoryFilterForm]:
    events = selectors.person_history(request.user, person)
    form = HistoryFilterForm(request.GET or None, actors=actors_in(events))
    criteria = form.criteria()
    if criteria is None:  # wrong filters: their errors, and no events that would pass for their result
        return events.none(), form
    if not form.with_reads:
        events = events.exclude(action__in=READ_ACTIONS)
    return filtered(events, criteria), form


@records_required
def person_history_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The person's trail as PDF, JSON or CSV, for those who may read the audit trail."""
    person = _person_or_404(request, pk)
    if not may_read_trail(request.user):
        raise PermissionDenied
    form = HistoryFilterForm(request.GET or None, actors=actors_in(selectors.person_history(request.user, person)))
    criteria = form.criteria()
    if criteria is None:
        return filters_refused(request, reverse("people:history", args=[pk]))
    return trail_download(request, person_id=person.pk, criteria=criteria)


@records_required
@require_http_methods(["GET", "POST"])
def person_create(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None, user=request.user, initial={"owner": request.user})
    contacts = _contacts_from(request) if request.method == "POST" else {"emails": [], "phones": []}
    duplicates: list[Person] = []
    if request.method == "POST" and form.is_valid():
        data = _person_data(form, contacts, editing=False)
        if not request.POST.get("add_anyway"):
            duplicates = selectors.possible_duplicates(request.user, contacts["emails"], contacts["phones"])
        if duplicates:
            context = {"form": form, "contacts": contacts, "person": None, "duplicates": duplicates}
            return render(request, "people/form.html", context)
        try:
            person = services.create_person(data, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc, inline=CONTACT_INPUTS)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": person.full_name})
            return redirect("people:detail", pk=person.pk)
    return render(request, "people/form.html", {"form": form, "contacts": contacts, "person": None})


@records_required
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_or_404(request, pk, Action.CHANGE)
    initial = {name: getattr(person, name) for name in PersonForm.base_fields if hasattr(person, name)}
    initial["version"] = person.version
    # Fields masked for the user's role are neither shown nor changed here, unless just revealed.
    masked = disclosure.field_policy(request.user).masked - _revealed_fields(request, person.pk)
    form = PersonForm(request.POST or None, user=request.user, initial=initial, masked=masked)
    contacts = (
        _contacts_from(request) if request.method == "POST" else {"emails": person.emails, "phones": person.phones}
    )
    if request.method == "POST" and form.is_valid():
        data = {key: value for key, value in _person_data(form, contacts, editing=True).items() if key not in masked}
        try:
            services.update_person(
                person, data, actor=request.user,
                expected_version=form.cleaned_data["version"], reason=form.cleaned_data["reason"],
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(form, exc, inline=CONTACT_INPUTS)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("people:detail", pk=person.pk)
    context = {"form": form, "contacts": contacts, "person": person, "masked": masked}
    return render(request, "people/form.html", context)


def _contacts_from(request: HttpRequest) -> dict[str, list[str]]:
    """Emails and phones come as repeated inputs; the one marked primary goes first."""
    contacts = {}
    for kind in ("emails", "phones"):
        rows = request.POST.getlist(kind)
        # The radio counts rows as shown, blank ones included.
        primary = optional_int(request.POST.get(f"primary_{kind}"))
        first = [rows[primary]] if primary is not None and primary < len(rows) and rows[primary].strip() else []
        rest = [value for index, value in enumerate(rows) if value.strip() and index != primary]
        contacts[kind] = first + rest if first else [value for value in rows if value.strip()]
    return contacts


def _person_data(form: PersonForm, contacts: dict[str, list[str]], *, editing: bool) -> dict[str, Any]:
    data = form.service_data(editing=editing)
    if "birth_date" in data:
        data["birth_date"] = data["birth_date"] or None
    return data | contacts


# --- archive, restore, merge, revert --------------------------------------------------------


@records_required
@require_POST
def person_archive(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_or_404(request, pk, Action.CHANGE)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.archive_person(person, actor=request.user, reason=reason)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("people:detail", pk=pk)
    messages.success(
        request,
        _("%(name)s was archived.") % {"name": person.full_name},
        extra_tags=f"undo:{reverse('people:restore', args=[pk])}",
    )
    return redirect("people:list")


@records_required
@require_POST
def person_restore(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_or_404(request, pk, Action.CHANGE)
    try:
        services.restore_person(person, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s was restored.") % {"name": person.full_name})
    return redirect("people:detail", pk=pk)


@records_required
@require_POST
def person_revert(request: HttpRequest, pk: int, event_id: int) -> HttpResponse:
    """Undo one change from the History tab, as a new change that names the one it undoes."""
    person = _person_or_404(request, pk, Action.CHANGE)
    try:
        services.revert_person_change(person, event_id, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        # e.g. the old owner is no longer someone the user may give the record to
        messages.error(request, " ".join(exc.messages))
    except ObjectDoesNotExist as exc:
        raise Http404 from exc
    else:
        messages.success(request, _("The change was undone."))
    return redirect("people:history", pk=pk)


# --- notes and affiliations ----------------------------------------------------------------


@records_required
@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_or_404(request, pk, Action.CHANGE)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.create_note(form.service_data(), actor=request.user, person=person)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Note added."))
    else:
        messages.error(
            request,
            _("The note was not saved: %(errors)s") % {"errors": form_error_text(form)},
        )
    return redirect(reverse("people:detail", args=[pk]) + "#notes")


@records_required
@require_POST
def affiliation_add(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_or_404(request, pk, Action.CHANGE)
    form = AffiliationForm(request.POST)
    if form.is_valid():
        data = {key: form.cleaned_data[key] for key in ("role", "since", "until")}
        try:
            organization = selectors.get_organization(request.user, form.cleaned_data["organization"], Action.CHANGE)
            services.create_affiliation(person, organization, data, actor=request.user)
        except (ObjectDoesNotExist, NotInScopeError):
            messages.error(request, _("Choose an organization from the list."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Employer added."))
    else:
        messages.error(request, form_error_text(form))
    return redirect(reverse("people:detail", args=[pk]) + "#employers")


@records_required
@require_POST
def affiliation_end(request: HttpRequest, pk: int, affiliation_id: int) -> HttpResponse:
    person = _person_or_404(request, pk, Action.CHANGE)
    affiliation = _affiliation_or_404(request, person, affiliation_id)
    form = EndAffiliationForm(request.POST)
    if form.is_valid():
        try:
            services.update_affiliation(affiliation, {"until": form.cleaned_data["until"]}, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, form_error_text(form))
    return redirect(reverse("people:detail", args=[pk]) + "#employers")


@records_required
@require_POST
def affiliation_delete(request: HttpRequest, pk: int, affiliation_id: int) -> HttpResponse:
    person = _person_or_404(request, pk, Action.CHANGE)
    affiliation = _affiliation_or_404(request, person, affiliation_id)
    services.delete_affiliation(affiliation, actor=request.user)
    messages.success(request, _("Employer removed."))
    return redirect(reverse("people:detail", args=[pk]) + "#employers")


def _affiliation_or_404(request: HttpRequest, person: Person, affiliation_id: int) -> Affiliation:
    changeable = restrict(request.user, Affiliation, Action.CHANGE).filter(person=person)
    try:
        return changeable.select_related("person", "organization").get(pk=affiliation_id)
    except Affiliation.DoesNotExist as exc:
        raise Http404 from exc


@records_required
@require_POST
def organization_picker(request: HttpRequest) -> HttpResponse:
    """Type-ahead for choosing an employer: up to ten of the user's organizations."""
    query = request.POST.get("organization_query", "")[:200]
    criteria = selectors.OrganizationFilter(query=query)
    organizations = (
        selectors.filter_organizations(request.user, criteria).order_by("sort_key")[:10] if query.strip() else []
    )
    return render(request, "people/_organization_choices.html", {"organizations": organizations, "query": query})


# --- merge -----------------------------------------------------------------------------------


@records_required
@require_http_methods(["GET", "POST"])
def person_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge a duplicate into this person: find it, compare the two, confirm."""
    primary = _person_or_404(request, pk, Action.CHANGE)
    if request.method == "POST" and "q" in request.POST:
        return _merge_candidates(request, primary)
    duplicate_id = optional_int(request.POST.get("duplicate"))
    if request.method == "GET" or duplicate_id is None:
        return render(request, "people/merge.html", {"person": primary})
    duplicate = _person_or_404(request, duplicate_id, Action.CHANGE)
    form = ReasonForm(request.POST if "confirm" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            services.merge_people(primary, duplicate, actor=request.user, reason=form.cleaned_data["reason"])
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s was merged into this record.") % {"name": duplicate.full_name})
        return redirect("people:detail", pk=primary.pk)
    context = {
        "person": primary, "duplicate": duplicate, "form": form,
        "shown_person": disclosure.for_detail(request.user, primary),
        "shown_duplicate": disclosure.for_detail(request.user, duplicate),
    }  # fmt: skip
    return render(request, "people/merge_confirm.html", context)


def _merge_candidates(request: HttpRequest, primary: Person) -> HttpResponse:
    query = request.POST.get("q", "")[:200]
    candidates: list[Person] = []
    if query.strip():
        page = selectors.list_people(request.user, selectors.PeopleFilter(query=query), limit=11)
        # A merge changes both records: someone the user may only view (a view grant) is no candidate.
        found = [person.pk for person in page.items if person.pk != primary.pk]
        changeable = set(
            selectors.people_for(request.user, Action.CHANGE).filter(pk__in=found).values_list("pk", flat=True)
        )
        candidates = [person for person in page.items if person.pk in changeable][:10]
    context = {"candidates": disclosure.for_list(candidates), "query": query}
    return render(request, "people/_merge_candidates.html", context)


@records_required
@require_POST
def note_delete(request: HttpRequest, pk: int, note_id: int) -> HttpResponse:
    """Delete a note written by mistake; its text stays in the History as the old value."""
    person = _person_or_404(request, pk, Action.CHANGE)
    try:
        note = person.notes.get(pk=note_id)
    except Note.DoesNotExist as exc:
        raise Http404 from exc
    services.delete_note(note, actor=request.user)
    messages.success(request, _("Note deleted."))
    return redirect(reverse("people:detail", args=[pk]) + "#notes")


@records_required
@require_http_methods(["GET", "POST"])
def person_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """The DPO erases a person (Art. 17), after confirming, with the reason on record."""
    person = _person_or_404(request, pk, Action.CHANGE)
    if not request.user.can(Capability.ERASE_PEOPLE):  # type: ignore[union-attr]
        raise PermissionDenied
    form = EraseForm(request.POST or None, duplicates=services.merged_duplicates(person))
    if request.method == "POST" and form.is_valid():
        try:
            services.erase_person(
                person, actor=request.user, reason=form.cleaned_data["reason"], duplicates=form.chosen_duplicates()
            )
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The person's data were erased; their history keeps who did what and when."))
        return redirect("people:detail", pk=pk)
    return render(request, "people/erase.html", {"person": person, "form": form})
