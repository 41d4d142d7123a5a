"""The trail page for the DPO and auditors, and downloads of trails."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from registru.accounts.roles import Capability
from registru.audit import exports
from registru.audit.forms import TrailFilterForm
from registru.audit.presenters import present_across_people
from registru.audit.selectors import TrailFilter, may_read_trail, staff_actors, trail_for, trail_status
from registru.audit.services import export_jobs
from registru.audit.services.exporting import export_trail, trail_events
from registru.core.pagination import InvalidCursorError, Sort, paginate

FORMATS = {"pdf": "application/pdf", "json": "application/json", "csv": "text/csv; charset=utf-8"}
TRAIL_PAGE_SIZE = 50


def _trail_reader(request: HttpRequest) -> None:
    if not may_read_trail(request.user):
        raise PermissionDenied


@login_required
def trail(request: HttpRequest) -> HttpResponse:
    """Every event, newest first, with filters, and the state of the verification."""
    _trail_reader(request)
    from registru.audit.models import AuditEvent

    form = TrailFilterForm(request.GET or None, actors=staff_actors())
    criteria = form.criteria()
    # Wrong filters: their errors, and no events that would pass for their result.
    events = AuditEvent.objects.none() if criteria is None else trail_for(request.user, criteria)
    try:
        page = paginate(events, Sort("id", descending=True), "trail", request.GET.get("cursor"), TRAIL_PAGE_SIZE)
    except InvalidCursorError:
        page = paginate(events, Sort("id", descending=True), "trail", None, TRAIL_PAGE_SIZE)
    # Many people's events on one page are a bulk view: their values stay masked, as in this
    # page's exports; a person's History shows them to those who may read them.
    views = present_across_people(page.items)
    may_open_people = request.user.can(Capability.BROWSE_RECORDS)  # type: ignore[union-attr]
    context = {"form": form, "page": page, "events": views, "may_open_people": may_open_people}
    return render(request, "audit/trail.html", context | trail_status())


@login_required
def trail_export(request: HttpRequest) -> HttpResponseBase:
    _trail_reader(request)
    form = TrailFilterForm(request.GET or None, actors=staff_actors())
    criteria = form.criteria()
    if criteria is None:
        return filters_refused(request, reverse("audit:trail"))
    return trail_download(request, person_id=None, criteria=criteria)


def filters_refused(request: HttpRequest, page: str) -> HttpResponse:
    """Back to the page with the same filters, where their errors show: an export under wrong
    filters would hold the whole trail and pass for their result."""
    messages.error(request, _("Correct the filters: nothing was exported."))
    query = request.GET.copy()
    query.pop("format", None)
    return redirect(f"{page}?{query.urlencode()}")


@login_required
@require_POST
def verify_now(request: HttpRequest) -> HttpResponse:
    _trail_reader(request)
    from registru.audit.tasks import verify_trail

    verify_trail.enqueue()
    messages.success(request, _("Verification started; its result appears here when it ends."))
    return redirect("audit:trail")


def trail_download(request: HttpRequest, *, person_id: int | None, criteria: TrailFilter) -> HttpResponseBase:
    """Build the export in a temporary file and stream it (the file goes when the response ends);
    a PDF of more events than one document holds is made in the background instead."""
    fmt = request.GET.get("format", "pdf")
    if fmt not in FORMATS:
        fmt = "pdf"
    try:
        total = trail_events(person_id, criteria).count() if fmt == "pdf" else 0
    except LookupError:
        return _nothing_to_export(request, person_id)
    if export_jobs.made_in_background(total):
        return _pdf_in_background(request, person_id=person_id, criteria=criteria, total=total)
    handle = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)  # noqa: SIM115 (closed by the response)
    handle.close()
    path = Path(handle.name)
    try:
        export_trail(
            person_id=person_id,
            fmt=fmt,
            path=path,
            actor=request.user,
            language=get_language() or "ro",
            criteria=criteria,
        )
    except LookupError:
        path.unlink(missing_ok=True)
        return _nothing_to_export(request, person_id)
    return _file_response(path, _filename(person_id, fmt), FORMATS[fmt])


def _nothing_to_export(request: HttpRequest, person_id: int | None) -> HttpResponse:
    messages.error(request, _("There is nothing to export."))
    return redirect(_back(person_id))


def _back(person_id: int | None) -> str:
    return reverse("audit:trail") if person_id is None else reverse("people:history", args=[person_id])


def _pdf_in_background(
    request: HttpRequest, *, person_id: int | None, criteria: TrailFilter, total: int
) -> HttpResponse:  # fmt: skip
    try:
        job = export_jobs.request_pdf(
            person_id=person_id, criteria=criteria, language=get_language() or "ro", total=total, actor=request.user
        )
    except export_jobs.ExportRunningError as running:
        messages.error(request, _("An export of yours is still being made: ask for another when it is ready."))
        return redirect("audit:export-job", running.job_id) if running.job_id else redirect(_back(person_id))
    return redirect("audit:export-job", job.id)


@login_required
@never_cache
@require_GET
def export_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress of a PDF being made in the background, and its download when ready; the
    requester's only (anyone else gets 404). The page polls its progress part (htmx)."""
    job = export_jobs.job_for(request.user, job_id)
    if job is None:
        raise Http404
    template = "audit/_export_job.html" if request.headers.get("HX-Request") else "audit/export_job.html"
    return render(request, template, {"job": job, "back": _back(job.person_id), "part_size": exports.PDF_PART})


@login_required
@never_cache
@require_GET
def export_job_download(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """The ZIP of PDF parts, to its requester only, until it expires (the export itself was
    recorded in the trail when the file was made)."""
    job = export_jobs.ready_job(request.user, job_id)
    if job is None:
        raise Http404
    name = _filename(job.person_id, "zip").replace(".zip", "-pdf.zip")
    response = FileResponse(job.file.open("rb"), as_attachment=True, filename=name, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response


def _filename(person_id: int | None, fmt: str) -> str:
    return f"registru-trail-{'person-' + str(person_id) if person_id else 'all'}.{fmt}"


class _DeletingFile:
    """A file object that removes its file once the response has read it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("rb")

    def read(self, size: int = -1) -> bytes:
        return self.handle.read(size)

    def close(self) -> None:
        self.handle.close()
        self.path.unlink(missing_ok=True)


def _file_response(path: Path, filename: str, content_type: str) -> FileResponse:
    return FileResponse(_DeletingFile(path), as_attachment=True, filename=filename, content_type=content_type)
