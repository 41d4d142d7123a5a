"""The links people receive by email, and reading them back.

Each link carries a signed token (see ``portal.tokens``) with a nonce derived from the secret
key and what the link opens, so that the database holds no usable link: only the nonce's hash
for invitations. Links are absolute, on ``PUBLIC_URL``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Model, QuerySet
from django.urls import reverse

from registru.portal.tokens import Opened, TokenError, TokenUse, make, nonce_digest, read

# Links in marketing messages stay usable as long as old newsletters sit in inboxes.
PREFERENCES_VALID = timedelta(days=400)


def derived_nonce(use: TokenUse, *parts: object) -> str:
    material = ":".join(str(part) for part in (use, *parts)).encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"registru.portal.nonce:" + material, hashlib.sha256).hexdigest()[:32]


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


# Invitations -------------------------------------------------------------------------------


def invitation_nonce(campaign_id: int, person_id: int) -> str:
    return derived_nonce(TokenUse.INVITATION, campaign_id, person_id)


def invitation_binding(person_id: int, campaign_id: int, notices: dict[str, int]) -> str:
    """What an invitation token is bound to: the person, the campaign, the notice versions."""
    versions = ",".join(f"{code}={notice}" for code, notice in sorted(notices.items()))
    return f"{person_id}:{campaign_id}:{versions}"


def invitation_digest(campaign_id: int, person_id: int) -> str:
    return nonce_digest(invitation_nonce(campaign_id, person_id))


def invitation_url(invitation_id: int, person_id: int, campaign_id: int, notices: dict[str, int]) -> str:
    token = make(
        TokenUse.INVITATION, invitation_id, invitation_nonce(campaign_id, person_id),
        invitation_binding(person_id, campaign_id, notices),
    )  # fmt: skip
    return absolute(reverse("portal:invitation", args=[token]))


def read_invitation(token: str, valid_for: timedelta) -> Opened:
    return read(TokenUse.INVITATION, token, valid_for)


# The preference centre and one-click unsubscribe -----------------------------------------------


def preferences_url(person_id: int) -> str:
    token = make(TokenUse.PREFERENCES, person_id, derived_nonce(TokenUse.PREFERENCES, person_id))
    return absolute(reverse("portal:preferences", args=[token]))


def unsubscribe_url(person_id: int, purpose_code: str) -> str:
    nonce = derived_nonce(TokenUse.UNSUBSCRIBE, person_id, purpose_code)
    token = make(TokenUse.UNSUBSCRIBE, person_id, nonce, purpose_code)
    return absolute(reverse("portal:unsubscribe", args=[token]))


def read_person_link(use: TokenUse, token: str) -> Opened:
    """Read a preference or unsubscribe token; its nonce must be the one derived for it."""
    opened = read(use, token, PREFERENCES_VALID)
    parts: tuple[object, ...] = (opened.record_id, opened.extra) if use == TokenUse.UNSUBSCRIBE else (opened.record_id,)
    if not hmac.compare_digest(opened.nonce, derived_nonce(use, *parts)):
        raise TokenError("tampered")
    return opened


# Data-update questionnaires ------------------------------------------------------------------


def questionnaire_nonce(questionnaire_id: int, person_id: int, created_at: datetime) -> str:
    # The request's moment is part of it: each round of a recurring questionnaire has its own link.
    return derived_nonce(TokenUse.QUESTIONNAIRE, questionnaire_id, person_id, created_at.isoformat())


def questionnaire_digest(questionnaire_id: int, person_id: int, created_at: datetime) -> str:
    return nonce_digest(questionnaire_nonce(questionnaire_id, person_id, created_at))


def questionnaire_url(request_id: int, person_id: int, questionnaire_id: int, created_at: datetime) -> str:
    nonce = questionnaire_nonce(questionnaire_id, person_id, created_at)
    token = make(TokenUse.QUESTIONNAIRE, request_id, nonce, questionnaire_binding(person_id, questionnaire_id))
    return absolute(reverse("portal:questionnaire", args=[token]))


def questionnaire_binding(person_id: int, questionnaire_id: int) -> str:
    return f"{person_id}:{questionnaire_id}"


# Opening a link ----------------------------------------------------------------------------


def open_record[R: Model](
    use: TokenUse, token: str, valid_for: timedelta, records: QuerySet[R], binding: Callable[[R], str]
) -> R | str:
    """The record a single-use link opens (an invitation, a questionnaire request), or why it
    opens none ("tampered", "expired"): the signature, then the nonce against the hash the
    record keeps, then what the token is bound to."""
    try:
        opened = read(use, token, valid_for)
    except TokenError as error:
        return error.reason
    record = records.filter(pk=opened.record_id).first()
    if record is None or not hmac.compare_digest(nonce_digest(opened.nonce), record.nonce_digest):  # type: ignore[attr-defined]
        return "tampered"
    if not hmac.compare_digest(opened.extra, binding(record)):
        return "tampered"
    return record
