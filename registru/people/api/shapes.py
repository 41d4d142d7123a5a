"""Shaping API answers from models, and small helpers shared by the endpoints."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from django.core.exceptions import PermissionDenied

from registru.accounts.roles import Capability
from registru.audit.models import AuditEvent
from registru.audit.presenters import mask_reference
from registru.core.pagination import Page
from registru.people.disclosure import MASK, Shown, for_detail, for_list
from registru.people.models import Affiliation, Note, Organization, Person


def ref(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "label": getattr(obj, "label", None) or str(obj)}


PERSON_FIELDS = (
    "id", "given_name", "family_name", "emails", "phones", "job_title", "preferred_language",
    "birth_date", "source", "lawful_basis", "status", "restriction_ground", "restricted_since",
    "street", "city", "county", "postal_code", "country", "last_verified_at", "stale_since",
    "archived_at", "created_at", "updated_at", "version",
)  # fmt: skip
ORGANIZATION_FIELDS = (
    "id", "name", "status", "cui", "trade_register_no", "industry", "street", "city",
    "county", "postal_code", "country", "archived_at", "created_at", "updated_at", "version",
)  # fmt: skip


def person_out(person: Person | Shown) -> dict[str, Any]:
    """A person as the API shows them; pass a ``disclosure.Shown`` so that masking applies."""
    if isinstance(person, Shown):
        record, masked = person.record, person.masked_values()
    else:
        record, masked = person, {}
    shaped = {name: getattr(record, name) for name in PERSON_FIELDS} | masked
    return shaped | {"owner": ref(record.owner), "masked": sorted(masked)}


def person_list_out(page: Page[Person]) -> dict[str, Any]:
    """A page of people: contact and sensitive fields masked, as in every list."""
    return page_out(page, person_out, items=for_list(page.items))


def person_detail_out(user: Any, person: Person | Shown) -> dict[str, Any]:
    """One person, masked as the user's role policy says for detail answers."""
    shown = person if isinstance(person, Shown) else for_detail(user, person)
    record = shown.record
    employers = [employer_out(a) for a in record.affiliations.all()]
    return person_out(shown) | {"employers": employers}


def employer_out(affiliation: Affiliation) -> dict[str, Any]:
    return {
        "affiliation_id": affiliation.pk,
        "organization": ref(affiliation.organization),
        "role": affiliation.role,
        "since": affiliation.since,
        "until": affiliation.until,
    }


def organization_out(organization: Organization) -> dict[str, Any]:
    return {name: getattr(organization, name) for name in ORGANIZATION_FIELDS} | {
        "owner": ref(organization.owner),
        "team": ref(organization.team),
    }


def affiliation_out(affiliation: Affiliation) -> dict[str, Any]:
    return {
        "id": affiliation.pk,
        "person": ref(affiliation.person),
        "organization": ref(affiliation.organization),
        "role": affiliation.role,
        "since": affiliation.since,
        "until": affiliation.until,
    }


def note_out(note: Note, *, listed: bool = False) -> dict[str, Any]:
    """A note; in a list its body (free text, classed sensitive) is masked, as every list
    masks sensitive fields. One note asked for by its id, in scope, is shown whole."""
    return {
        "id": note.pk,
        "kind": note.kind,
        "occurred_at": note.occurred_at,
        "author": ref(note.author),
        "body": MASK if listed and note.body else note.body,
        "person_id": note.person_id,
        "organization_id": note.organization_id,
        "masked": ["body"] if listed else [],
    }


def listed_note_out(note: Note) -> dict[str, Any]:
    return note_out(note, listed=True)


def page_out(page: Page[Any], shape: Any, items: list[Any] | None = None) -> dict[str, Any]:
    return {
        "items": [shape(item) for item in (page.items if items is None else items)],
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
        "corrected_query": page.corrected_query,
    }


def service_data(payload: Any) -> tuple[dict[str, Any], int | None, str]:
    """The changed fields of a PATCH body, with ``*_id`` keys renamed to the model's."""
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    reason = data.pop("reason", "")
    for key in ("owner_id", "team_id"):
        if key in data:
            data[key.removesuffix("_id")] = data.pop(key)
    return data, version, reason


def ensure_can_create(user: Any) -> None:
    if not user.can(Capability.BROWSE_RECORDS):
        raise PermissionDenied("Your role does not work with people and organizations.")


def event_out(
    event: AuditEvent, plain: dict[str, tuple[Any, Any]], hidden_people: Container[int] = ()
) -> dict[str, Any]:
    """An audit event as JSON, values decrypted; people the reader may not see are not named."""
    changes = [
        {
            "field": name,
            "old": mask_reference(name, old, hidden_people),
            "new": mask_reference(name, new, hidden_people),
        }
        for name, (old, new) in plain.items()
    ]
    return {
        "id": event.pk,
        "occurred_at": event.occurred_at,
        "actor": event.actor_label,
        "channel": event.channel,
        "request_id": event.request_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "changes": changes,
        "reason": event.reason,
    }
