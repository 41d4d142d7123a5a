"""The life of an export request: asking, the second person's decision, cancelling,
downloading and expiry. Each step is one transaction with its audit event; status changes
are compare-and-set updates, so two approvers (or a download racing expiry) cannot both win.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registru.accounts.notify import notify_users, page, users_who_can
from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.audit.services.checkpoints import checkpoint_soon
from registru.core.actors import SystemActor
from registru.core.services import service
from registru.exports import fields as export_fields
from registru.exports import policy, selectors
from registru.exports.models import ExportDownload, ExportFormat, ExportRequest, ExportStatus
from registru.people.selectors import PeopleFilter

logger = logging.getLogger(__name__)
POLICY = SystemActor("export policy")
CLEANER = SystemActor("export expiry")


class ExportNotFoundError(LookupError):
    """Not an export this user may touch (whether it exists is not said)."""


class ExportBlockedError(PermissionDenied):
    """The user's viewing is blocked (view budget spent): no new export and no download until
    a manager lifts the block."""


def _blocked_message() -> str:
    return _(
        "You have viewed more people than your role allows, so viewing people is blocked, and "
        "with it asking for exports and downloading them. The data protection officer has been "
        "told. Ask your manager to lift the block."
    )


def _check_not_blocked(actor: Any, target: Any, what: str) -> None:
    """Refuse (and record) an export step while the actor's viewing is blocked."""
    if policy.viewing_blocked(actor):
        record_denial(actor=actor, target=target, detail=f"{what}: viewing blocked (view budget)")
        raise ExportBlockedError(_blocked_message())


# --- refusals --------------------------------------------------------------------------------


@service
def record_denial(*, actor: Any, target: Any, detail: str) -> None:
    """A refused attempt, kept in the trail even though the attempt itself changes nothing."""
    record(A.ACCESS_DENIED, actor=actor, target=target, reason=detail)


def _refuse(actor: Any, target: Any, detail: str, message: str) -> None:
    record_denial(actor=actor, target=target, detail=detail)
    raise PermissionDenied(message)


def _can(actor: Any, capability: Capability) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.can(capability))


# --- asking ----------------------------------------------------------------------------------


def request_export(*, actor: Any, criteria: PeopleFilter, fields: list[str], fmt: str, purpose: str) -> ExportRequest:
    """Ask for an export of the people ``criteria`` selects in the actor's scope. Under the
    threshold and without sensitive fields it is approved at once and generated; otherwise it
    waits for a second person."""
    if not _can(actor, Capability.REQUEST_EXPORT):
        # The target is the export function itself: no request exists.
        _refuse(actor, ExportRequest(pk=None), "export request", _("Your role may not export people."))
    # Exports are bulk views: a user whose view budget is spent may not take the people out instead.
    _check_not_blocked(actor, ExportRequest(pk=None), "export request")
    return _create_request(actor=actor, criteria=criteria, fields=fields, fmt=fmt, purpose=purpose)


def _validate(actor: Any, codes: list[str], fmt: str, purpose: str) -> None:
    errors: dict[str, list[str]] = {}
    hidden = policy.hidden_fields(actor, export_fields.ordered(codes))
    if hidden:
        names = ", ".join(str(export_fields.FIELDS[code].label) for code in hidden)
        errors["fields"] = [
            _("Your role may not see these fields, so it may not export them: %(fields)s.") % {"fields": names}
        ]
    if len(purpose.strip()) < 10:
        errors["purpose"] = [_("Say what the export is for, in a sentence (at least 10 characters).")]
    if not export_fields.ordered(codes) or len(set(codes)) != len(export_fields.ordered(codes)):
        errors.setdefault("fields", []).append(_("Choose the fields to export from the list."))
    if fmt not in ExportFormat.values:
        errors["format"] = [_("Choose XLSX or CSV.")]
    if errors:
        raise ValidationError(errors)


@service
def _create_request(*, actor: Any, criteria: PeopleFilter, fields: list[str], fmt: str, purpose: str) -> ExportRequest:
    _validate(actor, fields, fmt, purpose)
    codes = export_fields.ordered(fields)
    # One request of a user at a time: two asked together must not both count the recent
    # automatic exports without the other, and so both pass under the threshold.
    _lock_requester(actor)
    assessment = policy.assess(actor, criteria, codes)
    if assessment.count == 0:
        raise ValidationError(_("No people match this filter: there is nothing to export."))
    export = ExportRequest.objects.create(
        requester=actor, purpose=purpose.strip(), criteria=policy.stored_criteria(criteria),
        sealed_query=policy.sealed(criteria, actor.pk), fields=codes, format=fmt,
        status=ExportStatus.PENDING, counted=assessment.count, needs_approval=assessment.needs_approval,
        approval_reasons=assessment.reasons,
    )  # fmt: skip
    record(A.EXPORT_REQUESTED, actor=actor, target=export, reason=export.purpose, changes={
        "fields": (None, codes), "format": (None, fmt), "counted": (None, assessment.count),
        "filter": (None, export.criteria), "needs_approval": (None, assessment.reasons),
        "recently_exported": (None, assessment.recent),
    })  # fmt: skip
    if assessment.needs_approval:
        _ask_approvers(export, actor)
    else:
        _approve(export, POLICY, _("approved automatically: under the threshold, no sensitive fields"))
    return ExportRequest.objects.get(pk=export.pk)


