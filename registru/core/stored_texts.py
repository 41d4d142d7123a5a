"""Texts that Registru writes into its records in one fixed language, shown in the reader's.

The audit trail and the consent ledger keep who acted (a system actor's label such as "demo
data") and why (a reason such as "accepted by …") as they were written: the event's hash covers
those bytes, so they are never rewritten. Pages and PDFs show them through ``translated``, which
knows the texts the system writes; anything else (a reason a person typed, a user's name) is
shown as stored. Machine-readable exports (JSON, CSV) keep the stored text.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Labels of system actors and reasons the system writes, exactly as stored.
EXACT: dict[str, Promise] = {
    "data subject": _("data subject"),
    "demo data": _("demo data"),
    "command line": _("command line"),
    "export policy": _("export policy"),
    "export expiry": _("export expiry"),
    "export generation": _("export generation"),
    "mail delivery": _("mail delivery"),
    "consent expiry": _("consent expiry"),
    "session timeout": _("session timeout"),
    "unknown account": _("unknown account"),
    "access requests": _("access requests"),
    "view budget": _("view budget"),
    "campaign pacing": _("campaign pacing"),
    "questionnaires": _("questionnaires"),
    "corrected by the person": _("corrected by the person"),
    "merge: duplicate employer": _("merge: duplicate employer"),
    "new recovery codes": _("new recovery codes"),
    "turning two-factor off": _("turning two-factor off"),
    "lost device": _("lost device"),
    "approval lapsed before the file was made": _("approval lapsed before the file was made"),
    "export request page": _("export request page"),
    "export download: not the requester": _("export download: not the requester"),
}
ACTIONS: dict[str, Promise] = {"view": _("view"), "change": _("change"), "delete": _("delete")}
# The groups of masked fields a reveal names (``people.disclosure.REVEAL_GROUPS``).
GROUPS: dict[str, Promise] = {
    "emails": _("Emails"), "phones": _("Phones"), "address": _("Address"), "birth_date": _("Birth date"),
}  # fmt: skip
GROUP_LIST = r"(?:emails|phones|address|birth_date)(?:, (?:emails|phones|address|birth_date))*"

# Texts with a part that varies: the pattern, and the translated text it names its parts in.
PATTERNS: list[tuple[re.Pattern[str], Promise]] = [
    (re.compile(r"data subject via questionnaire #(?P<id>\d+)"), _("data subject via questionnaire #%(id)s")),
    (re.compile(r"accepted by (?P<name>.+)"), _("accepted by %(name)s")),
    (re.compile(r"out of scope \((?P<action>\w+)\)"), _("out of scope (%(action)s)")),
    (re.compile(r"questionnaire #(?P<id>\d+)"), _("questionnaire #%(id)s")),
    (re.compile(r"questionnaire #(?P<id>\d+) unanswered"), _("questionnaire #%(id)s unanswered")),
    (re.compile(r"session (?P<id>\d+)"), _("session %(id)s")),
    (re.compile(rf"reveal refused: (?P<groups>{GROUP_LIST}|-)"), _("reveal refused: %(groups)s")),
    (re.compile(rf"(?P<groups>{GROUP_LIST}): (?P<reason>.*)", re.DOTALL), _("%(groups)s: %(reason)s")),
    (re.compile(r"(?P<what>.+): viewing blocked \(view budget\)"), _("%(what)s: viewing blocked (view budget)")),
]


def translated(text: Any) -> str:
    """``text`` in the active language if the system wrote it, else as stored."""
    if not isinstance(text, str) or not text:
        return "" if text is None else str(text)
    if text in EXACT:
        return str(EXACT[text])
    for pattern, template in PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            parts = {key: _part(key, value) for key, value in match.groupdict().items()}
            return str(template) % parts
    return text


def _part(name: str, value: str) -> str:
    if name == "groups":
        return ", ".join(str(GROUPS.get(group, group)) for group in value.split(", "))
    if name == "action":
        return str(ACTIONS.get(value, value))
    return value
