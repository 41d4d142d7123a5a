"""What one writer does for each contender: create a person, change a phone and the city,
change the job title. Registru goes through its services; the peers through the plain ORM.

Registru variants switch parts of the service off inside the benchmark process only, to
measure them apart (nothing in ``registru/`` is changed):

- ``+noindex``: ``people.search.reindex`` does nothing (no search document, no vocabulary);
- ``+novalidate``: ``clean_input`` passes the (already clean) values through;
- ``+plaintext``: ``audit.services._stored`` does not encrypt (no data key is made either);
- ``+norecord``: no audit event at all (what is left is the service's own write path).

``candidate`` is Registru from another source tree (``--candidate DIR``, a scratch copy with
a change to measure), with the same flags, against the same peers in the same run.

Peers take ``+atomic``: each write in its own ``transaction.atomic()`` block (the history row
then commits with the change, as Registru's event does); without it they run in autocommit,
as most Django code does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.audit import data

PEERS = ("plain", "pghistory", "simple-history", "auditlog")
REGISTRU_FLAGS = ("noindex", "novalidate", "plaintext", "norecord")
PHASES = ("create", "update", "update-title")
ACTOR_LABEL = "benchmark writer"


@dataclass(frozen=True)
class Contender:
    name: str

    @property
    def base(self) -> str:
        return self.name.split("+", 1)[0]

    @property
    def flags(self) -> set[str]:
        return set(self.name.split("+")[1:])

    @property
    def is_registru(self) -> bool:
        return self.base in ("registru", "candidate")

    @property
    def settings(self) -> str:
        from bench.audit.env import PEER_SETTINGS, REGISTRU_SETTINGS

        return REGISTRU_SETTINGS if self.is_registru else PEER_SETTINGS

    def validate(self, engine: str) -> None:
        allowed = REGISTRU_FLAGS if self.is_registru else ("atomic",)
        if self.base not in ("registru", "candidate", *PEERS) or not self.flags <= set(allowed):
            raise ValueError(f"unknown contender {self.name!r}")
        if self.base == "pghistory" and engine != "postgres":
            raise ValueError("django-pghistory works on PostgreSQL only")


def patch_registru(flags: set[str]) -> None:
    """Switch parts of Registru's write path off, in this process only (before forking)."""
    from registru.audit import services as audit_services
    from registru.audit.canonical import json_value
    from registru.people import search
    from registru.people.services import people

    if "noindex" in flags:
        search.reindex = lambda person_ids: None
    if "novalidate" in flags:
        people.clean_input = lambda model, data, instance=None: dict(data)
    if "plaintext" in flags:
        audit_services._stored = lambda model, subject_id, name, value: json_value(value)
    if "norecord" in flags:
        people.record = lambda *args, **kwargs: None


class Writer:
    """One writer's operations, with every input prepared before the clock starts."""

    def __init__(self, contender: Contender, keys: list[int]) -> None:
        from registru.people.models import Person
        from registru.people.search import sort_key_for
        from registru.people.validation import clean_input

        self.contender = contender
        self.keys = keys
        clean = lambda values, **kw: clean_input(Person, values, **kw)  # noqa: E731
        self.creates = [clean(data.person_input(key)) for key in keys]
        for values in self.creates:
            values["sort_key"] = sort_key_for(values["given_name"], values["family_name"])
        self.updates = [clean(data.update_input(key), instance=Person()) for key in keys]
        self.titles = [clean(data.title_input(key), instance=Person()) for key in keys]
        if contender.is_registru:
            validate = "novalidate" not in contender.flags
            # What the service is given: raw input (validated inside), or the clean values.
            raw = [data.person_input(key) for key in keys]
            self.creates = raw if validate else [{k: v for k, v in c.items() if k != "sort_key"} for c in self.creates]
            if validate:
                self.updates = [data.update_input(key) for key in keys]
                self.titles = [data.title_input(key) for key in keys]
        self.records: list[Any] = []

    def operation(self, phase: str) -> Callable[[int], None]:
        return getattr(self, f"_{self.contender.base.replace('-', '_')}")(phase)

    def load(self) -> None:
        """After the creates: the records to change, read before the clock starts again."""
        model = type(self.records[0])
        by_pk = model.objects.in_bulk([record.pk for record in self.records])
        self.records = [by_pk[record.pk] for record in self.records]

    # Registru -------------------------------------------------------------------------

    def _registru(self, phase: str) -> Callable[[int], None]:
        from registru.core.actors import SystemActor
        from registru.people.services.people import create_person, update_person

        actor = SystemActor(ACTOR_LABEL)
        if phase == "create":
            return lambda i: self.records.append(create_person(dict(self.creates[i]), actor=actor))
        values = self.updates if phase == "update" else self.titles
        return lambda i: update_person(self.records[i], dict(values[i]), actor=actor)  # type: ignore[func-returns-value]

    _candidate = _registru

    # Peers ----------------------------------------------------------------------------

    def _peer(self, model: Any, phase: str) -> Callable[[int], None]:
        from django.db import transaction

        atomic = "atomic" in self.contender.flags

        def create(i: int) -> None:
            self.records.append(model.objects.create(**self.creates[i]))

        def change(values: list[dict[str, Any]]) -> Callable[[int], None]:
            def run(i: int) -> None:
                record = self.records[i]
                for name, value in values[i].items():
                    setattr(record, name, value)
                record.save(update_fields=[*values[i], "updated_at"])

            return run

        operation = create if phase == "create" else change(self.updates if phase == "update" else self.titles)
        if not atomic:
            return operation

        def in_transaction(i: int) -> None:
            with transaction.atomic():
                operation(i)

        return in_transaction

    def _plain(self, phase: str) -> Callable[[int], None]:
        from bench.audit.peerapp.models import PlainPerson

        return self._peer(PlainPerson, phase)

    def _pghistory(self, phase: str) -> Callable[[int], None]:
        from bench.audit.peerapp.models import PghistoryPerson  # type: ignore[attr-defined]

        return self._peer(PghistoryPerson, phase)

    def _simple_history(self, phase: str) -> Callable[[int], None]:
        from bench.audit.peerapp.models import SimpleHistoryPerson

        return self._peer(SimpleHistoryPerson, phase)

    def _auditlog(self, phase: str) -> Callable[[int], None]:
        from bench.audit.peerapp.models import AuditlogPerson

        return self._peer(AuditlogPerson, phase)
