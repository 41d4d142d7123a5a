"""Live data bound to the trail: every audited write commits to the state it leaves.

The *audited records* are the personal-data records that services write with an event about
them: the models of the PII registry that are ``AuditedModel`` (people, organizations,
affiliations, notes). Every event that changes one (an event with changes) carries ``state``:

- ``"p1:" + MAC`` for a record of a living person, keyed by a key derived from the person's data
  key (``vault.state_mac_key``): a guess of a phone number cannot be tested without that key,
  and once it is shredded, not at all;
- ``"s1:" + MAC`` for a record that is no person's, and for a person's blanked record after
  erasure, keyed by the system's data key (``vault.system_state_key``);
- ``"deleted"`` for a record the event deletes.

The MAC is HMAC-SHA256 over ``registru:state:v1`` and a newline, followed by the canonical
row: the compact JSON array ``[model label, id, {column: value}]`` with the row's non-NULL
columns (NULL columns are left out, so a new nullable column does not change older
commitments), keys sorted, UTF-8. Values: datetimes as their UTC time written
``YYYY-MM-DD HH:MM:SS[.ffffff]``, dates ``YYYY-MM-DD``, booleans 0/1, JSON columns as their JSON
value, everything else (text, numbers, foreign keys by id) as it is.

``verify_state`` compares every live row with the state of its latest event that changed it;
records whose latest such event was written before this existed are "not yet committed" until
their next write, or until ``commit_state`` writes a baseline event for them.
"""

from __future__ import annotations

import base64
import functools
import hmac
import json
import multiprocessing
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from django.db import connection, models

from registru.audit.actions import AuditAction
from registru.audit.canonical import json_value
from registru.core.models import AuditedModel
from registru.core.pii import personal_data_models
from registru.core.services import service
from registru.vault import services as vault

DELETED = "deleted"
SUBJECT_KEYED, SYSTEM_KEYED = "p1", "s1"
MAC_PREFIX = b"registru:state:v1\n"
# Actions that delete their record, and actions after which the person's key is gone (their
# record's state is then keyed by the system key: the erasure event is the last it has).
DELETIONS = frozenset({AuditAction.AFFILIATION_DELETED.value, AuditAction.NOTE_DELETED.value})
SHREDDING = frozenset({AuditAction.PERSON_ERASED.value})
CHUNK = 5000
NAMED_AT_MOST = 1000
UNCOMMITTED = object()  # a record whose latest write event was written before states existed


def audited_models() -> list[type[models.Model]]:
    """The audited records' models, in a stable order."""
    return sorted(
        (model for model in personal_data_models() if issubclass(model, AuditedModel)),
        key=lambda model: model._meta.label_lower,
    )


@functools.cache
def is_audited(model: type[models.Model]) -> bool:
    return issubclass(model, AuditedModel) and not model._meta.abstract and hasattr(model, "PII")


# The canonical row ------------------------------------------------------------------------------


class Column(NamedTuple):
    attname: str
    column: str
    kind: str  # datetime, date, bool, json or plain


KINDS = {"DateTimeField": "datetime", "DateField": "date", "BooleanField": "bool", "JSONField": "json"}


@functools.cache
def columns_of(model: type[models.Model]) -> tuple[Column, ...]:
    fields = sorted(model._meta.concrete_fields, key=lambda f: str(f.column))
    return tuple(Column(f.attname, str(f.column), KINDS.get(f.get_internal_type(), "plain")) for f in fields)


def pk_column(model: type[models.Model]) -> str:
    return str(model._meta.pk.column)


def _utc_text(value: datetime) -> str:
    return str(value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value)


def _python_value(kind: str, value: Any) -> Any:
    """A value as the instance holds it, in the canonical form."""
    if value is None:
        return None
    if kind == "datetime":
        return _utc_text(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "bool":
        return int(value)
    if kind == "json":
        return json_value(value)
    return value


def _db_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


# How the drivers' values become canonical: times, dates and booleans already are (see
# ``select_sql``); JSON is text on both databases, and its value is what counts.
DB_CONVERTERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "sqlite": {"json": _db_json},
    "postgresql": {"json": _db_json},
}


def instance_values(instance: models.Model) -> dict[str, Any]:
    """The canonical column values of an instance that holds its row (NULLs left out)."""
    values = {}
    for c in columns_of(type(instance)):
        value = getattr(instance, c.attname)
        if value is not None:
            values[c.column] = _python_value(c.kind, value)
    return values


