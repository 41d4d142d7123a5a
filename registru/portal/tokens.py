"""Opaque, signed, expiring tokens for the public pages (no login).

A token names what it opens (an invitation, a person's preference centre, an unsubscribe) by id
and carries a random nonce whose hash the record keeps; it is HMAC-signed with the secret key and
a salt per use, and timestamped. Tampered, expired, replayed or foreign tokens are told apart so
that the page can say what happened, and none of them changes anything. Tokens hold no personal
data: they may appear in URLs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.core import signing


class TokenUse(StrEnum):
    INVITATION = "invitation"
    PREFERENCES = "preferences"
    UNSUBSCRIBE = "unsubscribe"
    QUESTIONNAIRE = "questionnaire"


class TokenError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "tampered" or "expired"


@dataclass(frozen=True)
class Opened:
    record_id: int
    nonce: str
    extra: str


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def nonce_digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def make(use: TokenUse, record_id: int, nonce: str, extra: str = "") -> str:
    return signing.dumps([record_id, nonce, extra], salt=f"registru.portal.{use}", compress=False)


def read(use: TokenUse, token: str, max_age: timedelta) -> Opened:
    try:
        record_id, nonce, extra = signing.loads(token, salt=f"registru.portal.{use}", max_age=max_age)
    except signing.SignatureExpired as exc:
        raise TokenError("expired") from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise TokenError("tampered") from exc
    if not isinstance(record_id, int) or not isinstance(nonce, str) or not isinstance(extra, str):
        raise TokenError("tampered")
    return Opened(record_id, nonce, extra)
