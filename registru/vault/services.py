"""The vault: per-person data keys under the master key, and values encrypted with them.

Values are AES-256-GCM encrypted with a fresh 96-bit nonce; the associated data binds each
ciphertext to its person and field, so a ciphertext copied into another person's event or
another field does not decrypt. Shredding destroys the wrapped key: the ciphertext stays (and
so do the hashes over it), the value is gone.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registru.core import dbguard
from registru.vault import keys
from registru.vault.models import Keyring, PersonKey

ENCRYPTED: Final = "enc"
ERASED: Final = "[erased]"
NONCE_BYTES = 12
NONCES_DRAWN = 16
# json.dumps with options builds a new encoder on every call: one, made once, is as exact.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
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


def _aad_prefix(person_id: int) -> str:
    return f"registru:{person_id}:"


def _aad(person_id: int, field: str) -> bytes:
    return (_aad_prefix(person_id) + field).encode()


INSERT_KEY = (
    "INSERT INTO vault_personkey (person_id, wrapped, created_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (person_id) DO NOTHING"
)


class _KeyScope:
    """The data keys unwrapped during one service call (or one ``keys_for`` block).

    A scope lives no longer than the service's transaction and is never shared between
    threads or calls; ``shred`` removes a person's key from every open scope. Each key is
    kept with the savepoints open when it was read or made, and is served only while they
    are all still open: a key made inside a savepoint that has since been rolled back is
    gone from the database, so it must not be used (a released savepoint costs a re-read).
    An inner scope (a service called by another) sees its parent's keys; what it adds is
    dropped when it ends.
    """

    __slots__ = ("keys", "parent")

    def __init__(self, parent: _KeyScope | None) -> None:
        self.parent = parent
        self.keys: dict[int, tuple[bytes | None, tuple[str, ...]]] = {}

    def keep(self, person_id: int, key: bytes | None) -> None:
        self.keys[person_id] = (key, tuple(connection.savepoint_ids))

    def find(self, person_id: int) -> tuple[bool, bytes | None]:
        open_now = connection.savepoint_ids
        scope: _KeyScope | None = self
        while scope is not None:
            entry = scope.keys.get(person_id)
            if entry is not None:
                key, savepoints = entry
                if tuple(open_now[: len(savepoints)]) == savepoints:
                    return True, key
                del scope.keys[person_id]
            scope = scope.parent
        return False, None

    def forget(self, person_id: int) -> None:
        scope: _KeyScope | None = self
        while scope is not None:
            scope.keys.pop(person_id, None)
            scope = scope.parent


_scope: ContextVar[_KeyScope | None] = ContextVar("registru_vault_keys", default=None)


@contextmanager
def key_scope() -> Iterator[None]:
    """Keep the data keys this block unwraps, so each is read and unwrapped once.

    Every service call opens one (``core.services.service``): a person's key is then looked
    up once per service call instead of once per encrypted value. The keys are dropped when
    the block ends, never kept beyond it.
    """
    token = _scope.set(_KeyScope(_scope.get()))
    try:
        yield
    finally:
        _scope.reset(token)


def _unwrap(person_id: int, wrapped: Any) -> bytes | None:
    if wrapped is None:
        return None
    try:
        return unwrap_key(master_key(), person_id, bytes(wrapped))
    except (InvalidUnwrap, InvalidTag) as exc:
        raise VaultError(f"the data key of person {person_id} does not unwrap with this master key") from exc


# A data key is wrapped with AES-256-GCM under the master key: a format byte, a fresh 96-bit
# nonce, the sealed key and its tag, bound to its person by the associated data, so that a
# wrapped key copied onto another person's row does not unwrap. The master key's cipher is
# made once: RFC 3394's key wrap, used before, prepared OpenSSL's cipher for every key, and
# that was most of what making or reading a data key cost. Keys wrapped that way (40 bytes)
# still unwrap; `registru vault rotate-master` rewraps them in this format.
WRAP_FORMAT: Final = b"\x01"
RFC3394_WRAPPED_BYTES: Final = 40


def _wrap_aad(person_id: int) -> bytes:
    return f"registru:data-key:{person_id}".encode()


def wrap_key(master: keys.MasterKey, person_id: int, key: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return WRAP_FORMAT + nonce + master.cipher.encrypt(nonce, key, _wrap_aad(person_id))


def unwrap_key(master: keys.MasterKey, person_id: int, wrapped: bytes) -> bytes:
    """The data key; raises InvalidTag or InvalidUnwrap if it was not wrapped by ``master``
    for this person."""
    if len(wrapped) == RFC3394_WRAPPED_BYTES:
        return aes_key_unwrap(master.material, wrapped)
    if not wrapped.startswith(WRAP_FORMAT):
        raise InvalidUnwrap(f"unknown format of a wrapped key: {wrapped[:1].hex()}")
    nonce, sealed = wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :]
    return master.cipher.decrypt(nonce, sealed, _wrap_aad(person_id))


INSERT_KEYS_RETURNING = (
    "INSERT INTO vault_personkey (person_id, wrapped, created_at) VALUES {rows} "
    "ON CONFLICT (person_id) DO NOTHING RETURNING person_id"
)


class NewKeys:
    """Data keys made for people, not yet stored; ``stored`` says which ones the database took.

    Two transactions may race to make the key of the same person: the first one wins. A key
    the database did not take is never used: ``stored`` reads the winner's in its place (or
    finds the person shredded). Until then none of these keys is in the current scope, so a
    value encrypted in between makes (or reads) the key through the database, as always.
    """

    __slots__ = ("keys", "wrapped")

    def __init__(self, person_ids: Iterable[int]) -> None:
        master = master_key()
        self.keys = {person_id: secrets.token_bytes(32) for person_id in person_ids}
        self.wrapped = {person_id: wrap_key(master, person_id, key) for person_id, key in self.keys.items()}

    def sql(self) -> str:
        """The INSERT that stores them and returns whose it stored, without parameters, so that
        a caller may send it with statements of its own in one round trip (PostgreSQL)."""
        rows = ",".join(  # integers and hex digits only
            f"({int(person_id)},decode('{wrapped.hex()}','hex'),clock_timestamp())"
            for person_id, wrapped in self.wrapped.items()
        )
        return INSERT_KEYS_RETURNING.format(rows=rows)

    def insert(self) -> list[int]:
        """Store them now; the people whose key this stored."""
        now = timezone.now()
        rows = [(person_id, wrapped, now) for person_id, wrapped in self.wrapped.items()]
        with connection.cursor() as cursor:
            if len(rows) == 1:
                cursor.execute(INSERT_KEY, rows[0])
            else:
                cursor.executemany(INSERT_KEY, rows)
            # Both databases count the rows really inserted (ON CONFLICT DO NOTHING inserts
            # none); when some were not, which ones is not known: ``stored`` reads them all.
            stored = cursor.rowcount
        return list(self.keys) if stored == len(rows) else []

    def stored(self, person_ids: Iterable[int]) -> dict[int, bytes | None]:
        """Given whose keys the database took, these people's keys as stored (None for a
        shredded person), kept in the current scope. (A person left with no key row at all,
        which cannot happen as key rows are never deleted, would be missing from the result.)"""
        found: dict[int, bytes | None] = {person_id: self.keys[person_id] for person_id in person_ids}
        lost = [person_id for person_id in self.keys if person_id not in found]
        if lost:
            found |= _load(lost, create=False)
        scope = _scope.get()
        if scope is not None:
            for person_id, key in found.items():
                scope.keep(person_id, key)
        return found


def new_keys(person_ids: list[int]) -> NewKeys | None:
    """Data keys for people created in this transaction, for the caller to store (None if none)."""
    return NewKeys(person_ids) if person_ids else None


def new_key(person_id: int) -> bytes:
    """Make and store the data key of a person created in this transaction, and keep it in the
    current scope: the service that created them encrypts their values without reading it back."""
    made = NewKeys([person_id])
    key = made.stored(made.insert()).get(person_id)
    if key is None:
        raise VaultError(f"person {person_id} has been erased: nothing may be encrypted for them")
    return key


def _load(person_ids: list[int], *, create: bool, rows: list[tuple[int, Any]] | None = None) -> dict[int, bytes | None]:
    """Read (and make, where missing and ``create``) the keys of these people: one query, and
    one insert when some are missing. ``rows`` are the key rows of these people when the
    caller has read them already (``rows_sql``)."""
    if rows is None and len(person_ids) == 1:
        # The usual case (one person's service call), without the ORM's query compilation.
        with connection.cursor() as cursor:
            cursor.execute("SELECT person_id, wrapped FROM vault_personkey WHERE person_id = %s", person_ids)
            rows = cursor.fetchall()
    elif rows is None:
        rows = list(PersonKey.objects.filter(person_id__in=person_ids).values_list("person_id", "wrapped"))
    found: dict[int, bytes | None] = {person_id: _unwrap(person_id, wrapped) for person_id, wrapped in rows}
    missing = [person_id for person_id in person_ids if person_id not in found]
    if create and missing:
        made = NewKeys(missing)
        found |= made.stored(made.insert())
    return found


def unknown(person_ids: Iterable[int]) -> list[int]:
    """Which of these people's keys the current scope does not hold (all of them outside one)."""
    scope = _scope.get()
    return sorted({person_id for person_id in person_ids if scope is None or not scope.find(person_id)[0]})


