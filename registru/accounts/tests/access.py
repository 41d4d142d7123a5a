"""Helpers for the access-request tests: a CUI on carol's organization, emails for the cast."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from registru.accounts import services as accounts
from registru.accounts.models import AccessRequest, User
from registru.accounts.services import grants
from registru.audit.models import AuditEvent
from registru.people import services as people
from registru.testing.factories import SETUP

CAROL_CUI = "10000008"  # a valid Romanian CUI (checksum)
UNKNOWN_CUI = "10000016"  # valid too, on no organization
JSON = "application/json"


def prepare(cast: Any) -> None:
    """Give carol's organization a CUI and every user of the cast an email address."""
    people.update_organization(cast.carol_org, {"cui": CAROL_CUI}, actor=SETUP)
    for name in ("alice", "andrei", "bob", "carol", "dora", "admin"):
        user = getattr(cast, name)
        accounts.update_user(user, {"email": f"{name}@firma.test"}, actor=SETUP)


def ask(user: User, identifier: str, *, by: str = "email", access: str = "view", days: int = 7) -> AccessRequest:
    return grants.file_access_request(
        actor=user, identified_by=by, identifier=identifier, access=access, days=days, reason="Preiau clientul."
    )


def events(request: AccessRequest) -> list[str]:
    found = AuditEvent.objects.filter(target_type="accounts.accessrequest", target_id=request.pk).order_by("id")
    return list(found.values_list("action", flat=True))


def patch(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.patch(url, data=json.dumps(body), content_type=JSON)