def _lock_requester(actor: Any) -> None:
    from registru.accounts.models import User

    User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()


def _ask_approvers(export: ExportRequest, actor: Any) -> None:
    approvers = [user for user in users_who_can(Capability.APPROVE_EXPORTS) if selectors.may_decide(user, export)]
    notify_users(
        approvers, key=f"export:{export.pk}:approval", actor=actor,
        subject=gettext_lazy("Export #%(id)d waits for your approval") % {"id": export.pk},
        body=gettext_lazy("Export #%(id)d of %(count)d people needs a second person's approval.")
        % {"id": export.pk, "count": export.counted},
        path=page("exports:detail", export.pk),
    )  # fmt: skip


# --- deciding --------------------------------------------------------------------------------


def _check_decider(export: ExportRequest, actor: Any, what: str) -> None:
    if not _can(actor, Capability.APPROVE_EXPORTS):
        _refuse(actor, export, f"export {what}: role may not approve exports",
                _("Your role may not approve or refuse exports."))  # fmt: skip
    if actor.pk == export.requester_id:
        _refuse(actor, export, f"export {what}: own request",
                _("An export needs a second person: you cannot decide on your own request."))  # fmt: skip
    if not selectors.may_decide(actor, export):
        _refuse(actor, export, f"export {what}: requester outside the decider's team",
                _("You may decide only on exports asked by members of your team."))  # fmt: skip


def _check_pending(export: ExportRequest) -> None:
    current = ExportRequest.objects.get(pk=export.pk)
    if current.status != ExportStatus.PENDING:
        raise ValidationError(
            _("This request is no longer waiting for a decision (it is “%(status)s”).")
            % {"status": current.get_status_display()}
        )
    if current.created_at + timedelta(days=policy.pending_days()) <= timezone.now():
        raise ValidationError(_("This request waited too long for a decision and has lapsed; ask again."))


def approve_export(export: ExportRequest, *, actor: Any, note: str = "") -> ExportRequest:
    """The second pair of eyes says yes: the file is generated in the background."""
    _check_decider(export, actor, "approval")
    return _approve_pending(export, actor=actor, note=note)


@service
def _approve_pending(export: ExportRequest, *, actor: Any, note: str) -> ExportRequest:
    _check_pending(export)
    _approve(export, actor, note)
    _tell_requester(export, actor, "approved", gettext_lazy("Export #%(id)d was approved; the file is being made."))
    return ExportRequest.objects.get(pk=export.pk)


def _approve(export: ExportRequest, actor: Any, note: str) -> None:
    now = timezone.now()
    changed = ExportRequest.objects.filter(pk=export.pk, status=ExportStatus.PENDING).update(
        status=ExportStatus.APPROVED, decided_by=actor if actor.pk else None, decided_at=now,
        decision_note=note[:1000], approval_valid_until=now + policy.approval_window(),
    )  # fmt: skip
    if not changed:
        raise ValidationError(_("Someone else decided on this request meanwhile."))
    record(A.EXPORT_APPROVED, actor=actor, target=export, reason=note,
           changes={"status": (ExportStatus.PENDING.value, ExportStatus.APPROVED.value)})  # fmt: skip
    checkpoint_soon()  # the approval is signed at once, not at the next interval
    _queue_generation(export.pk)


def _queue_generation(export_id: int) -> None:
    from registru.exports.tasks import generate

    generate.enqueue(export_id)  # after the commit (ENQUEUE_ON_COMMIT)


def refuse_export(export: ExportRequest, *, actor: Any, note: str = "") -> ExportRequest:
    """The second pair of eyes says no; the requester is told, with the note."""
    _check_decider(export, actor, "refusal")
    return _refuse_pending(export, actor=actor, note=note)


@service
def _refuse_pending(export: ExportRequest, *, actor: Any, note: str) -> ExportRequest:
    _check_pending(export)
    changed = ExportRequest.objects.filter(pk=export.pk, status=ExportStatus.PENDING).update(
        status=ExportStatus.REFUSED, decided_by=actor, decided_at=timezone.now(), decision_note=note[:1000]
    )
    if not changed:
        raise ValidationError(_("Someone else decided on this request meanwhile."))
    record(A.EXPORT_REFUSED, actor=actor, target=export, reason=note,
           changes={"status": (ExportStatus.PENDING.value, ExportStatus.REFUSED.value)})  # fmt: skip
    _tell_requester(export, actor, "refused", gettext_lazy("Export #%(id)d was refused."))
    return ExportRequest.objects.get(pk=export.pk)


def _tell_requester(export: ExportRequest, actor: Any, what: str, subject: Any) -> None:
    from registru.accounts.models import User

    requester = User.objects.get(pk=export.requester_id)
    text = subject % {"id": export.pk}
    notify_users([requester], key=f"export:{export.pk}:{what}", subject=text, body=text, actor=actor,
                 path=page("exports:detail", export.pk))  # fmt: skip


