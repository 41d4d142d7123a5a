"""The master key: where it lives, how it is recognised, and how it is made.

The master key never enters the database. It wraps every person's data key; lose it and the
values kept for proof can no longer be read, so Registru refuses to run with a key whose
fingerprint differs from the one recorded in the database (a wrong file, a restore onto the
wrong machine) rather than start encrypting with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
FINGERPRINT_LABEL = b"registru master key fingerprint v1"


class MasterKeyMissingError(ImproperlyConfigured):
    pass


class MasterKeyMismatchError(ImproperlyConfigured):
    pass


@dataclass(frozen=True)
class MasterKey:
    material: bytes

    @cached_property
    def fingerprint(self) -> str:
        """A public name for the key: an HMAC of a fixed label, so it reveals nothing of it."""
        return hmac.new(self.material, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:32]

    @cached_property
    def cipher(self) -> AESGCM:
        """What wraps data keys under this key: made once, as preparing it costs more than a wrap."""
        return AESGCM(self.material)


def key_file() -> Path:
    configured = os.environ.get("REGISTRU_MASTER_KEY_FILE")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "keys" / "master.key"


def parse(text: str) -> MasterKey:
    try:
        material = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured("the master key is not valid base64") from exc
    if len(material) != KEY_BYTES:
        raise ImproperlyConfigured(f"the master key must be {KEY_BYTES} bytes, not {len(material)}")
    return MasterKey(material)


def load() -> MasterKey:
    """The master key from ``REGISTRU_MASTER_KEY``, or else from the key file."""
    inline = os.environ.get("REGISTRU_MASTER_KEY")
    if inline:
        return _parsed(inline)
    path = key_file()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise MasterKeyMissingError(
            f"No master key at {path}. Create one with `registru vault init` (and back it up), "
            "or restore your backup there, or set REGISTRU_MASTER_KEY."
        ) from None
    # Every new data key is wrapped under the master key, so it is asked for on every create:
    # the file is read once per version of it (a rotation or a restore puts another file in
    # place, which the next call reads), not on every call (about 80 µs each).
    return _read(str(path), stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _read(path: str, inode: int, modified_ns: int, changed_ns: int, size: int) -> MasterKey:
    return parse(Path(path).read_text(encoding="ascii"))


@lru_cache(maxsize=4)
def _parsed(text: str) -> MasterKey:
    return parse(text)


def generate() -> MasterKey:
    return MasterKey(secrets.token_bytes(KEY_BYTES))


def encode(key: MasterKey) -> str:
    return base64.urlsafe_b64encode(key.material).decode("ascii")


def write(key: MasterKey, path: Path) -> None:
    """Write a key file readable by its owner only; never overwrite an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("x", encoding="ascii") as handle:  # "x": an existing key is never replaced
        path.chmod(0o600)
        handle.write(encode(key) + "\n")
