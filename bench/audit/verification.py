"""B3: sealing and verifying a trail of a million events (or ten million).

The events are generated straight into the audit table, each made by Registru's own
``audit.services._event`` (canonical bytes, values of people encrypted under their data keys,
leaf hash), then sealed by ``audit.services.sealing.seal()``. Verification is timed through
``audit.verify.verify()`` and through ``registru audit verify --quiet``; the floor, in the same
run, is a bare SHA-256 chain over the same stored canonical bytes, read back with the same
query, batch by batch, through the same cursor.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.audit import env
from bench.audit.report import num, ratio, save
from bench.report import table

CHUNK = 20_000
COLUMNS = ("id", "occurred_at", "actor_id", "actor_label", "channel", "request_id", "action", "target_type",
           "target_id", "subject_id", "fields", "canonical", "leaf")  # fmt: skip
BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ACTORS = [(None, "system: import"), (2, "alice"), (3, "andrei"), (4, "carmen"), (5, "bob"), (6, "dora")]
CHANNELS = ["ui", "api", "task", "import", "ui", "ui"]


def subjects_for(events: int) -> int:
    return max(1000, events // 20)  # twenty events per person on average


# In the B3 process (Django set up) ---------------------------------------------------------


def generate(events: int) -> dict[str, Any]:
    """Fill the (empty) trail with ``events`` events, in parallel chunks; returns timings."""
    from django.db import connections

    start = time.perf_counter()
    people = subjects_for(events)
    indexes = _drop_secondary_indexes()
    connections.close_all()
    chunks = [(first, min(CHUNK, events - first + 1)) for first in range(1, events + 1, CHUNK)]
    context = multiprocessing.get_context("fork")
    sizes, built = 0, 0
    with context.Pool(WORKERS, initializer=_worker_init, initargs=(people,)) as pool:
        for done, (size, templates) in enumerate(pool.imap_unordered(_write_chunk, chunks), 1):
            sizes, built = sizes + size, built + templates
            if done % 10 == 0 or done == len(chunks):
                rate = min(done * CHUNK, events) / (time.perf_counter() - start)
                print(f"\r  generated {min(done * CHUNK, events):,} events ({rate:,.0f}/s)…", end="",
                      file=sys.stderr, flush=True)  # fmt: skip
    print(file=sys.stderr)
    written = time.perf_counter() - start
    _create_indexes(indexes)
    indexed = time.perf_counter() - start - written
    _after_load(events)
    return {
        "events": events,
        "people": people,
        "seconds": time.perf_counter() - start,
        "write_seconds": written,
        "index_seconds": indexed,
        "events_built_by_event_builder": built,
        "mean_canonical_bytes": sizes / events,
    }


# Events are made in windows: the events of one chunk concern the people of one window (twenty
# events per person on average), so each worker builds a small pool of events per person with
# Registru's own builder (``audit.services._event``: canonical bytes, personal values encrypted
# under the person's data key) and varies only the fields that cost nothing to vary (position,
# time, actor, channel, request) for the other events of that person. Each event's bytes are the
# canonical text of its document (checked on a sample), and its leaf is ``leaf_hash`` of them.
WORKERS = 2
WINDOW_PEOPLE = CHUNK // 20
CHECK_EVERY = 101  # every 101st event: its bytes are exactly canonical_text of their document
_PEOPLE = 1000


def _worker_init(people: int) -> None:
    global _PEOPLE
    from django.db import connections

    connections.close_all()
    _PEOPLE = people


def _window_subjects(first: int) -> list[int]:
    base = ((first - 1) // CHUNK) * WINDOW_PEOPLE
    return [1 + (base + offset) % _PEOPLE for offset in range(WINDOW_PEOPLE)]


def _write_chunk(chunk: tuple[int, int]) -> tuple[int, int]:
    from django.db import connection, transaction

    from registru.core.context import service_scope
    from registru.vault import services as vault

    first, count = chunk
    subjects = _window_subjects(first)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # the workers take turns to write: wait, however long
            cursor.execute("PRAGMA busy_timeout = 600000")
    # The window's data keys: made here (as each person's first event would make it) and
    # unwrapped once, from the prefetch that ``record_many`` uses for a bulk write.
    with transaction.atomic(), vault.keys_for(subjects):
        templates: dict[tuple[int, str], _Template] = {}
        rows = [_row(event_id, subjects, templates) for event_id in range(first, first + count)]
    with transaction.atomic(), service_scope():
        if connection.vendor == "postgresql":
            statement = f"COPY audit_auditevent ({', '.join(COLUMNS)}) FROM STDIN"
            with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            statement = (
                f"INSERT INTO audit_auditevent ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
            )
            with connection.cursor() as cursor:
                cursor.executemany(statement, [(row[0], adapt(row[1]), *row[2:]) for row in rows])
    return sum(len(row[11].encode("utf-8")) for row in rows), len(templates)


class _Template:
    """One event of a person built by ``_event``; its canonical text cut around the fields
    that vary (the document's keys are sorted, so they stay in place)."""

    def __init__(self, event: Any) -> None:
        from registru.audit.canonical import canonical_text

        document = json.loads(event.canonical)
        expected = {"v", "id", "at", "actor", "channel", "request", "action", "target", "subject", "changes", "reason"}
        if set(document) != expected:
            raise RuntimeError(f"the event format changed ({sorted(document)}): update the B3 generator")

        def part(key: str) -> str:
            return canonical_text(document[key])

        self.head = f'{{"action":{part("action")},"actor":'
        self.changes = f',"changes":{part("changes")},"channel":'
        self.tail = f',"subject":{part("subject")},"target":{part("target")},"v":{part("v")}}}'
        self.reason = f',"reason":{part("reason")},"request":'
        self.columns = (event.action, event.target_type, event.target_id, event.subject_id, event.fields)


ACTOR_TEXT: list[str] = []


def _row(event_id: int, subjects: list[int], templates: dict[tuple[int, str], _Template]) -> tuple[Any, ...]:
    from registru.audit.canonical import canonical_text, json_value, leaf_hash

    subject = subjects[((event_id * 2_654_435_761) >> 8) % len(subjects)]  # not in step with the kind
    kind = event_id % 10
    variant = "created" if kind < 2 else "title" if kind == 6 else "updated" if kind < 7 else "viewed"
    template = templates.get((subject, variant))
    if template is None:
        template = templates[subject, variant] = _Template(_built(subject, variant))
    if not ACTOR_TEXT:
        ACTOR_TEXT.extend(canonical_text(list(actor)) for actor in ACTORS)
    actor = event_id % len(ACTORS)
    occurred_at = BASE_TIME + timedelta(milliseconds=7 * event_id)
    channel, request = CHANNELS[event_id % len(CHANNELS)], f"{event_id // 3:032x}"
    canonical = (
        f'{template.head}{ACTOR_TEXT[actor]},"at":{canonical_text(json_value(occurred_at))}{template.changes}'
        f'"{channel}","id":{event_id}{template.reason}"{request}"{template.tail}'
    )
    if event_id % CHECK_EVERY == 0 and canonical_text(json.loads(canonical)) != canonical:
        raise RuntimeError(f"event {event_id}: the generated bytes are not canonical")
    action, target_type, target_id, subject_id, fields = template.columns
    actor_id, label = ACTORS[actor]
    return (event_id, occurred_at, actor_id, label, channel, request, action, target_type, target_id, subject_id,
            fields, canonical, leaf_hash(canonical))  # fmt: skip


def _built(subject: int, variant: str) -> Any:
    """One event of ``subject`` made by Registru's own event builder."""
    from bench.audit import data
    from registru.audit.actions import AuditAction
    from registru.audit.services import Draft, Origin, _event
    from registru.people.models import Person

    if variant == "created":
        values = data.person_input(subject)
        draft = Draft(AuditAction.PERSON_CREATED, Person(pk=subject), {k: (None, v) for k, v in values.items()},
                      "", subject)  # fmt: skip
    elif variant == "updated":
        old, new = data.update_input(subject), data.update_input(subject + 1)
        draft = Draft(AuditAction.PERSON_UPDATED, Person(pk=subject), {n: (old[n], new[n]) for n in old}, "", subject)
    elif variant == "title":
        titles = data.title_input(subject)["job_title"], data.title_input(subject + 1)["job_title"]
        draft = Draft(AuditAction.PERSON_UPDATED, Person(pk=subject), {"job_title": titles}, "", subject)
    else:
        draft = Draft(AuditAction.PERSON_VIEWED, Person(pk=subject), {}, "", subject)
    actor_id, label = ACTORS[0]
    return _event(draft, 0, Origin(BASE_TIME, actor_id, label, CHANNELS[0], "0" * 32))


def _drop_secondary_indexes() -> list[str]:
    """The event table's indexes but its primary key, dropped for the load and made again after
    it (as a bulk load does): the same indexes, built in one pass instead of row by row."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_auditevent' AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = 'audit_auditevent'::regclass)"
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_auditevent' "
                "AND sql IS NOT NULL"
            )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in indexes]


def _create_indexes(definitions: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET maintenance_work_mem = '1GB'")
        for definition in definitions:
            cursor.execute(definition)


def _after_load(events: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval('audit_event_position', %s)", [events])
            # As autovacuum would in time: hint bits and statistics, so that no timed read
            # below pays for setting them.
            cursor.execute("VACUUM ANALYZE audit_auditevent")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seal_all() -> dict[str, Any]:
    from registru.audit.models import AuditBatch
    from registru.audit.services.sealing import seal

    start = time.perf_counter()
    sealed = seal()
    seconds = time.perf_counter() - start
    return {"events": sealed, "batches": AuditBatch.objects.count(), "seconds": seconds,
            "events_per_s": sealed / seconds if seconds else float("nan")}  # fmt: skip


def floor_chain() -> tuple[int, bytes]:
    """A bare SHA-256 chain over the stored canonical bytes, read by verify's own reader (the
    same queries per group of sealed batches, the same cursor, the bytes as stored, read ahead
    by the same thread). A chain is sequential: one process."""
    from registru.audit.verify import FIRST, LAST, _read_ahead, _Scope

    head, count = bytes(32), 0
    sha256 = hashlib.sha256
    everything = _Scope(since=0, pruned_up_to=0, deep=False, wanted=frozenset())
    for _batch, rows in _read_ahead(everything, (FIRST, LAST), None):
        for row in rows:
            head = sha256(head + row[1]).digest()  # the canonical bytes
            count += 1
    return count, head


def measure(rounds: int) -> dict[str, Any]:
    from registru.audit.verify import verify

    workers = os.cpu_count() or 1
    floors, verifies, parallel = [], [], []
    intact = True
    events = 0
    for _round in range(rounds):
        start = time.perf_counter()
        count, _head = floor_chain()
        floors.append(count / (time.perf_counter() - start))
        start = time.perf_counter()
        report = verify(data_keys=False)  # the trail alone: the generated keys belong to no person
        verifies.append(report.events / (time.perf_counter() - start))
        intact = intact and report.intact
        start = time.perf_counter()
        several = verify(workers=workers, data_keys=False)
        parallel.append(several.events / (time.perf_counter() - start))
        intact = intact and several.intact and several.events == report.events and several.head == report.head
        events = report.events
        print(f"  round: floor {floors[-1]:,.0f} events/s, verify {verifies[-1]:,.0f} events/s, "
              f"verify(workers={workers}) {parallel[-1]:,.0f} events/s (load {_load()})", file=sys.stderr)  # fmt: skip
    return {"events": events, "intact": intact, "floor_events_per_s": floors, "verify_events_per_s": verifies,
            "workers": workers, "verify_workers_events_per_s": parallel}  # fmt: skip


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def run_b3_process(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if spec["generate"]:
        result["generation"] = generate(spec["events"])
        print(f"  generated in {result['generation']['seconds']:.1f} s; sealing…", file=sys.stderr)
        result["sealing"] = seal_all()
        print(f"  sealed {result['sealing']['events_per_s']:,.0f} events/s", file=sys.stderr)
    if spec["rounds"]:  # 0: generate and seal only (a later run uses --reuse)
        result["verification"] = measure(spec["rounds"])
    result["size"] = _size()
    return result


def _size() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_total_relation_size('audit_auditevent'), pg_total_relation_size('audit_auditbatch')"
            )
            events, batches = cursor.fetchone()
            return {"events_table_bytes": events, "batches_table_bytes": batches}
        cursor.execute("PRAGMA page_count")
        (pages,) = cursor.fetchone()
        cursor.execute("PRAGMA page_size")
        (page,) = cursor.fetchone()
        return {"database_bytes": pages * page}


# Orchestrator --------------------------------------------------------------------------------

# B3 keeps databases of its own (``registru_bench_audit_b3_*``, ``var/bench-audit/b3_*.sqlite3``),
# copied from a template of its own holding Registru's tables only: B1 and B10 rebuild and copy
# ``registru_bench_audit_template`` at their own pace, and a copy fails while anyone else is
# connected to its template.
B3_TEMPLATE = "b3_template"


def schema_fingerprint() -> str:
    """Registru's migrations and database guards (B3's databases hold no peer tables, so a change
    to the peers does not throw a generated trail away)."""
    digest = hashlib.sha256()
    files = [*sorted((env.ROOT / "registru").glob("*/migrations/*.py")), env.ROOT / "registru/core/dbguard.py"]
    for path in files:
        digest.update(str(path.relative_to(env.ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fresh_database(engine: str, name: str, *, rebuild: bool = False) -> str:
    """A new copy of B3's migrated template as database ``name``; returns its URL."""
    fingerprint = schema_fingerprint()
    marker = env.VAR / f"{B3_TEMPLATE}-{engine}.hash"
    template_url = env.database_url(engine, B3_TEMPLATE)
    path = env.VAR / f"{B3_TEMPLATE}.sqlite3"
    present = env.pg_exists(f"{env.PG_PREFIX}_{B3_TEMPLATE}") if engine == "postgres" else path.exists()
    if rebuild or not present or not marker.exists() or marker.read_text() != fingerprint:
        print(f"building the B3 {engine} template database (migrate)…", file=sys.stderr)
        env.VAR.mkdir(parents=True, exist_ok=True)
        if engine == "postgres":
            env.pg_create(f"{env.PG_PREFIX}_{B3_TEMPLATE}")
        else:
            env.sqlite_remove(path)
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
            env=env.process_env(template_url), cwd=env.ROOT, check=True,
        )  # fmt: skip
        if engine == "sqlite":
            import sqlite3

            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        marker.write_text(fingerprint)
    if engine == "postgres":
        env.pg_create(f"{env.PG_PREFIX}_{name}", template=f"{env.PG_PREFIX}_{B3_TEMPLATE}")
    else:
        target = env.VAR / f"{name}.sqlite3"
        env.sqlite_remove(target)
        shutil.copyfile(path, target)
    return env.database_url(engine, name)