def rows_sql(person_ids: list[int]) -> str:
    """A query for the key rows of these people that needs no parameters, so that a caller may
    send it together with statements of its own in one round trip (see ``keys_for``)."""
    ids = ",".join(str(int(person_id)) for person_id in person_ids)  # integers only
    return f"SELECT person_id, wrapped FROM vault_personkey WHERE person_id = ANY('{{{ids}}}'::bigint[])"  # noqa: S608


def rows_query(count: int) -> str:
    """A query for the key rows of ``count`` people, given as parameters, for a caller to fold
    into a statement of its own (SQLite; see ``keys_for``). With parameters, not values, its
    text repeats, so SQLite's statement cache prepares it once."""
    return f"SELECT person_id, wrapped FROM vault_personkey WHERE person_id IN ({','.join(['%s'] * count)})"  # noqa: S608


@contextmanager
def keys_for(person_ids: Iterable[int], *, rows: list[tuple[int, Any]] | None = None) -> Iterator[None]:
    """Fetch (and make, where missing) the data keys of many people at once, for one bulk write.

    One query (and one insert for the missing) instead of two per person; keys already in the
    current scope are not read again. ``rows``, when given, are the result of ``rows_sql(unknown
    (person_ids))`` read just before, in this transaction. Inside a service the keys stay in the
    service's scope until it ends; elsewhere they are dropped when the block ends, never kept.
    """
    scope, token = _scope.get(), None
    if scope is None:
        scope = _KeyScope(None)
        token = _scope.set(scope)
    try:
        wanted = sorted({person_id for person_id in person_ids if not scope.find(person_id)[0]})
        if wanted:
            for person_id, key in _load(wanted, create=True, rows=rows).items():
                scope.keep(person_id, key)
        yield
    finally:
        if token is not None:
            _scope.reset(token)


