"""The vault: per-person data keys under the master key, and values encrypted with them.

Values are AES-256-GCM encrypted with a fresh 96-bit nonce; the associated data binds each
ciphertext to its person and field, so a ciphertext copied into another person's event or
another field does not decrypt. Shredding destroys the wrapped key: the ciphertext stays (and
so do the hashes over it), the value is gone.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registru.vault import keys
from registru.vault.models import Keyring, PersonKey

ENCRYPTED: Final = "enc"
ERASED: Final = "[erased]"
NONCE_BYTES = 12
_verified: set[str] = set()


class VaultError(RuntimeError):
    pass


def master_key() -> keys.MasterKey:
    """The master key, checked once per process against the database's fingerprint."""
    key = _load_or_create()
    if key.fingerprint not in _verified:
        verify(key)
        _verified.add(key.fingerprint)
    return key


def _load_or_create() -> keys.MasterKey:
    try:
        return keys.load()
    except keys.MasterKeyMissingError:
        # Outside production a first run makes its own key, as it makes its own secret key;
        # production refuses to start without one (`registru vault init`, then a backup).
        if settings.PRODUCTION or Keyring.objects.exists():
            raise
        key = keys.generate()
        keys.write(key, keys.key_file())
        return key


def verify(key: keys.MasterKey) -> None:
    """Refuse a master key that is not the one this database's data keys are wrapped with."""
    ring = Keyring.objects.filter(pk=1).first()
    if ring is None:
        Keyring.objects.get_or_create(pk=1, defaults={"fingerprint": key.fingerprint})
        ring = Keyring.objects.get(pk=1)
    if ring.fingerprint != key.fingerprint:
        raise keys.MasterKeyMismatchError(
            f"The master key {key.fingerprint} is not this database's key {ring.fingerprint}. "
            "Restore the right key file from your backup; do not make a new one."
        )


def _aad(person_id: int, field: str) -> bytes:
    return f"registru:{person_id}:{field}".encode()


def _create_key(person_id: int) -> None:
    wrapped = aes_key_wrap(master_key().material, secrets.token_bytes(32))
    with connection.cursor() as cursor:
        # Two transactions may race to make the key of the same person; the first one wins.
        cursor.execute(
            "INSERT INTO vault_personkey (person_id, wrapped, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (person_id) DO NOTHING",
            [person_id, wrapped, timezone.now()],
        )


_prefetched: ContextVar[dict[int, bytes | None] | None] = ContextVar("registru_vault_keys", default=None)


@contextmanager
def keys_for(person_ids: Iterable[int]) -> Iterator[None]:
    """Fetch (and make, where missing) the data keys of many people at once, for one bulk write.

    Two queries instead of two per person; the keys are dropped when the block ends, never kept.
    """
    ids = sorted(set(person_ids))
    existing = dict(PersonKey.objects.filter(person_id__in=ids).values_list("person_id", "wrapped"))
    missing = [person_id for person_id in ids if person_id not in existing]
    if missing:
        master = master_key().material
        rows = [(person_id, aes_key_wrap(master, secrets.token_bytes(32)), timezone.now()) for person_id in missing]
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO vault_personkey (person_id, wrapped, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (person_id) DO NOTHING",
                rows,
            )
        existing |= dict(PersonKey.objects.filter(person_id__in=missing).values_list("person_id", "wrapped"))
    master = master_key().material
    unwrapped = {pid: aes_key_unwrap(master, bytes(w)) if w is not None else None for pid, w in existing.items()}
    token = _prefetched.set(unwrapped)
    try:
        yield
    finally:
        _prefetched.reset(token)


def data_key(person_id: int, *, create: bool = False) -> bytes | None:
    """The person's data key, or None once it has been shredded (or never existed)."""
    prefetched = _prefetched.get()
    if prefetched is not None and person_id in prefetched:
        return prefetched[person_id]
    row = PersonKey.objects.filter(person_id=person_id).values_list("wrapped", "shredded_at").first()
    if row is None and create:
        _create_key(person_id)
        row = PersonKey.objects.filter(person_id=person_id).values_list("wrapped", "shredded_at").first()
    if row is None or row[0] is None:
        return None
    try:
        return aes_key_unwrap(master_key().material, bytes(row[0]))
    except InvalidUnwrap as exc:
        raise VaultError(f"the data key of person {person_id} does not unwrap with this master key") from exc


def encrypt(person_id: int, field: str, value: Any) -> dict[str, str]:
    """``{"enc": ...}``: the JSON of ``value`` encrypted under the person's data key."""
    key = data_key(person_id, create=True)
    if key is None:
        raise VaultError(f"person {person_id} has been erased: nothing may be encrypted for them")
    nonce = secrets.token_bytes(NONCE_BYTES)
    plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    sealed = AESGCM(key).encrypt(nonce, plaintext, _aad(person_id, field))
    return {ENCRYPTED: base64.b64encode(nonce + sealed).decode("ascii")}


def is_encrypted(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENCRYPTED}


def decrypt(person_id: int, field: str, value: Any, key: bytes | None) -> Any:
    """The plaintext of an encrypted value, or ``ERASED`` when its key is gone."""
    if not is_encrypted(value):
        return value
    if key is None:
        return ERASED
    blob = base64.b64decode(value[ENCRYPTED])
    try:
        plaintext = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(person_id, field))
    except InvalidTag as exc:
        raise VaultError(f"a value of person {person_id} ({field}) fails authentication") from exc
    return json.loads(plaintext)


@transaction.atomic
def shred(person_id: int) -> bool:
    """Destroy the person's data key for good. True if there was a key to destroy."""
    shredded = PersonKey.objects.filter(person_id=person_id, wrapped__isnull=False).update(
        wrapped=None, shredded_at=timezone.now()
    )
    if not shredded:
        # Refuse future encryption for them too: a shredded marker without a key.
        PersonKey.objects.get_or_create(person_id=person_id, defaults={"wrapped": None, "shredded_at": timezone.now()})
    return bool(shredded)


@transaction.atomic
def rotate_master(new_key: keys.MasterKey) -> int:
    """Re-wrap every data key under ``new_key`` and record its fingerprint. Returns the count."""
    old = master_key()
    count = 0
    for person_id, wrapped in PersonKey.objects.filter(wrapped__isnull=False).values_list("person_id", "wrapped"):
        rewrapped = aes_key_wrap(new_key.material, aes_key_unwrap(old.material, bytes(wrapped or b"")))
        PersonKey.objects.filter(person_id=person_id).update(wrapped=rewrapped)
        count += 1
    Keyring.objects.filter(pk=1).update(fingerprint=new_key.fingerprint, rotated_at=timezone.now())
    _verified.discard(old.fingerprint)
    _verified.add(new_key.fingerprint)
    return count
