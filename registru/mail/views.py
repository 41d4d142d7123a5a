"""The Outbox page: what was sent, held back or failed; and, for the local mailbox, the messages
themselves, so that a newcomer can open a consent link in the demo."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction
from registru.audit.services import record_access
from registru.core.pagination import InvalidCursorError, Sort, paginate
from registru.core.views import capability_required
from registru.mail.models import MessageKind, MessageStatus
from registru.mail.selectors import outbox_for, shows_bodies

PAGE_SIZE = 50


@capability_required(Capability.READ_OUTBOX)
def outbox(request: HttpRequest) -> HttpResponse:
    messages = outbox_for(request.user)
    status, kind = request.GET.get("status", ""), request.GET.get("kind", "")
    if status in MessageStatus.values:
        messages = messages.filter(status=status)
    if kind in MessageKind.values:
        messages = messages.filter(kind=kind)
    try:
        page = paginate(messages, Sort("id", descending=True), "outbox", request.GET.get("cursor"), PAGE_SIZE)
    except InvalidCursorError:
        page = paginate(messages, Sort("id", descending=True), "outbox", None, PAGE_SIZE)
    return render(request, "mail/outbox.html", {
        "page": page, "status": status, "kind": kind, "statuses": MessageStatus.choices,
        "kinds": MessageKind.choices, "shows_bodies": shows_bodies(),
    })  # fmt: skip


@capability_required(Capability.READ_OUTBOX)
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(outbox_for(request.user), pk=pk)
    if shows_bodies() and message.person_id is not None:
        record_access(AuditAction.MAIL_READ, actor=request.user, target=message, subject_id=message.person_id)
    return render(request, "mail/message.html", {"message": message, "shows_bodies": shows_bodies()})