def data_key(person_id: int, *, create: bool = False) -> bytes | None:
    """The person's data key, or None once it has been shredded (or never existed)."""
    scope = _scope.get()
    if scope is not None:
        known, key = scope.find(person_id)
        if known:  # a key, or None for a shredded one (a person without any key is not kept)
            return key
    found = _load([person_id], create=create)
    if scope is not None and person_id in found:
        scope.keep(person_id, found[person_id])
    return found.get(person_id)


class Encrypter:
    """Encrypts values of one person under their data key, looked up once for them all.

    An event encrypts every personal value it carries (a new person's: ten or more); looking
    the key up and preparing the cipher once per event, not once per value, cut the cost of
    encrypting a new person's event by a third. Made by ``encrypter`` inside the call that uses it,
    and dropped with it: it holds the key, so it is never kept beyond that call.
    """

    __slots__ = ("_cipher", "_nonces", "_prefix")

    def __init__(self, person_id: int, key: bytes) -> None:
        self._cipher = AESGCM(key)
        self._prefix = _aad_prefix(person_id)
        self._nonces = b""

    def __call__(self, field: str, value: Any) -> dict[str, str]:
        """``{"enc": ...}``: the JSON of ``value`` encrypted, bound to the person and ``field``."""
        if not self._nonces:
            # Random nonces drawn for several values at once: the same generator, one call to
            # it (a call cost more than the encryption of a short value).
            self._nonces = secrets.token_bytes(NONCE_BYTES * NONCES_DRAWN)
        nonce, self._nonces = self._nonces[:NONCE_BYTES], self._nonces[NONCE_BYTES:]
        plaintext = _JSON.encode(value).encode("utf-8")
        sealed = self._cipher.encrypt(nonce, plaintext, (self._prefix + field).encode())  # _aad(...)
        return {ENCRYPTED: binascii.b2a_base64(nonce + sealed, newline=False).decode("ascii")}


