"""Completeness: any sequence of operations through the services yields exactly the expected
events; several writer processes on PostgreSQL leave no gap and no duplicate, and the trail
verifies."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registru.audit.models import AuditBatch, AuditEvent
from registru.audit.services.sealing import seal
from registru.audit.verify import verify
from registru.core.errors import ConflictError
from registru.people import services
from registru.testing.factories import SETUP, OrganizationFactory, PersonFactory, note_about

pytestmark = pytest.mark.django_db

OPERATIONS = [
    "update", "noop_update", "archive", "restore", "note", "delete_note", "employ", "end_employment", "restrict",
    "lift",
]  # fmt: skip


def apply(operation: str, state: dict) -> str | None:
    """Do one operation; return the action code of the event it must produce (None: no event)."""
    person = state["person"]
    person.refresh_from_db()
    if operation == "update":
        state["n"] += 1
        services.update_person(person, {"job_title": f"Funcția {state['n']}"}, actor=SETUP)
        return "person.updated"
    if operation == "noop_update":
        services.update_person(person, {"given_name": person.given_name}, actor=SETUP)
        return None
    if operation in ("archive", "restore"):
        archived = person.archived_at is not None
        (services.archive_person if operation == "archive" else services.restore_person)(person, actor=SETUP)
        return None if archived == (operation == "archive") else f"person.{operation}d"
    if operation in ("restrict", "lift"):
        return _restriction(operation, person)
    if operation == "note":
        note_about(person)
        return "note.created"
    if operation == "delete_note":
        note = person.notes.first()
        if note is None:
            return None
        services.delete_note(note, actor=SETUP)
        return "note.deleted"
    current = person.affiliations.filter(organization=state["org"], until__isnull=True).first()
    if operation == "employ":
        if current is not None:
            return None
        services.create_affiliation(person, state["org"], {"role": "R"}, actor=SETUP)
        return "affiliation.created"
    if current is None:
        return None
    services.update_affiliation(current, {"until": "2099-12-31"}, actor=SETUP)
    return "affiliation.updated"


def _restriction(operation: str, person: Any) -> str | None:
    """Restrict or lift; refused (and so no event) when the person is already in that state."""
    try:
        if operation == "restrict":
            services.restrict_processing(person, actor=SETUP, ground="legal_claims", reason="litigiu")
            return "person.restricted"
        services.lift_restriction(person, actor=SETUP, reason="litigiu încheiat", person_informed=True)
    except ConflictError:
        return None
    return "person.restriction_lifted"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(OPERATIONS), max_size=12))
def test_every_operation_yields_exactly_its_event(cast, operations: list[str]) -> None:
    state = {"person": PersonFactory(owner=cast.alice), "org": OrganizationFactory(owner=cast.alice), "n": 0}
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    expected = Counter(code for code in (apply(op, state) for op in operations) if code)
    actual = Counter(AuditEvent.objects.filter(id__gt=start).values_list("action", flat=True))
    assert actual == expected


WRITER = """
import django, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registru.config.settings")
django.setup()
from registru.core.context import Channel, audit_context
from registru.core.actors import SystemActor
from registru.people import services
actor = SystemActor("writer " + sys.argv[1])
with audit_context(Channel.TASK):
    for index in range(int(sys.argv[2])):
        person = services.create_person({"given_name": "P", "family_name": f"W{sys.argv[1]}-{index}"}, actor=actor)
        services.update_person(person, {"job_title": "J"}, actor=actor)
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_no_gap_and_the_trail_verifies(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("several writer processes at once: the PostgreSQL test (SQLite has one writer at a time)")
    name = connection.settings_dict["NAME"]
    env = os.environ | {"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}", "PYTHONPATH": str(Path.cwd())}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(n), "40"], env=env, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    sealed = 0
    while any(writer.poll() is None for writer in writers):
        sealed += seal()  # the sealer runs while they write
    assert [writer.wait() for writer in writers] == [0, 0, 0, 0], [w.stderr.read() for w in writers if w.stderr]
    sealed += seal()
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) == 4 * 40 * 2
    assert sealed == len(ids) == sum(AuditBatch.objects.values_list("size", flat=True))
    assert verify().intact
