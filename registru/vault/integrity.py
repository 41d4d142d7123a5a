"""Damage to the data keys: what erasure alone may do to a key, found when anything else did it.

A person who is not erased must have a data key that unwraps under the master key: without it
every value of theirs kept for proof reads "[erased]" while they are still a customer. That is
an erasure nobody recorded (a key row deleted or cleared with the guards disabled, a key copied
from another person, which does not unwrap as wrapped keys are bound to their person), and
``registru vault check`` reports it (``find_key_damage`` is what a verification calls). So is a key row for a person
who does not exist, and an erased person whose key is still there (an erasure left half done).

The vault sits below the people: it reads their table through the app registry, not an import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from django.apps import apps
from django.db import connection

from registru.vault import keys, services
from registru.vault.models import PersonKey

ERASED = "erased"  # people.choices.PersonStatus.ERASED, a stable code
CHUNK = 2000


class KeyDamage(StrEnum):
    MISSING = "missing"  # not erased, and no data key (none, or cleared)
    UNREADABLE = "does not unwrap"  # not erased, and the key does not unwrap for them
    ORPHANED = "no such person"  # a key row for a person who does not exist
    NOT_SHREDDED = "not shredded"  # erased, and the key is still there


@dataclass(frozen=True)
class KeyFinding:
    """One damaged data key: whose, and how."""

    person_id: int
    damage: KeyDamage

    def __str__(self) -> str:
        return f"person {self.person_id}: data key {self.damage}"


def find_key_damage() -> list[KeyFinding]:
    """Every damaged data key, in person order (empty when the keys are intact)."""
    master = services.master_key()
    findings = [_finding(master, *row) for row in _rows()]
    return sorted((finding for finding in findings if finding is not None), key=lambda f: f.person_id)


def _finding(
    master: keys.MasterKey, person_id: int, status: str | None, has_row: bool, wrapped: Any
) -> KeyFinding | None:
    if person_id == services.SYSTEM_KEY_ID:
        # The system's own key (state commitments of records that are no person's): no person
        # stands behind it, but it must unwrap when it is there.
        return _unreadable(master, person_id, wrapped) if wrapped is not None else None
    if status is None:
        return KeyFinding(person_id, KeyDamage.ORPHANED)
    if status == ERASED:
        return KeyFinding(person_id, KeyDamage.NOT_SHREDDED) if wrapped is not None else None
    if not has_row or wrapped is None:
        return KeyFinding(person_id, KeyDamage.MISSING)
    return _unreadable(master, person_id, wrapped)


def _unreadable(master: keys.MasterKey, person_id: int, wrapped: Any) -> KeyFinding | None:
    try:
        services.unwrap_key(master, person_id, bytes(wrapped))
    except (InvalidUnwrap, InvalidTag):
        return KeyFinding(person_id, KeyDamage.UNREADABLE)
    return None


def _rows() -> Iterator[tuple[int, str | None, bool, Any]]:
    """(person id, their status or None if there is no such person, whether a key row exists,
    the wrapped key), for every person and every key row, read in chunks."""
    people = connection.ops.quote_name(apps.get_model("people", "Person")._meta.db_table)
    key_rows = connection.ops.quote_name(PersonKey._meta.db_table)
    query = (
        f"SELECT p.id, p.status, k.person_id IS NOT NULL, k.wrapped FROM {people} p "  # noqa: S608  (names only)
        f"LEFT JOIN {key_rows} k ON k.person_id = p.id "
        f"UNION ALL SELECT k.person_id, NULL, TRUE, k.wrapped FROM {key_rows} k "
        f"WHERE NOT EXISTS (SELECT 1 FROM {people} p WHERE p.id = k.person_id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        while chunk := cursor.fetchmany(CHUNK):
            for person_id, status, has_row, wrapped in chunk:
                yield person_id, status, bool(has_row), wrapped
