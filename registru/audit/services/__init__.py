"""Writing the trail. Only services of other apps call these, inside their own transaction.

An event is written in the caller's transaction with its canonical bytes and leaf hash; no lock
is shared between writers. ``seal`` later binds committed events into hash-chained batches.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from registru.audit import state
from registru.audit.actions import AuditAction
from registru.audit.canonical import FORMAT_VERSION, canonical_text, json_value, leaf_hash
from registru.audit.models import AuditEvent
from registru.core.actors import actor_identity
from registru.core.context import current_context
from registru.core.pii import PIIClass, classification
from registru.core.services import service
from registru.vault import services as vault

type Changes = dict[str, tuple[Any, Any]]
EMPTY: tuple[Any, ...] = (None, "", [], {})


def diff(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """Field-level ``{name: (old, new)}`` for the fields whose value differs."""
    return {
        name: (before.get(name), value)
        for name, value in after.items()
        if json_value(before.get(name)) != json_value(value)
    }


@dataclass
class Draft:
    """An event to be written: what happened to which record, and why."""

    action: AuditAction
    target: models.Model
    changes: Changes = field(default_factory=dict)
    reason: str = ""
    subject_id: int | None = None
    # Commit the record's state even though the event changes nothing (a baseline).
    commit_state: bool = False


def record(
    action: AuditAction,
    *,
    actor: Any,
    target: models.Model,
    changes: Changes | None = None,
    reason: str = "",
    subject_id: int | None = None,
    new_subject: bool = False,
) -> AuditEvent:
    """Append one event for ``target`` to the trail, in the caller's transaction.
    ``new_subject``: the subject was created in this transaction and has no data key yet."""
    draft = Draft(action, target, changes or {}, reason, subject_id)
    new_subjects = [subject_id] if new_subject and subject_id is not None else []
    return record_many([draft], actor=actor, new_subjects=new_subjects)[0]


def record_many(drafts: Sequence[Draft], *, actor: Any, new_subjects: Sequence[int] = ()) -> list[AuditEvent]:
    """Append one event per draft, set-based: one id allocation and one insert for them all.
    The data keys of ``new_subjects`` (people created in this transaction) are made here."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the service's transaction")
    context = current_context()
    actor_id, actor_label = actor_identity(actor)
    origin = Origin(timezone.now(), actor_id, actor_label, str(context.channel), context.request_id)
    # The subjects' data keys, fetched together (and only those not already unwrapped in this
    # service call): each key is read and unwrapped once, not once per encrypted value.
    # On PostgreSQL the keys not yet unwrapped are read, and the new people's keys stored, in
    # the round trip that takes the positions.
    subjects = {
        draft.subject_id
        for draft in drafts
        if draft.subject_id is not None
        and (draft.changes or (draft.commit_state and state.is_audited(type(draft.target))))
    }
    made = vault.new_keys(list(dict.fromkeys(new_subjects)))
    ids, key_rows = _allocate(len(drafts), vault.unknown(subjects.difference(new_subjects)), made)
    with vault.keys_for(subjects, rows=key_rows):
        # The state each event commits to: the record as this write leaves it (audit.state).
        return _write(drafts, ids, origin, state.commitments(drafts))


COLUMNS = (
    "id", "occurred_at", "actor_id", "actor_label", "channel", "request_id", "action", "target_type", "target_id",
    "subject_id", "fields", "canonical", "leaf",
)  # fmt: skip
INSERT_EVENT = f"INSERT INTO audit_auditevent ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"  # noqa: S608


def _write(drafts: Sequence[Draft], ids: list[int], origin: Origin, states: Sequence[str | None]) -> list[AuditEvent]:
    events = [
        _event(draft, event_id, origin, committed)
        for draft, event_id, committed in zip(drafts, ids, states, strict=True)
    ]
    # A plain INSERT: compiling the ORM's INSERT of thirteen columns took longer than the
    # event's encryption and hash together. The values are the ORM's own (the time adapted by
    # the backend, as the ORM does), and the instances are marked saved, as bulk_create does.
    occurred_at = connection.ops.adapt_datetimefield_value(origin.occurred_at)
    rows = [[occurred_at if name == "occurred_at" else getattr(event, name) for name in COLUMNS] for event in events]
    with connection.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(INSERT_EVENT, rows[0])
        else:
            cursor.executemany(INSERT_EVENT, rows)
    for event in events:
        event._state.adding = False
        event._state.db = connection.alias
    return events


PG_ALLOCATE = (
    "LOCK TABLE audit_auditevent IN ROW EXCLUSIVE MODE; "
    "SELECT nextval('audit_event_position') FROM generate_series(1, {count:d})"
)


# More keys than this are read by the vault itself, in a query of their own: SQLite limits the
# parameters of a statement.
SQLITE_KEYS_FOLDED = 500


def allocate_ids(count: int) -> list[int]:
    """Positions for ``count`` new events, taken before the events are written, so that each
    event's canonical bytes can name its own position."""
    return _allocate(count, [], None)[0]


