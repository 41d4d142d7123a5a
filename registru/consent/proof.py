"""A person's consent proof (GDPR Art. 7(1): the controller must be able to demonstrate that the
person consented): the current state of each consent, the whole ledger behind it with its
decrypted evidence, and the exact text of every notice version the ledger refers to, each one
checked against the SHA-256 hash recorded when it was published and when it was used.

``build`` returns a plain dict, the JSON bundle; ``render_pdf`` turns that same dict into a
readable PDF, so that the two never say different things. The JSON, format
``registru-consent-proof/1`` (fields are added, never renamed or removed):

``format``        "registru-consent-proof/1"
``generated_at``  when the bundle was made (ISO 8601, UTC); ``generated_by`` who made it
``person``        ``{"id", "name", "status"}``
``consents``      the current state per purpose × channel: ``{"purpose", "purpose_name": {"ro", "en"},
                  "channel", "state", "valid_now", "since", "expires_at", "notice_hash", "last_event",
                  "events": [ledger ids, oldest first]}``
``events``        the whole ledger, oldest first: ``{"id", "occurred_at", "purpose", "channel", "kind",
                  "method", "recorded_by", "campaign_id", "invitation_id", "notice" (id or null),
                  "notice_hash", "notice_hash_matches" (the hash recorded with the event equals the
                  hash of the notice's text; null without a notice), "evidence": {"ip", "user_agent",
                  "attestation", "note"} (null once the person was erased: "evidence_erased" true),
                  "audit_event" (the id of the matching event of the audit trail)}``
``notices``       every notice version referred to: ``{"id", "purpose", "language", "version",
                  "created_at", "first_used_at", "text", "sha256" (as recorded at publication),
                  "sha256_of_text" (computed now over the UTF-8 bytes of ``text``), "hash_verified"}``
``verification``  ``{"hash_algorithm", "notices_checked", "notice_hashes_verified",
                  "events_match_their_notices"}``: true only if every hash above matched
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation

from registru.audit.canonical import json_value
from registru.audit.exports import FONTS
from registru.audit.models import AuditEvent
from registru.consent.choices import ConsentKind, ConsentMethod, ConsentState, ContactChannel
from registru.consent.models import Consent, ConsentEvent, Notice
from registru.consent.services import KIND_ACTIONS, Evidence
from registru.people.models import Person
from registru.vault import services as vault

FORMAT = "registru-consent-proof/1"
HASH_ALGORITHM = "sha256 over the UTF-8 bytes of the notice text"
EVIDENCE_FIELD = "consent_evidence"
EVIDENCE_KEYS = tuple(field.name for field in fields(Evidence))


def build(person: Person, *, generated_by: str) -> dict[str, Any]:
    """The proof bundle of one person (who must already be in the user's scope)."""
    ledger = list(ConsentEvent.objects.filter(person=person).select_related("purpose").order_by("id"))
    referred = {event.notice_id for event in ledger if event.notice_id}
    notices = {notice.pk: notice for notice in Notice.objects.filter(pk__in=referred).select_related("purpose")}
    events = _events(person, ledger, notices)
    notice_rows = [_notice(notice) for notice in sorted(notices.values(), key=lambda n: n.pk)]
    return {
        "format": FORMAT,
        "generated_at": json_value(timezone.now()),
        "generated_by": generated_by,
        "person": {"id": person.pk, "name": person.full_name, "status": person.status},
        "consents": _consents(person, ledger),
        "events": events,
        "notices": notice_rows,
        "verification": {
            "hash_algorithm": HASH_ALGORITHM,
            "notices_checked": len(notice_rows),
            "notice_hashes_verified": all(row["hash_verified"] for row in notice_rows),
            "events_match_their_notices": all(event["notice_hash_matches"] is not False for event in events),
        },
    }


def _consents(person: Person, ledger: list[ConsentEvent]) -> list[dict[str, Any]]:
    now = timezone.now()
    history: dict[tuple[int, str], list[int]] = {}
    for event in ledger:
        history.setdefault((event.purpose_id, event.channel), []).append(event.pk)
    current = Consent.objects.filter(person=person).select_related("purpose").order_by("purpose__code", "channel")
    return [
        {
            "purpose": consent.purpose.code,
            "purpose_name": {"ro": consent.purpose.name_ro, "en": consent.purpose.name_en},
            "channel": consent.channel,
            "state": consent.state,
            "valid_now": consent.state == ConsentState.GRANTED
            and (consent.expires_at is None or consent.expires_at > now),
            "since": json_value(consent.since),
            "expires_at": json_value(consent.expires_at),
            "notice_hash": consent.notice_hash,
            "last_event": consent.last_event_id,
            "events": history.get((consent.purpose_id, consent.channel), []),
        }
        for consent in current
    ]


def _events(person: Person, ledger: list[ConsentEvent], notices: dict[int, Notice]) -> list[dict[str, Any]]:
    key = vault.data_key(person.pk) if any(vault.is_encrypted(event.evidence) for event in ledger) else None
    audit = dict(
        AuditEvent.objects.filter(
            target_type=ConsentEvent._meta.label_lower,
            target_id__in=[event.pk for event in ledger],
            action__in=[str(action) for action in KIND_ACTIONS.values()],
        ).values_list("target_id", "id")
    )
    rows = []
    for event in ledger:
        notice = notices.get(event.notice_id) if event.notice_id else None
        evidence = vault.decrypt(person.pk, EVIDENCE_FIELD, event.evidence, key)
        erased = evidence == vault.ERASED
        rows.append({
            "id": event.pk,
            "occurred_at": json_value(event.occurred_at),
            "purpose": event.purpose.code,
            "channel": event.channel,
            "kind": event.kind,
            "method": event.method,
            "recorded_by": event.recorded_by,
            "campaign_id": event.campaign_id,
            "invitation_id": event.invitation_id,
            "notice": event.notice_id,
            "notice_hash": event.notice_hash,
            "notice_hash_matches": None if notice is None else event.notice_hash == Notice.hash_of(notice.text),
            "evidence": None if erased else {name: (evidence or {}).get(name, "") for name in EVIDENCE_KEYS},
            "evidence_erased": erased,
            "audit_event": audit.get(event.pk),
        })  # fmt: skip
    return rows


def _notice(notice: Notice) -> dict[str, Any]:
    computed = Notice.hash_of(notice.text)
    return {
        "id": notice.pk,
        "purpose": notice.purpose.code,
        "language": notice.language,
        "version": notice.version,
        "created_at": json_value(notice.created_at),
        "first_used_at": json_value(notice.first_used_at),
        "text": notice.text,
        "sha256": notice.text_hash,
        "sha256_of_text": computed,
        "hash_verified": computed == notice.text_hash,
    }


# --- PDF ------------------------------------------------------------------------------------


def render_pdf(bundle: dict[str, Any], language: str) -> bytes:
    """The bundle as a readable document in ``language``, with the vendored fonts (diacritics)."""
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string("consent/proof_pdf.html", pdf_context(bundle, language))
    return bytes(HTML(string=html, base_url=str(FONTS)).write_pdf())


def pdf_context(bundle: dict[str, Any], language: str) -> dict[str, Any]:
    notices = {notice["id"]: notice for notice in bundle["notices"]}
    events = {event["id"]: _readable_event(event, notices) for event in bundle["events"]}
    consents = [
        consent
        | {
            "name": consent["purpose_name"].get(language) or consent["purpose_name"]["ro"],
            "channel_label": ContactChannel(consent["channel"]).label,
            "state_label": ConsentState(consent["state"]).label,
            "since_local": _local(consent["since"]),
            "expires_local": _local(consent["expires_at"]),
            "history": [events[pk] for pk in consent["events"]],
        }
        for consent in bundle["consents"]
    ]
    return {
        "bundle": bundle,
        "language": language,
        "consents": consents,
        "notices": [notice | {"first_used_local": _local(notice["first_used_at"])} for notice in notices.values()],
        "generated_local": _local(bundle["generated_at"]),
        "font_regular": (FONTS / "DejaVuSans.ttf").as_uri(),
        "font_bold": (FONTS / "DejaVuSans-Bold.ttf").as_uri(),
    }


def _readable_event(event: dict[str, Any], notices: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return event | {
        "notice_row": notices.get(event["notice"]) if event["notice"] else None,
        "when": _local(event["occurred_at"]),
        "kind_label": ConsentKind(event["kind"]).label,
        "method_label": ConsentMethod(event["method"]).label,
        "channel_label": ContactChannel(event["channel"]).label,
    }


def _local(value: str | None) -> datetime | None:
    return timezone.localtime(datetime.fromisoformat(value)) if value else None