CANCELLABLE = (ExportStatus.PENDING, ExportStatus.APPROVED, ExportStatus.READY)


@service
def cancel_export(export: ExportRequest, *, actor: Any) -> ExportRequest:
    """The requester withdraws a request, or drops a file they no longer need."""
    if actor.pk != export.requester_id:
        raise PermissionDenied(_("Only the requester may cancel an export."))
    current = ExportRequest.objects.get(pk=export.pk)
    changed = ExportRequest.objects.filter(pk=export.pk, status__in=CANCELLABLE).update(status=ExportStatus.CANCELLED)
    if not changed:
        raise ValidationError(_("This export can no longer be cancelled."))
    delete_file(current)
    record(A.EXPORT_CANCELLED, actor=actor, target=export,
           changes={"status": (current.status, ExportStatus.CANCELLED.value)})  # fmt: skip
    return ExportRequest.objects.get(pk=export.pk)


# --- downloading -----------------------------------------------------------------------------


def file_path(export: ExportRequest) -> Path:
    return Path(settings.EXPORT_DIR) / export.file_name


def delete_file(export: ExportRequest) -> None:
    if export.file_name:
        file_path(export).unlink(missing_ok=True)


def record_download(export_id: int, *, actor: Any, ip: str | None) -> tuple[ExportRequest, Path]:
    """Count one download of the requester's own file, if the link still holds.

    Anyone else gets ``ExportNotFoundError`` (a 404) and a security event: a link is good
    for its requester only. A requester whose viewing is blocked gets ``ExportBlockedError``
    (a 403) and a security event, and the download is not counted.
    """
    export = ExportRequest.objects.filter(pk=export_id).first()
    if export is None or export.requester_id != actor.pk or not _can(actor, Capability.REQUEST_EXPORT):
        if export is not None:
            record_denial(actor=actor, target=export, detail="export download: not the requester")
        raise ExportNotFoundError(export_id)
    _check_not_blocked(actor, export, "export download")
    return _count_download(export, actor=actor, ip=ip)


@service
def _count_download(export: ExportRequest, *, actor: Any, ip: str | None) -> tuple[ExportRequest, Path]:
    now = timezone.now()
    changed = ExportRequest.objects.filter(
        pk=export.pk, status=ExportStatus.READY, expires_at__gt=now, downloads__lt=settings.EXPORT_MAX_DOWNLOADS
    ).update(downloads=F("downloads") + 1)
    if not changed:
        raise ValidationError(_why_not(ExportRequest.objects.get(pk=export.pk), now))
    ExportDownload.objects.create(request=export, user=actor, ip=ip)
    current = ExportRequest.objects.get(pk=export.pk)
    record(A.EXPORT_DOWNLOADED, actor=actor, target=export,
           changes={"downloads": (current.downloads - 1, current.downloads)})  # fmt: skip
    return current, file_path(current)


def _why_not(export: ExportRequest, now: Any) -> str:
    if export.status != ExportStatus.READY:
        return _("This export has no file to download (it is “%(status)s”).") % {"status": export.get_status_display()}
    if export.expires_at is None or export.expires_at <= now:
        return _("This download link has expired; the file is deleted. Ask for a new export if you still need it.")
    return _("This file has been downloaded the most times allowed (%(max)d).") % {"max": settings.EXPORT_MAX_DOWNLOADS}


# --- expiry ----------------------------------------------------------------------------------


def expire_exports() -> int:
    """Delete the files whose link expired or whose downloads are used up, and let lapse the
    requests nobody decided on and the approvals nobody generated in time. Returns how many."""
    now = timezone.now()
    lapsed = 0
    for export in _due(now):
        lapsed += _expire(export, actor=CLEANER)
    return lapsed


def _due(now: Any) -> list[ExportRequest]:
    ready = ExportRequest.objects.filter(status=ExportStatus.READY)
    stale_pending = now - timedelta(days=policy.pending_days())
    return [
        *ready.filter(expires_at__lte=now),
        *ready.filter(expires_at__gt=now, downloads__gte=settings.EXPORT_MAX_DOWNLOADS),
        *ExportRequest.objects.filter(status=ExportStatus.PENDING, created_at__lte=stale_pending),
        *ExportRequest.objects.filter(status=ExportStatus.APPROVED, approval_valid_until__lte=now),
    ]


@service
def _expire(export: ExportRequest, *, actor: Any) -> int:
    changed = ExportRequest.objects.filter(pk=export.pk, status=export.status).update(status=ExportStatus.EXPIRED)
    if not changed:
        return 0
    delete_file(export)
    reason = {
        ExportStatus.READY: "file deleted: link expired or downloads used up",
        ExportStatus.PENDING: "not decided in time",
        ExportStatus.APPROVED: "approval lapsed before the file was made",
    }[ExportStatus(export.status)]
    record(A.EXPORT_EXPIRED, actor=actor, target=export, reason=reason,
           changes={"status": (export.status, ExportStatus.EXPIRED.value)})  # fmt: skip
    return 1