def _allocate(
    count: int, key_people: list[int], new_keys: vault.NewKeys | None
) -> tuple[list[int], list[tuple[int, Any]] | None]:
    """``allocate_ids``; in the same statement or round trip, the key rows of ``key_people``
    (None where they were not read: the vault reads them itself) and, on PostgreSQL, the
    INSERT of ``new_keys``, which are stored in any case before this returns."""
    if new_keys is not None and not (count and connection.vendor == "postgresql"):
        new_keys.stored(new_keys.insert())  # no round trip of ours to ride with: stored now
        new_keys = None
    if count == 0:
        return [], None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Taken before the position, this lock (which writers do not share with each other)
            # makes the sealer's EXCLUSIVE lock wait until every position handed out so far is
            # committed or rolled back: a sealed range never misses a late commit.
            # One round trip: without parameters (the count and ids are ints, the keys hex,
            # formatted in) psycopg sends the statements as one simple query, and returns one
            # result each (a round trip was about 0.3 ms of a 3.5 ms create on this machine).
            statements = [PG_ALLOCATE.format(count=int(count))]
            if new_keys is not None:
                statements.append(new_keys.sql())
            if key_people:
                statements.append(vault.rows_sql(key_people))
            cursor.execute("; ".join(statements))
            _next_result(cursor)  # past the LOCK's
            ids = [row[0] for row in cursor.fetchall()]
            if new_keys is not None:
                _next_result(cursor)
                new_keys.stored(row[0] for row in cursor.fetchall())
            if not key_people:
                return ids, None
            _next_result(cursor)
            return ids, list(cursor.fetchall())
        # SQLite has one writer at a time (BEGIN IMMEDIATE): the maximum cannot move under us.
        # There is no round trip to save, but each statement costs Django's cursor its own
        # work, as much as the key's read: the key rows come with the maximum (person NULL).
        if not key_people or len(key_people) > SQLITE_KEYS_FOLDED:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM audit_auditevent")
            (highest,) = cursor.fetchone()
            return list(range(highest + 1, highest + 1 + count)), None
        # MAX in a subquery of its own, where SQLite reads the index's last entry.
        keys_sql = vault.rows_query(len(key_people))
        sql = f"SELECT NULL, (SELECT COALESCE(MAX(id), 0) FROM audit_auditevent) UNION ALL {keys_sql}"  # noqa: S608
        cursor.execute(sql, key_people)
        rows = cursor.fetchall()
        highest = next(value for person_id, value in rows if person_id is None)
        return list(range(highest + 1, highest + 1 + count)), [row for row in rows if row[0] is not None]


def _next_result(cursor: Any) -> None:
    # A statement list and its reading out of step would read one result as another's.
    if not cursor.nextset():
        raise RuntimeError("the allocation round trip returned fewer results than it sent statements")


@dataclass(frozen=True)
class Origin:
    """What the events written together share: when, by whom, through which channel."""

    occurred_at: Any
    actor_id: int | None
    actor_label: str
    channel: str
    request_id: str


def _event(draft: Draft, event_id: int, origin: Origin, committed: str | None = None) -> AuditEvent:
    model = type(draft.target)
    stored = StoredValues(model, draft.subject_id)
    changes = {name: [stored(name, old), stored(name, new)] for name, (old, new) in draft.changes.items()}
    document = {
        "v": FORMAT_VERSION,
        "id": event_id,
        "at": json_value(origin.occurred_at),
        "actor": [origin.actor_id, origin.actor_label],
        "channel": origin.channel,
        "request": origin.request_id,
        "action": str(draft.action),
        "target": [model._meta.label_lower, draft.target.pk],
        "subject": draft.subject_id,
        "changes": changes,
        "reason": draft.reason,
    }
    if committed is not None:
        document["state"] = committed
    canonical = canonical_text(document)
    return AuditEvent(
        id=event_id,
        occurred_at=origin.occurred_at,
        actor_id=origin.actor_id,
        actor_label=origin.actor_label,
        channel=origin.channel,
        request_id=origin.request_id,
        action=str(draft.action),
        target_type=model._meta.label_lower,
        target_id=draft.target.pk,
        subject_id=draft.subject_id,
        fields=" ".join(sorted(draft.changes))[:500],
        canonical=canonical,
        leaf=leaf_hash(canonical),
    )


class StoredValues:
    """Values of one event as the trail keeps them: personal values of a person encrypted
    under their key. The key is looked up at the event's first personal value, once."""

    __slots__ = ("encrypt", "not_personal", "subject_id")

    def __init__(self, model: type[models.Model], subject_id: int | None) -> None:
        self.subject_id = subject_id
        self.not_personal = not_personal_fields(model)
        self.encrypt: vault.Encrypter | None = None

    def __call__(self, name: str, value: Any) -> Any:
        value = json_value(value)
        # Values that are not model fields (merged_from, person, ...) name people: personal.
        if self.subject_id is None or value in EMPTY or name in self.not_personal:
            return value
        if self.encrypt is None:
            self.encrypt = vault.encrypter(self.subject_id)
        return self.encrypt(name, value)


@functools.cache
def not_personal_fields(model: type[models.Model]) -> frozenset[str]:
    """The fields of ``model`` classified as not personal (a model's classification is fixed)."""
    return frozenset(name for name, kind in classification(model).items() if kind is PIIClass.NONE)


def model_for(target_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(target_type)
    except (LookupError, ValueError):
        return None


@service
def record_access(
    action: AuditAction, *, actor: Any, target: models.Model, subject_id: int | None, detail: str = ""
) -> AuditEvent:
    """Record a read that matters (a record opened, a trail exported): who, what, when, how."""
    return record(action, actor=actor, target=target, reason=detail, subject_id=subject_id)