def encrypter(person_id: int) -> Encrypter:
    """What encrypts values of this person (making their data key if they have none yet)."""
    key = data_key(person_id, create=True)
    if key is None:
        raise VaultError(f"person {person_id} has been erased: nothing may be encrypted for them")
    return Encrypter(person_id, key)


def encrypt(person_id: int, field: str, value: Any) -> dict[str, str]:
    """``{"enc": ...}``: the JSON of ``value`` encrypted under the person's data key."""
    return encrypter(person_id)(field, value)


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
    """Destroy the person's data key for good. True if there was a key to destroy.

    On PostgreSQL the application's role (which does not own the tables) may not clear a key
    itself: the tables' owner's function ``registru_shred_key`` does, for a person erased in
    this same transaction only (``core.dbguard``).
    """
    scope = _scope.get()
    if scope is not None:
        scope.forget(person_id)  # never served from a cache again, even in this transaction
    if connection.vendor == "postgresql" and not dbguard.owns_table(PersonKey._meta.db_table):
        with connection.cursor() as cursor:
            cursor.execute("SELECT registru_shred_key(%s)", [person_id])
            return bool(cursor.fetchone()[0])
    with dbguard.shredding_path():
        shredded = PersonKey.objects.filter(person_id=person_id, wrapped__isnull=False).update(
            wrapped=None, shredded_at=timezone.now()
        )
        if not shredded:
            # Refuse future encryption for them too: a shredded marker without a key.
            PersonKey.objects.get_or_create(
                person_id=person_id, defaults={"wrapped": None, "shredded_at": timezone.now()}
            )
    return bool(shredded)


@transaction.atomic
def rotate_master(new_key: keys.MasterKey) -> int:
    """Re-wrap every data key under ``new_key`` and record its fingerprint. Returns the count."""
    old = master_key()
    count = 0
    with dbguard.rotation_path():
        for person_id, wrapped in PersonKey.objects.filter(wrapped__isnull=False).values_list("person_id", "wrapped"):
            rewrapped = wrap_key(new_key, person_id, unwrap_key(old, person_id, bytes(wrapped or b"")))
            PersonKey.objects.filter(person_id=person_id).update(wrapped=rewrapped)
            count += 1
    Keyring.objects.filter(pk=1).update(fingerprint=new_key.fingerprint, rotated_at=timezone.now())
    _verified.discard(old.fingerprint)
    _verified.add(new_key.fingerprint)
    return count


# --- keys for the state commitments of the audit trail (docs/audit.md, "Live data bound to
# the trail") --------------------------------------------------------------------------------

STATE_MAC_INFO: Final = b"registru:state-mac:v1"
# The system's own data key sits under this reserved id (people's ids start at 1): wrapped by
# the master key like a person's, so it needs the master key, is rewrapped by ``rotate_master``
# with every other key, and is never shredded.
SYSTEM_KEY_ID: Final = 0


def state_mac_key(data_key: bytes) -> bytes:
    """The key that MACs a record's state, derived from a data key: HKDF-Expand (RFC 5869,
    SHA-256, 32 bytes) with the data key as the pseudorandom key (it is uniformly random, so
    HKDF-Extract adds nothing). Without the data key it cannot be computed, so shredding the
    key ends every test of a guess against the person's commitments."""
    return hmac.digest(data_key, STATE_MAC_INFO + b"\x01", "sha256")


def system_state_key(*, create: bool = False) -> bytes | None:
    """The MAC key for the states of records that are no person's (and of erased people's
    blanked records): derived from the system's data key, made on first use if ``create``."""
    key = data_key(SYSTEM_KEY_ID, create=create)
    return None if key is None else state_mac_key(key)