def b3(args: Any) -> None:
    engines = args.db or ["postgres", "sqlite"]
    events = args.events or (20_000 if args.smoke else 1_000_000)
    rounds = args.rounds if args.rounds is not None else (1 if args.smoke else 3)
    results = []
    for engine in engines:
        name = f"b3_{events}"
        marker = env.VAR / f"{name}-{engine}.done"
        reuse = args.reuse and marker.exists() and marker.read_text() == schema_fingerprint()
        if reuse:
            url = env.database_url(engine, name)
        else:
            marker.unlink(missing_ok=True)
            url = fresh_database(engine, name, rebuild=args.rebuild)
        print(f"B3 {engine}: {events:,} events{' (reusing the generated trail)' if reuse else ''}", file=sys.stderr)
        out = env.VAR / "b3-run.json"
        out.unlink(missing_ok=True)
        spec = {"events": events, "rounds": rounds, "generate": not reuse}
        subprocess.run(
            [sys.executable, "-m", "bench.audit", "_b3", json.dumps(spec), "--out", str(out)],
            env=env.process_env(url), cwd=env.ROOT, check=True,
        )  # fmt: skip
        result = json.loads(out.read_text(encoding="utf-8"))
        if not reuse:
            marker.write_text(schema_fingerprint())
        result["engine"] = engine
        if rounds:
            result["cli"] = _cli_verify(url)
        results.append(result)
    if rounds:
        print("\n## B3 verification\n")
        print(_table(results))
    name = "b3-smoke" if args.smoke else "b3" if rounds else "b3-generate"
    path = save(name, {"events": events, "rounds": rounds, "results": results})
    print(f"\nsaved {path}")


