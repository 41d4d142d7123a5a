"""Messages to staff (an access request to decide, an export to approve, a DPO alert).

They go through the outbox like every other message, as service mail without a data subject,
so they are retried, kept and shown on the Outbox page; they name records by number only,
never by a person's name, since a mailbox is outside Registru's controls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from registru.accounts.models import User
from registru.accounts.roles import Capability
from registru.mail.models import MessageKind
from registru.mail.services import Letter, queue_letters


def notify_users(
    users: Iterable[User], *, key: str, subject: str | Promise, body: str | Promise, path: str, actor: Any
) -> int:
    """Queue one message per user with an email address; ``key`` + user id makes it idempotent.

    ``subject`` and ``body`` may be lazy translations: staff have no language of their own
    on record, so they are rendered in the installation's default language. ``path`` is the
    page to open, appended as a link.
    """
    with translation.override(settings.LANGUAGE_CODE):
        letters = [
            Letter(
                key=staff_key(key, user.pk),
                person=None,
                recipient=user.email,
                subject=str(subject),
                body=f"{body}\n\n{settings.PUBLIC_URL}{path}\n",
                kind=MessageKind.SERVICE,
            )
            for user in users
            if user.email
        ]
    if letters:
        queue_letters(letters, actor=actor)
    return len(letters)


def staff_key(key: str, user_id: int) -> str:
    """The outbox key of one staff message: the caller's key, for one user."""
    return f"staff:{key}:{user_id}"


def users_who_can(capability: Capability) -> list[User]:
    return [user for user in User.objects.filter(is_active=True) if user.can(capability)]


def page(name: str, *args: Any) -> str:
    return reverse(name, args=args)
