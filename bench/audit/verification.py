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
    from django.db import connections, transaction

    from registru.vault import services as vault

    start = time.perf_counter()
    people = subjects_for(events)
    with transaction.atomic(), vault.keys_for(range(1, people + 1)):
        pass  # makes every person's data key, as their first event would
    keys_seconds = time.perf_counter() - start
    connections.close_all()
    chunks = [(first, min(CHUNK, events - first + 1)) for first in range(1, events + 1, CHUNK)]
    context = multiprocessing.get_context("fork")
    sizes = 0
    with context.Pool(2, initializer=_worker_init, initargs=(people,)) as pool:
        for done, size in enumerate(pool.imap_unordered(_write_chunk, chunks), 1):
            sizes += size
            if done % 10 == 0 or done == len(chunks):
                print(f"\r  generated {min(done * CHUNK, events):,} events…", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    _after_load(events)
    return {
        "events": events,
        "people": people,
        "seconds": time.perf_counter() - start,
        "keys_seconds": keys_seconds,
        "mean_canonical_bytes": sizes / events,
    }


_KEYS: Any = None


def _worker_init(people: int) -> None:
    global _KEYS
    from django.db import connections

    from registru.vault import services as vault

    connections.close_all()
    # Every person's data key, unwrapped once for the life of the worker (``_event`` takes
    # them from the same prefetch that ``record_many`` uses for a bulk write).
    _KEYS = vault.keys_for(range(1, people + 1))
    _KEYS.__enter__()


def _write_chunk(chunk: tuple[int, int]) -> int:
    from django.db import connection, transaction

    from registru.audit.models import AuditEvent
    from registru.audit.services import _event
    from registru.core.context import service_scope

    first, count = chunk
    events = [_event(*_synthetic(event_id)) for event_id in range(first, first + count)]
    with transaction.atomic(), service_scope():
        if connection.vendor == "postgresql":
            statement = f"COPY audit_auditevent ({', '.join(COLUMNS)}) FROM STDIN"
            with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
                for event in events:
                    copy.write_row([getattr(event, column) for column in COLUMNS])
        else:
            AuditEvent.objects.bulk_create(events, batch_size=2000)
    return sum(len(event.canonical.encode("utf-8")) for event in events)


def _synthetic(event_id: int) -> tuple[Any, int, Any]:
    """A plausible event: 20 % people created, 50 % changed, 30 % records opened."""
    from bench.audit import data
    from registru.audit.actions import AuditAction
    from registru.audit.services import Draft, Origin
    from registru.people.models import Person

    people = _KEYS_PEOPLE
    subject = 1 + (event_id * 2_654_435_761) % people
    actor_id, label = ACTORS[event_id % len(ACTORS)]
    origin = Origin(BASE_TIME + timedelta(milliseconds=7 * event_id), actor_id, label,
                    CHANNELS[event_id % len(CHANNELS)], f"{event_id // 3:032x}")  # fmt: skip
    kind = event_id % 10
    if kind < 2:
        values = data.person_input(subject)
        draft = Draft(AuditAction.PERSON_CREATED, Person(pk=subject), {k: (None, v) for k, v in values.items()},
                      "", subject)  # fmt: skip
    elif kind < 7:
        old, new = data.update_input(subject + event_id), data.update_input(subject + event_id + 1)
        changes = {name: (old[name], new[name]) for name in old}
        if kind == 6:
            titles = data.title_input(event_id)["job_title"], data.title_input(event_id + 1)["job_title"]
            changes = {"job_title": titles}
        draft = Draft(AuditAction.PERSON_UPDATED, Person(pk=subject), changes, "", subject)
    else:
        draft = Draft(AuditAction.PERSON_VIEWED, Person(pk=subject), {}, "", subject)
    return draft, event_id, origin


_KEYS_PEOPLE = 1000


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
    """A bare SHA-256 chain over the stored canonical bytes, read with verify's own query
    per sealed batch, through the same Django cursor."""
    from django.db import connection

    from registru.audit.models import AuditBatch
    from registru.audit.verify import EVENT_SQL

    head, count, after = bytes(32), 0, 0
    sha256 = hashlib.sha256
    with connection.cursor() as cursor:
        for last in AuditBatch.objects.order_by("seq").values_list("last_id", flat=True).iterator(chunk_size=200):
            cursor.execute(EVENT_SQL, [after, last])
            for _event_id, canonical, _leaf in cursor:
                head = sha256(head + canonical.encode("utf-8")).digest()
                count += 1
            after = last
    return count, head


def measure(rounds: int) -> dict[str, Any]:
    from registru.audit.verify import verify

    floors, verifies = [], []
    intact = True
    events = 0
    for _round in range(rounds):
        start = time.perf_counter()
        count, _head = floor_chain()
        floors.append(count / (time.perf_counter() - start))
        start = time.perf_counter()
        report = verify()
        verifies.append(report.events / (time.perf_counter() - start))
        intact = intact and report.intact
        events = report.events
        print(f"  round: floor {floors[-1]:,.0f} events/s, verify {verifies[-1]:,.0f} events/s", file=sys.stderr)
    return {"events": events, "intact": intact, "floor_events_per_s": floors, "verify_events_per_s": verifies}


def run_b3_process(spec: dict[str, Any]) -> dict[str, Any]:
    global _KEYS_PEOPLE
    _KEYS_PEOPLE = subjects_for(spec["events"])
    result: dict[str, Any] = {}
    if spec["generate"]:
        result["generation"] = generate(spec["events"])
        print(f"  generated in {result['generation']['seconds']:.1f} s; sealing…", file=sys.stderr)
        result["sealing"] = seal_all()
        print(f"  sealed {result['sealing']['events_per_s']:,.0f} events/s", file=sys.stderr)
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


def b3(args: Any) -> None:
    engines = args.db or ["postgres", "sqlite"]
    events = args.events or (20_000 if args.smoke else 1_000_000)
    rounds = args.rounds or (1 if args.smoke else 3)
    results = []
    for engine in engines:
        name = f"b3_{events}"
        marker = env.VAR / f"{name}-{engine}.done"
        reuse = args.reuse and marker.exists() and marker.read_text() == env.schema_fingerprint()
        if reuse:
            url = env.database_url(engine, name)
        else:
            marker.unlink(missing_ok=True)
            url = env.fresh_database(engine, name, rebuild=args.rebuild)
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
            marker.write_text(env.schema_fingerprint())
        result["cli"] = _cli_verify(url)
        result["engine"] = engine
        results.append(result)
    print("\n## B3 verification\n")
    print(_table(results))
    path = save("b3-smoke" if args.smoke else "b3", {"events": events, "rounds": rounds, "results": results})
    print(f"\nsaved {path}")


def _cli_verify(url: str) -> dict[str, Any]:
    command = [str(Path(sys.executable).with_name("registru")), "audit", "verify", "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env.process_env(url), cwd=env.ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    print(f"  registru audit verify --quiet: exit {done.returncode} in {seconds:.1f} s", file=sys.stderr)
    return {"exit": done.returncode, "seconds": seconds, "output": done.stdout.strip()[-400:]}


def _table(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        v = r["verification"]
        floor, ours = statistics.median(v["floor_events_per_s"]), statistics.median(v["verify_events_per_s"])
        seal = r.get("sealing", {})
        ten_million = 10_000_000 / ours
        rows.append([
            r["engine"], num(v["events"]), num(seal.get("events_per_s", float("nan"))), num(floor), num(ours),
            ratio(ours / floor) + (" pass" if ours / floor >= 0.15 else " **fail**"),
            f"{r['cli']['seconds']:.1f} s (exit {r['cli']['exit']})",
            f"{ten_million:.0f} s" + (" pass" if ten_million < 60 else " **fail**"),
            "yes" if v["intact"] else "**no**",
        ])  # fmt: skip
    header = ["db", "events", "seal events/s", "floor events/s", "verify() events/s", "verify ÷ floor (≥ 0.15)",
              "`registru audit verify --quiet`", "10 M at this rate (< 60 s)", "intact"]  # fmt: skip
    return table(header, rows)