def _cli_verify(url: str) -> dict[str, Any]:
    command = [str(Path(sys.executable).with_name("registru")), "audit", "verify", "--quiet", "--trail-only"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env.process_env(url), cwd=env.ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    print(
        f"  registru audit verify --quiet: exit {done.returncode} in {seconds:.1f} s (load {_load()})", file=sys.stderr
    )
    return {"exit": done.returncode, "seconds": seconds, "output": done.stdout.strip()[-400:]}


def _table(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        v = r["verification"]
        floor, ours = statistics.median(v["floor_events_per_s"]), statistics.median(v["verify_events_per_s"])
        several = statistics.median(v["verify_workers_events_per_s"])
        seal = r.get("sealing", {})
        cli = r["cli"]["seconds"]
        ten_million = cli * 10_000_000 / v["events"]
        rows.append([
            r["engine"], num(v["events"]), num(seal.get("events_per_s", float("nan"))), num(floor), num(ours),
            ratio(ours / floor) + (" pass" if ours / floor >= 0.15 else " **fail**"),
            f"{num(several)} ({ratio(several / floor)})",
            f"{cli:.1f} s, {num(v['events'] / cli)}/s (exit {r['cli']['exit']})",
            f"{ten_million:.0f} s" + (" pass" if ten_million < 60 else " **fail**"),
            "yes" if v["intact"] else "**no**",
        ])  # fmt: skip
    header = ["db", "events", "seal events/s", "floor events/s", "verify() events/s", "verify ÷ floor (≥ 0.15)",
              f"verify(workers={results[0]['verification']['workers']}) events/s",
              "`registru audit verify --quiet` (one worker per CPU)", "10 M at the command's rate (< 60 s)",
              "intact"]  # fmt: skip
    return table(header, rows)
