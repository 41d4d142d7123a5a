"""Reading events back: decrypting personal values for those allowed to see them."""

from __future__ import annotations

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
