"""Reading events back: decrypting personal values for those allowed to see them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registru.audit.models import AuditEvent
from registru.vault import services as vault


class KeyCache:
    """Data keys fetched once per person while a page or an export is being made.

    Never kept beyond that: a key shredded in another process must stop working here too.
    """

    def __init__(self) -> None:
        self._keys: dict[int, bytes | None] = {}

    def get(self, person_id: int) -> bytes | None:
        if person_id not in self._keys:
            self._keys[person_id] = vault.data_key(person_id)
        return self._keys[person_id]


def readable_changes(event: AuditEvent, keys: KeyCache) -> dict[str, tuple[Any, Any]]:
    """``{name: (old, new)}`` in plaintext; values of an erased person read ``[erased]``."""
    subject = event.subject_id
    result = {}
    for name, (old, new) in event.changes.items():
        if subject is None:
            result[name] = (old, new)
            continue
        key = keys.get(subject) if vault.is_encrypted(old) or vault.is_encrypted(new) else None
        result[name] = (vault.decrypt(subject, name, old, key), vault.decrypt(subject, name, new, key))
    return result


# --- names of the people that events refer to ----------------------------------------------
#
# Events name a person they refer to (a note's person, a merge's other record) by id alone
# (``{"id": 12}``); the name is read from the person's record when the event is shown, so it
# is gone from every page and export once the person is erased. The people app fills this in:
# the trail sits below it and cannot ask it.

type PersonNames = Callable[[set[int]], dict[int, str | None]]
_person_names: list[PersonNames] = []


def name_people_with(names: PersonNames) -> None:
    """Register how people are named by id: their name, ``None`` for an erased person."""
    _person_names[:] = [names]


def person_names(ids: set[int]) -> dict[int, str | None]:
    """The names of the people ``ids`` that exist (``None`` where erased); empty if no app
    registered a way to name them."""
    if not ids or not _person_names:
        return {}
    return _person_names[0](ids)
