"""Texts written by staff, made personal: ``{name}`` and ``{link}`` filled in for one person."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _


def personal(subject: str, body: str, *, language: str, given_name: str, link: str, reminder: bool) -> tuple[str, str]:
    """The subject and body for one person, in their language. The link goes where ``{link}``
    stands, or at the end if the text forgot it; a reminder says so in its subject."""
    with translation.override(language):
        if reminder:
            subject = _("Reminder: %(subject)s") % {"subject": subject}
    body = body.replace("{name}", given_name)
    body = body.replace("{link}", link) if "{link}" in body else f"{body}\n\n{link}\n"
    return subject, body
