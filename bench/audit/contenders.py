"""What one writer does for each contender: create a person, change a phone and the city,
change the job title. Registru goes through its services; the peers through the plain ORM.

Registru variants switch parts of the service off inside the benchmark process only, to
measure them apart (nothing in ``registru/`` is changed):

- ``+noindex``: ``people.search.reindex``, ``index_new_person`` and ``reindex_person`` do
  nothing (no search document, no vocabulary);
- ``+novalidate``: ``clean_input`` passes the (already clean) values through;
- ``+plaintext``: ``audit.services.StoredValues`` does not encrypt, and no data key is made, read
  or unwrapped (``vault.new_keys``, ``unknown`` and ``keys_for`` do nothing);
- ``+norecord``: no audit event at all, and no data key made for a new person (what is left
  is the service's own write path).

``candidate`` is Registru from another source tree (``--candidate DIR``, a scratch copy with
a change to measure), with the same flags, against the same peers in the same run.

Peers take ``+atomic``: each write in its own ``transaction.atomic()`` block (the history row
then commits with the change, as Registru's event does); without it they run in autocommit,
as most Django code does.

Peers take ``+app``: the same application work as Registru's services, so that what differs
is the audit mechanism alone. The raw input (not pre-cleaned values) goes through Registru's
own ``people.validation.clean_input``; a create computes the sort key with ``search.sort_key_for``;
an update writes only the fields whose value changes (and nothing when none does), the sort key
when a name changes; and the search index is kept as Registru's services keep theirs: a
document and vocabulary of the peer's own (``peerapp.PeerSearchDocument``/``PeerSearchWord``,
same indexes), written by ``peer_index_new`` after a create and rebuilt by ``peer_reindex``
after an update of a field the document is made of (``people.services.people.INDEXED_FIELDS``),
with the statements of ``people.search.index_new_person`` and ``reindex_person`` and
Registru's ``document_for``/``words_for``. What ``+app`` peers do not do is
what Registru's services do besides the audit event and is cheap here: the optimistic version
check (an extra WHERE term and ``version + 1`` in the same UPDATE) and the scope checks (the
benchmark's actor is a system actor, for which there are none).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from bench.audit import data

PEERS = ("plain", "pghistory", "simple-history", "auditlog")
REGISTRU_FLAGS = ("noindex", "novalidate", "plaintext", "norecord")
PEER_FLAGS = ("atomic", "app")
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
        allowed = REGISTRU_FLAGS if self.is_registru else PEER_FLAGS
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
    from registru.vault import services as vault

    if "noindex" in flags:
        search.reindex = lambda person_ids: None
        search.index_new_person = lambda person: None
        search.reindex_person = lambda person: None
    if "novalidate" in flags:
        people.clean_input = lambda model, data, instance=None: dict(data)
    if "plaintext" in flags:
        audit_services.StoredValues = lambda model, subject_id: lambda name, value: json_value(value)
        # ... and no data key is made, read or unwrapped either.
        vault.new_keys = lambda person_ids: None
        vault.unknown = lambda person_ids: []
        vault.keys_for = lambda person_ids, rows=None: nullcontext()
    if "norecord" in flags:
        people.record = lambda *args, **kwargs: None  # (the new person's key is made by the event)


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
        if contender.is_registru or "app" in contender.flags:
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
        app = "app" in self.contender.flags

        def create(i: int) -> None:
            self.records.append(model.objects.create(**self.creates[i]))

        def change(values: list[dict[str, Any]]) -> Callable[[int], None]:
            def run(i: int) -> None:
                record = self.records[i]
                for name, value in values[i].items():
                    setattr(record, name, value)
                record.save(update_fields=[*values[i], "updated_at"])

            return run

        if app:
            create, change = self._app_create(model), self._app_change
        operation = create if phase == "create" else change(self.updates if phase == "update" else self.titles)
        if not atomic:
            return operation

        def in_transaction(i: int) -> None:
            with transaction.atomic():
                operation(i)

        return in_transaction

    def _app_create(self, model: Any) -> Callable[[int], None]:
        """``people.services.create_person`` without its audit event: validate, sort key,
        insert, search index."""
        from registru.people.models import Person
        from registru.people.search import sort_key_for
        from registru.people.validation import clean_input

        def create(i: int) -> None:
            cleaned = clean_input(Person, dict(self.creates[i]))
            record = model(**cleaned)
            record.sort_key = sort_key_for(record.given_name, record.family_name)
            record.save()
            peer_index_new(record)
            self.records.append(record)

        return create

    def _app_change(self, values: list[dict[str, Any]]) -> Callable[[int], None]:
        """``people.services.update_person`` without its audit event: validate, write the
        fields that change, rebuild the search document if one of its fields changed."""
        from registru.audit.services import diff
        from registru.people.models import Person
        from registru.people.search import sort_key_for
        from registru.people.services.people import INDEXED_FIELDS
        from registru.people.validation import clean_input

        def run(i: int) -> None:
            record = self.records[i]
            cleaned = clean_input(Person, dict(values[i]), instance=record)
            changes = diff({name: getattr(record, name) for name in cleaned}, cleaned)
            if not changes:
                return
            fields = list(changes)
            for name in changes:
                setattr(record, name, cleaned[name])
            if {"given_name", "family_name"} & changes.keys():
                record.sort_key = sort_key_for(record.given_name, record.family_name)
                fields.append("sort_key")
            record.save(update_fields=[*fields, "updated_at"])
            if INDEXED_FIELDS & changes.keys():
                peer_reindex(type(record), [record.pk], people=[record])

        return run

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


def peer_index_new(record: Any) -> None:
    """``people.search.index_new_person`` for a peer's new person, statement for statement: the
    document, its FTS5 row on SQLite, the vocabulary's counts."""
    from collections import Counter

    from django.db import connection

    from bench.audit.peerapp.models import PeerSearchDocument
    from registru.people.search import document_for, words_for

    document = PeerSearchDocument(
        person_id=record.pk, document=document_for(record, []), words=" ".join(sorted(words_for(record, [])))
    )
    PeerSearchDocument.objects.bulk_create([document])
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.executemany(
                "INSERT INTO peer_search_fts (rowid, document) VALUES (%s, %s)", [(record.pk, document.document)]
            )
        cursor.executemany(
            "INSERT INTO peerapp_peersearchword (word, people) VALUES (%s, %s) ON CONFLICT (word) "
            "DO UPDATE SET people = peerapp_peersearchword.people + excluded.people",
            list(Counter(document.words.split()).items()),
        )