# PostgreSQL writes times, dates and booleans in the canonical form itself (in the server's
# process, not this one's): the UTC time as text, ".000000" dropped as Python's str() drops it.
PG_CANONICAL = {
    "datetime": "replace(to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '.000000', '')",
    "date": "to_char({0}, 'YYYY-MM-DD')",
    "bool": "{0}::int",
}


def select_sql(model: type[models.Model], where: str) -> str:
    """The row query, every value in the canonical form but JSON. On SQLite each column goes
    through ``+``, a no-op that drops the declared type, so Django's converters do not parse
    times that are already stored as the canonical text."""
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        names = ", ".join(PG_CANONICAL.get(c.kind, "{0}").format(quote(c.column)) for c in columns_of(model))
    else:
        names = ", ".join(quote(c.column) if c.kind == "plain" else f"+{quote(c.column)}" for c in columns_of(model))
    return f"SELECT {names} FROM {quote(model._meta.db_table)} WHERE {where} ORDER BY {quote(pk_column(model))}"  # noqa: S608


@functools.cache
def _converters(
    model: type[models.Model], vendor: str
) -> tuple[tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    converters = DB_CONVERTERS[vendor]
    columns = columns_of(model)
    names = tuple(c.column for c in columns)
    return names, tuple((i, converters[c.kind]) for i, c in enumerate(columns) if c.kind in converters)


def row_values(model: type[models.Model], row: Sequence[Any]) -> dict[str, Any]:
    """The canonical column values of a row as the driver returns it (NULLs left out)."""
    names, converters = _converters(model, connection.vendor)
    if converters:
        row = list(row)
        for index, convert in converters:
            if row[index] is not None:
                row[index] = convert(row[index])
    return {name: value for name, value in zip(names, row, strict=True) if value is not None}


def db_rows(model: type[models.Model], ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The canonical values of these rows as the database holds them (one query per 900)."""
    pk = pk_column(model)
    found: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 900):
            part = list(ids[start : start + 900])
            cursor.execute(
                select_sql(model, f"{connection.ops.quote_name(pk)} IN ({', '.join(['%s'] * len(part))})"), part
            )
            for row in cursor.fetchall():
                values = row_values(model, row)
                found[values[pk]] = values
    return found


def in_order(values: dict[str, Any]) -> dict[str, Any]:
    """Canonical values after some were replaced: keys in order again, NULLs left out."""
    return {name: values[name] for name in sorted(values) if values[name] is not None}


# Keys in column order, NULLs left out, as the two functions above make them: no sorting needed.
_ROW_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def mac(key: bytes, model: type[models.Model], pk: int, values: dict[str, Any]) -> str:
    """The MAC of a row's canonical values (``instance_values``, ``row_values``: keys in
    order, no NULLs) under ``key``, URL-safe base64 without padding."""
    text = _ROW_JSON.encode([model._meta.label_lower, pk, values])
    digest = hmac.digest(key, MAC_PREFIX + text.encode("utf-8"), "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# Writing: the state entry of an event ------------------------------------------------------------


def commitments(drafts: Sequence[Any]) -> list[str | None]:
    """The ``state`` entry of each draft's event (None where it has none): the record's row
    after the change, as the service left the instance, or read from the database when the
    draft's target is not a loaded instance (a set-based write names its rows by id)."""
    wanted = [_commits(draft) for draft in drafts]
    unloaded: dict[type[models.Model], list[int]] = {}
    for draft, commits in zip(drafts, wanted, strict=True):
        if commits and not _is_deletion(draft) and _unloaded(draft.target):
            unloaded.setdefault(type(draft.target), []).append(draft.target.pk)
    rows = {model: db_rows(model, ids) for model, ids in unloaded.items()}
    return [_commitment(draft, rows) if commits else None for draft, commits in zip(drafts, wanted, strict=True)]


def _commits(draft: Any) -> bool:
    model: type[models.Model] = type(draft.target)
    return is_audited(model) and bool(draft.changes or draft.commit_state)


def _is_deletion(draft: Any) -> bool:
    return str(draft.action) in DELETIONS


def _unloaded(instance: models.Model) -> bool:
    # Made with Model(pk=...) and never saved or read, or read with fields left out.
    return instance._state.adding or bool(instance.get_deferred_fields())


def _commitment(draft: Any, rows: dict[type[models.Model], dict[int, dict[str, Any]]]) -> str:
    if _is_deletion(draft):
        return DELETED
    model, pk = type(draft.target), draft.target.pk
    values = rows[model].get(pk) if model in rows else instance_values(draft.target)
    if values is None:
        raise LookupError(f"{model._meta.label} {pk} is not in the database: its state cannot be committed")
    scheme, key = _write_key(draft)
    return f"{scheme}:{mac(key, model, pk, values)}"


def _write_key(draft: Any) -> tuple[str, bytes]:
    if draft.subject_id is not None and str(draft.action) not in SHREDDING:
        key = vault.data_key(draft.subject_id, create=True)
        if key is not None:
            return SUBJECT_KEYED, vault.state_mac_key(key)
    system = vault.system_state_key(create=True)
    if system is None:
        raise vault.VaultError("the system key could not be made")
    return SYSTEM_KEYED, system


# Reading: what an event says, from its canonical bytes ----------------------------------------

# The canonical document's keys are sorted, and its last three ("subject", "target", "v") hold
# no free text: the tail is recognised exactly, and so is the state just before it. (A quote
# inside a string is escaped, so no value can imitate these keys.)
TAIL = re.compile(r',"subject":(null|-?\d+),"target":\[("[^"\\]*"|null),(null|-?\d+)\],"v":\d+\}')
ACTION = re.compile(r'\{"action":"([^"\\]*)"')


class Summary(NamedTuple):
    """What verification needs of an event: whether it wrote its record, and the state."""

    event_id: int
    action: str
    writes: bool
    state: str | None
    subject: int | None
    target: tuple[str | None, int | None]


def summary(event_id: int, canonical: str) -> Summary | None:
    """The summary of an event, or None when its bytes are not an event's canonical form."""
    tail_at = canonical.rfind(',"subject":')
    tail = TAIL.fullmatch(canonical, tail_at) if tail_at >= 0 else None
    action = ACTION.match(canonical)
    if tail is None or action is None:
        return None
    state = None
    if canonical[tail_at - 1] == '"':
        start = canonical.rfind(',"state":"', 0, tail_at)
        if start >= 0 and '"' not in canonical[start + 10 : tail_at - 1]:
            state = canonical[start + 10 : tail_at - 1]
    changes_at = canonical.find('"changes":')
    writes = state is not None or (changes_at >= 0 and not canonical.startswith('"changes":{}', changes_at))
    subject, label, target = tail.groups()
    return Summary(
        event_id,
        action.group(1),
        writes,
        state,
        None if subject == "null" else int(subject),
        (None if label == "null" else label[1:-1], None if target == "null" else int(target)),
    )


# Verification ---------------------------------------------------------------------------------


class StateDamage(StrEnum):
    CHANGED = "changed outside Registru"
    INSERTED = "inserted outside Registru"
    DELETED = "deleted outside Registru"
    KEY_GONE = "its state cannot be checked: the data key it was committed with is gone"
    MISFILED = "an event about it is filed under another record"


@dataclass(frozen=True)
class StateFinding:
    """One record whose live row is not the state its trail committed to."""

    model: str
    pk: int
    damage: StateDamage
    fields: tuple[str, ...] = ()
    complete: bool = False  # the named fields are all that changed (the MAC confirms it)
    event_id: int | None = None
    looked_up: bool = False  # its events were replayed to name the fields

    def __str__(self) -> str:
        text = f"{self.model} {self.pk}: {self.damage}"
        if self.damage is StateDamage.CHANGED:
            named = ", ".join(self.fields)
            if not self.looked_up:
                text += " (fields not looked up)"
            elif not self.fields:
                text += " (fields unknown)"
            elif self.complete:
                text += f" (fields: {named})"
            else:
                text += f" (fields: {named}, and others the trail does not show)"
        if self.event_id is not None:
            text += f" [event #{self.event_id}]"
        return text


@dataclass
class StateReport:
    """The outcome of ``verify_state``: counts per kind of record, and the findings."""

    checked: int = 0
    committed: int = 0
    uncommitted: int = 0
    findings: list[StateFinding] = field(default_factory=list)
    uncommitted_records: list[tuple[type[models.Model], int, int | None]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first(self) -> StateFinding | None:
        return self.findings[0] if self.findings else None


def verify_state(*, name_fields: bool = True, workers: int = 1) -> StateReport:
    """Compare every audited record's live row with the state of its latest write event.

    The fast path unwraps data keys and computes MACs; it decrypts no personal value. Only for
    a record found changed are its events read and decrypted, to name the fields that differ.
    With ``workers`` > 1 (and outside a transaction), ranges of records are checked by that
    many processes side by side; the findings are the same.
    """
    parts = [(model._meta.label_lower, low, high) for model in audited_models() for low, high in _ranges(model)]
    report = StateReport()
    if workers > 1 and len(parts) > 1 and _can_fork():
        _check_in_processes(parts, workers, report)
    else:
        for part in parts:
            _merge(report, _check_part(part))
    report.findings.sort(key=lambda f: (f.model, f.pk, f.damage))
    if name_fields:
        # Naming replays and decrypts a record's events: for the first findings only, so that a
        # mass change is reported in minutes, not hours.
        report.findings[:NAMED_AT_MOST] = [_named(finding) for finding in report.findings[:NAMED_AT_MOST]]
    return report


def _can_fork() -> bool:
    # Other processes would not see what this transaction (or a database in memory) holds.
    if "fork" not in multiprocessing.get_all_start_methods() or connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        return not getattr(connection, "is_in_memory_db", lambda: True)()
    return True


def _check_in_processes(parts: list[tuple[str, int | None, int | None]], workers: int, report: StateReport) -> None:
    from django.db import connections

    connections.close_all()  # each process opens its own
    pool = multiprocessing.get_context("fork").Pool(min(workers, len(parts)))
    try:
        for part in pool.imap_unordered(_check_part, parts):
            _merge(report, part)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _check_part(part: tuple[str, int | None, int | None], collect: bool = False) -> StateReport:
    from django.apps import apps

    label, low, high = part
    report = StateReport()
    _check_range(
        apps.get_model(label), low, high, report,
        master=vault.master_key(), system=vault.system_state_key(), collect=collect,
    )  # fmt: skip
    return report


def _merge(report: StateReport, part: StateReport) -> None:
    report.checked += part.checked
    report.committed += part.committed
    report.uncommitted += part.uncommitted
    report.findings.extend(part.findings)
    report.uncommitted_records.extend(part.uncommitted_records)


def _ranges(model: type[models.Model]) -> Iterator[tuple[int | None, int | None]]:
    """Id ranges ``(low, high]`` of CHUNK live rows each, the last one open-ended."""
    pk = connection.ops.quote_name(pk_column(model))
    table = connection.ops.quote_name(model._meta.db_table)
    low: int | None = None
    with connection.cursor() as cursor:
        while True:
            after = "" if low is None else f"WHERE {pk} > %s "
            cursor.execute(
                f"SELECT {pk} FROM {table} {after}ORDER BY {pk} LIMIT 1 OFFSET {CHUNK - 1}",  # noqa: S608
                [] if low is None else [low],
            )
            found = cursor.fetchone()
            if found is None:
                yield low, None
                return
            yield low, found[0]
            low = found[0]


def _between(column: str, low: int | None, high: int | None) -> tuple[str, list[int]]:
    parts, params = [], []
    if low is not None:
        parts.append(f"{column} > %s")
        params.append(low)
    if high is not None:
        parts.append(f"{column} <= %s")
        params.append(high)
    return " AND ".join(parts) or "1 = 1", params


EVENTS_SQL = (
    "SELECT target_id, id, canonical FROM audit_auditevent WHERE target_type = %s AND {between} "
    "ORDER BY target_id, id DESC"
)


def _state_events(
    model: type[models.Model], low: int | None, high: int | None
) -> Iterator[tuple[int, Summary | None, list[int]]]:
    """For each record with events in the range: its latest write event's summary (None if it
    has none), and the events filed under it that name another record."""
    label = model._meta.label_lower
    between, params = _between("target_id", low, high)
    current: int | None = None
    latest: Summary | None = None
    misfiled: list[int] = []
    with connection.cursor() as cursor:
        cursor.execute(EVENTS_SQL.format(between=between), [label, *params])
        while rows := cursor.fetchmany(2000):
            for target_id, event_id, canonical in rows:
                if target_id != current:
                    if current is not None:
                        yield current, latest, misfiled
                    current, latest, misfiled = target_id, None, []
                if latest is not None:
                    continue  # older than the latest write: not needed
                text = canonical if isinstance(canonical, str) else bytes(canonical).decode("utf-8")
                found = summary(event_id, text)
                if found is None or found.target != (label, target_id):
                    misfiled.append(event_id)
                elif found.writes:
                    latest = found
    if current is not None:
        yield current, latest, misfiled


def _check_range(
    model: type[models.Model],
    low: int | None,
    high: int | None,
    report: StateReport,
    *,
    master: Any,
    system: bytes | None,
    collect: bool,
) -> None:
    label, pk = model._meta.label_lower, pk_column(model)
    between, params = _between(connection.ops.quote_name(pk), low, high)
    with connection.cursor() as cursor:
        cursor.execute(select_sql(model, between), params)
        rows = {values[pk]: values for values in (row_values(model, row) for row in cursor.fetchall())}
    events = {target: (latest, misfiled) for target, latest, misfiled in _state_events(model, low, high)}
    subjects = {s.subject for s, _m in events.values() if s and s.state and s.state.startswith(SUBJECT_KEYED + ":")}
    keys = _mac_keys(master, sorted(x for x in subjects if x is not None))
    report.checked += len(rows)
    for record_id in sorted(rows.keys() | events.keys()):
        latest, misfiled = events.get(record_id, (None, []))
        report.findings.extend(StateFinding(label, record_id, StateDamage.MISFILED, event_id=e) for e in misfiled)
        damage = _compare(model, record_id, rows.get(record_id), latest, keys=keys, system=system)
        if damage is None:
            report.committed += record_id in rows
        elif damage is UNCOMMITTED:
            report.uncommitted += 1
            if collect:
                report.uncommitted_records.append((model, record_id, latest.subject if latest else None))
        elif isinstance(damage, StateDamage):
            report.findings.append(StateFinding(label, record_id, damage, event_id=latest.event_id if latest else None))


def _compare(
    model: type[models.Model],
    record_id: int,
    row: dict[str, Any] | None,
    latest: Summary | None,
    *,
    keys: dict[int, bytes | None],
    system: bytes | None,
) -> StateDamage | object | None:
    deleted = latest is not None and (latest.state == DELETED or (latest.state is None and latest.action in DELETIONS))
    if row is None:
        return None if deleted or latest is None else StateDamage.DELETED
    if latest is None or deleted:
        return StateDamage.INSERTED
    if latest.state is None:
        return UNCOMMITTED
    scheme, _, expected = latest.state.partition(":")
    key = system if scheme == SYSTEM_KEYED else keys.get(latest.subject) if latest.subject is not None else None
    if key is None or scheme not in (SUBJECT_KEYED, SYSTEM_KEYED):
        return StateDamage.KEY_GONE
    return None if hmac.compare_digest(mac(key, model, record_id, row), expected) else StateDamage.CHANGED


def _mac_keys(master: Any, people: list[int]) -> dict[int, bytes | None]:
    """The state MAC keys of these people: their data keys unwrapped, nothing decrypted."""
    found: dict[int, bytes | None] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(people), 900):
            part = people[start : start + 900]
            cursor.execute(
                f"SELECT person_id, wrapped FROM vault_personkey WHERE person_id IN ({', '.join(['%s'] * len(part))})",  # noqa: S608
                part,
            )
            for person_id, wrapped in cursor.fetchall():
                key = None if wrapped is None else vault.unwrap_key(master, person_id, bytes(wrapped))
                found[person_id] = None if key is None else vault.state_mac_key(key)
    return found


# Naming the fields of a changed record: its events replayed, decrypted ----------------------------


def _named(finding: StateFinding) -> StateFinding:
    if finding.damage is not StateDamage.CHANGED:
        return finding
    from django.apps import apps

    model = apps.get_model(finding.model)
    fields, complete = changed_fields(model, finding.pk)
    return StateFinding(finding.model, finding.pk, finding.damage, fields, complete, finding.event_id, looked_up=True)


def changed_fields(model: type[models.Model], pk: int) -> tuple[tuple[str, ...], bool]:
    """The fields whose live value is not the one the record's events last wrote, and whether
    they are all of it (putting their recorded values back gives the committed MAC)."""
    from registru.audit.models import AuditEvent
    from registru.audit.reading import KeyCache, readable_changes

    keys = KeyCache()
    events = list(AuditEvent.objects.filter(target_type=model._meta.label_lower, target_id=pk).order_by("id"))
    recorded: dict[str, Any] = {}
    if events and events[0].action.endswith(".created"):
        # A creation records the values given, not the empty ones: the fields one can give that
        # it does not name were empty (their default), until a later event says otherwise.
        for name in getattr(model, "EDITABLE", ()):
            given = model._meta.get_field(name)
            if isinstance(given, models.Field):
                default = given.get_default()
                recorded[name] = {"id": default} if given.is_relation else json_value(default)
    for event in events:
        for name, (_old, new) in readable_changes(event, keys).items():
            recorded[name] = new
    live = model._default_manager.filter(pk=pk).first()
    if live is None:
        return (), False
    differing = {}
    for name, value in recorded.items():
        try:
            model_field = model._meta.get_field(name)
        except LookupError:
            continue  # not a field (merged_from, person_informed): nothing to compare
        if value == vault.ERASED or not model_field.concrete:
            continue
        if not _same(getattr(live, name), value):
            differing[model_field] = value
    names = tuple(sorted(f.name for f in differing))
    return names, bool(names) and _confirms(model, pk, live, differing, events)


def _same(live: Any, recorded: Any) -> bool:
    # Related records are written into events as {id, label}: the id is what the row holds.
    if isinstance(live, models.Model) or isinstance(recorded, dict):
        live_id = live.pk if isinstance(live, models.Model) else live
        return isinstance(recorded, dict) and recorded.get("id") == live_id
    return bool(json_value(live) == recorded)


def _confirms(
    model: type[models.Model], pk: int, live: models.Model, differing: dict[Any, Any], events: list[Any]
) -> bool:
    """Whether the live row with the recorded values put back is the committed state."""
    latest = next((s for e in reversed(events) if (s := summary(e.pk, e.canonical)) and s.writes), None)
    if latest is None or latest.state is None or ":" not in latest.state:
        return False
    scheme, _, expected = latest.state.partition(":")
    if scheme == SYSTEM_KEYED:
        key = vault.system_state_key()
    else:
        data_key = vault.data_key(latest.subject) if latest.subject is not None else None
        key = None if data_key is None else vault.state_mac_key(data_key)
    if key is None:
        return False
    values = instance_values(live)
    by_column = {c.attname: c for c in columns_of(model)}
    for model_field, value in differing.items():
        column = by_column[model_field.attname]
        raw = value.get("id") if isinstance(value, dict) and "id" in value else value
        values[column.column] = _from_recorded(column.kind, raw)
    return hmac.compare_digest(mac(key, model, pk, in_order(values)), expected)


def _from_recorded(kind: str, value: Any) -> Any:
    # Values in events are JSON: times in ISO 8601 with their offset, booleans true/false.
    if value is None:
        return None
    if kind == "datetime":
        return _utc_text(datetime.fromisoformat(value))
    if kind == "bool":
        return int(value)
    return value


# Baseline commitments, for records last written before events carried a state ---------------


def commit_state(*, actor: Any, chunk: int = 1000) -> int:
    """Write one baseline event (``record.state_committed``) for every live record whose latest
    write event has no state, each chunk in a service call of its own; returns how many.

    Run once after an upgrade: a change made outside Registru before it is committed as if it
    were Registru's, so run ``verify`` (the trail) first, and keep its result.
    """
    committed = 0
    for model in audited_models():
        for low, high in _ranges(model):
            records = _check_part((model._meta.label_lower, low, high), collect=True).uncommitted_records
            for start in range(0, len(records), chunk):
                committed += commit_records(records[start : start + chunk], actor=actor)
    return committed


@service
def commit_records(records: Sequence[tuple[type[models.Model], int, int | None]], *, actor: Any) -> int:
    """Baseline events for these records (model, id, subject), as they stand now."""
    from registru.audit.services import Draft, record_many

    drafts = []
    for model, pk, subject in records:
        instance = model._default_manager.filter(pk=pk).first()
        if instance is not None:
            drafts.append(Draft(AuditAction.STATE_COMMITTED, instance, {}, "", subject, commit_state=True))
    record_many(drafts, actor=actor)
    return len(drafts)
