"""What the Outbox page shows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from registru.accounts.roles import Capability
from registru.mail.models import OutboundMessage


def may_read_outbox(user: Any) -> bool:
    return bool(user.is_authenticated and user.can(Capability.READ_OUTBOX))


def outbox_for(user: Any) -> QuerySet[OutboundMessage]:
    if not may_read_outbox(user):
        return OutboundMessage.objects.none()
    return OutboundMessage.objects.all()


def shows_bodies() -> bool:
    """Message bodies hold people's personal links: shown only for the local mailbox (a demo or a
    test installation, where mail leaves nowhere), never when a real server delivers them."""
    return settings.MAIL_TRANSPORT == "mailbox" and not settings.PRODUCTION