def peer_reindex(model: Any, person_ids: list[int], people: Any = None) -> None:
    """``people.search.reindex`` for a peer's people, statement for statement: the employers
    (the same query on Registru's affiliations), the people (unless given, as
    ``reindex_person`` is given them), the old words, then the new documents, the FTS5 rows on
    SQLite and the vocabulary's counts."""
    from collections import Counter, defaultdict

    from django.db import connection

    from bench.audit.peerapp.models import PeerSearchDocument, PeerSearchWord
    from registru.people.scopes import current_affiliations
    from registru.people.search import document_for, words_for

    ids = sorted(set(person_ids))
    employers: dict[int, list[str]] = defaultdict(list)
    for person_id, name in (
        current_affiliations().filter(person_id__in=ids).values_list("person_id", "organization__name")
    ):
        employers[person_id].append(name)
    if people is None:
        people = model.objects.filter(pk__in=ids).only("given_name", "family_name", "emails", "phones")
    documents = [
        PeerSearchDocument(
            person_id=person.pk,
            document=document_for(person, employers[person.pk]),
            words=" ".join(sorted(words_for(person, employers[person.pk]))),
        )
        for person in people
    ]
    counts: Counter[str] = Counter()
    for words in PeerSearchDocument.objects.filter(person_id__in=ids).values_list("words", flat=True):
        counts.subtract(words.split())
    for document in documents:
        counts.update(document.words.split())
    PeerSearchDocument.objects.filter(person_id__in=ids).delete()
    PeerSearchDocument.objects.bulk_create(documents)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(f"DELETE FROM peer_search_fts WHERE rowid IN ({placeholders})", ids)
            cursor.executemany(
                "INSERT INTO peer_search_fts (rowid, document) VALUES (%s, %s)",
                [(document.person_id, document.document) for document in documents],
            )
        added = [(word, count) for word, count in counts.items() if count > 0]
        removed = [(-count, -count, word) for word, count in counts.items() if count < 0]
        if added:
            cursor.executemany(
                "INSERT INTO peerapp_peersearchword (word, people) VALUES (%s, %s) ON CONFLICT (word) "
                "DO UPDATE SET people = peerapp_peersearchword.people + excluded.people",
                added,
            )
        if removed:
            cursor.executemany(
                "UPDATE peerapp_peersearchword SET people = CASE WHEN people > %s THEN people - %s ELSE 0 END "
                "WHERE word = %s",
                removed,
            )
            PeerSearchWord.objects.filter(word__in=[word for *_n, word in removed], people=0).delete()
