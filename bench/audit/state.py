"""The live records checked against the trail (``registru audit verify --state``): a million
people in under a minute, on SQLite and PostgreSQL.

Seeding: the first ``--sample`` people go through ``people.services.create_person`` (one
service call each, search index included). The others are written in chunks of 5,000 by the
same write path without the per-person transaction: their rows with one ``bulk_create``, then
their events with ``audit.services.record_many`` (the function ``create_person``'s ``record``
calls), given the values ``people.validation.clean_input`` returns for this input and the same
changes ``create_person`` records; so each event is made by the code that makes a service's
event (personal values encrypted under a new data key, the state MAC, canonical bytes, leaf).
They get no search document (not an audited record). A sample of the generated people is
checked against a person made by the service from the same input: same changed fields, same
state scheme.

Measured in the same process, alternated over ``--rounds``: ``verify_state()`` (unwrapping each
data key, one MAC per row; nothing decrypted) against the floor, a plain read of the same rows:
the records, their events' canonical text and the data keys, with the same queries in the same
chunks.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import date
from typing import Any

from bench.audit import data, env
from bench.audit.report import num, ratio, save

CHUNK = 5000


def _cleaned(key: int) -> dict[str, Any]:
    """``clean_input(Person, data.person_input(key))`` without its cost: the phone in E.164
    form, the birth date a date (the sample checks this against the service)."""
    values = data.person_input(key)
    national = values["phones"][0].replace(" ", "")
    values["phones"] = ["+40" + national[1:]]
    values["birth_date"] = date.fromisoformat(values["birth_date"])
    return values


def seed(people: int, sample: int) -> dict[str, Any]:
    from registru.core.context import Channel, audit_context
    from registru.people import services
    from registru.testing.factories import SETUP

    start = time.perf_counter()
    with audit_context(Channel.CLI, "bench-state"):
        for key in range(1, min(sample, people) + 1):
            services.create_person(data.person_input(key), actor=SETUP)
        through_services = time.perf_counter() - start
        for first in range(min(sample, people) + 1, people + 1, CHUNK):
            _generate(range(first, min(first + CHUNK, people + 1)))
            if (first // CHUNK) % 20 == 0:
                done = first + CHUNK - 1
                rate = done / (time.perf_counter() - start)
                print(f"\r  {min(done, people):,} people ({rate:,.0f}/s)…", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    _check_generated_like_the_service(sample)
    return {"people": people, "through_services": min(sample, people), "seconds": time.perf_counter() - start,
            "service_seconds": through_services}  # fmt: skip


def _generate(keys: range) -> None:
    from django.db import transaction

    from registru.audit.actions import AuditAction
    from registru.audit.services import Draft, record_many
    from registru.core.context import service_scope
    from registru.people import search
    from registru.people.models import Person
    from registru.people.services.common import audit_value
    from registru.testing.factories import SETUP
    from registru.vault.services import key_scope

    with transaction.atomic(), service_scope(), key_scope():
        rows = [_cleaned(key) for key in keys]
        people = [Person(**values, sort_key=search.sort_key_for(values["given_name"], values["family_name"]))
                  for values in rows]  # fmt: skip
        Person.objects.bulk_create(people)
        drafts = [
            Draft(AuditAction.PERSON_CREATED, person,
                  {name: (None, audit_value(value)) for name, value in values.items() if value not in ("", [], None)},
                  "", person.pk)
            for person, values in zip(people, rows, strict=True)
        ]  # fmt: skip
        record_many(drafts, actor=SETUP, new_subjects=[person.pk for person in people])


def _check_generated_like_the_service(sample: int) -> None:
    """A generated person's event says what the service's says for the same input."""
    from registru.audit.models import AuditEvent

    events = AuditEvent.objects.filter(target_type="people.person").order_by("id")
    made = events.filter(target_id__lte=sample).first()
    generated = events.filter(target_id__gt=sample).first()
    if made is None or generated is None:
        return
    for key in ("changes", "action", "subject"):
        if key == "changes":
            same = sorted(made.payload["changes"]) == sorted(generated.payload["changes"])
        else:
            same = type(made.payload[key]) is type(generated.payload[key])
        if not same:
            raise RuntimeError(f"a generated event differs from the service's in {key}")
    if made.payload["state"][:3] != generated.payload["state"][:3]:
        raise RuntimeError("a generated event's state is not keyed as the service's")


def plain_read() -> int:
    """The floor: the rows, events and keys ``verify_state`` reads, read and dropped."""
    from django.db import connection

    from registru.audit import state

    rows = 0
    for model in state.audited_models():
        for low, high in state._ranges(model):
            between, params = state._between(connection.ops.quote_name(state.pk_column(model)), low, high)
            with connection.cursor() as cursor:
                cursor.execute(state.select_sql(model, between), params)
                rows += len(cursor.fetchall())
                between, params = state._between("target_id", low, high)
                cursor.execute(state.EVENTS_SQL.format(between=between), [model._meta.label_lower, *params])
                while cursor.fetchmany(2000):
                    pass
                between, params = state._between("person_id", low, high)
                if model._meta.label_lower == "people.person":
                    cursor.execute(f"SELECT person_id, wrapped FROM vault_personkey WHERE {between}", params)
                    cursor.fetchall()
    return rows


def measure(rounds: int) -> dict[str, Any]:
    from registru.audit.state import verify_state

    checks, floors, report = [], [], None
    for _ in range(rounds):
        start = time.perf_counter()
        rows = plain_read()
        floors.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = verify_state()
        checks.append(time.perf_counter() - start)
        if not report.intact or report.checked != rows:
            raise RuntimeError(f"the generated data does not verify: {report.findings[:3]}")
    assert report is not None
    return {"records": report.checked, "committed": report.committed, "check_seconds": checks,
            "floor_seconds": floors, "check_median": statistics.median(checks),
            "floor_median": statistics.median(floors)}  # fmt: skip


def run_process(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if spec["generate"]:
        result["seeding"] = seed(spec["people"], spec["sample"])
        print(f"  seeded in {result['seeding']['seconds']:.0f} s", file=sys.stderr)
    result["verification"] = measure(spec["rounds"])
    return result


def bench_state(args: Any) -> None:
    from bench.audit.env import fresh_database, schema_fingerprint

    people = args.people or (2000 if args.smoke else 1_000_000)
    sample = min(args.sample, people)
    rounds = args.rounds or (1 if args.smoke else 3)
    results = []
    for engine in args.db or ["sqlite", "postgres"]:
        name = f"state_{people}"
        marker = env.VAR / f"{name}-{engine}.done"
        reuse = args.reuse and marker.exists() and marker.read_text() == schema_fingerprint()
        url = env.database_url(engine, name) if reuse else fresh_database(engine, name, rebuild=args.rebuild)
        marker.unlink(missing_ok=True)
        print(f"state {engine}: {people:,} people{' (reused)' if reuse else ''}", file=sys.stderr)
        out = env.VAR / "state-run.json"
        out.unlink(missing_ok=True)
        spec = {"people": people, "sample": sample, "rounds": rounds, "generate": not reuse}
        subprocess.run([sys.executable, "-m", "bench.audit", "_state", json.dumps(spec), "--out", str(out)],
                       env=env.process_env(url), cwd=env.ROOT, check=True)  # fmt: skip
        marker.write_text(schema_fingerprint())
        result = json.loads(out.read_text(encoding="utf-8")) | {"engine": engine}
        result["cli"] = _cli(url)
        results.append(result)
    print("\n## verify --state\n")
    print("| database | records | check (median) | plain read of the same rows | ratio | CLI wall | goal < 60 s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        v = r["verification"]
        per_million = v["check_median"] * 1_000_000 / max(v["records"], 1)
        print(f"| {r['engine']} | {num(v['records'])} | {v['check_median']:.1f} s | {v['floor_median']:.1f} s | "
              f"{ratio(v['check_median'] / v['floor_median'])} | {r['cli']['seconds']:.1f} s | "
              f"{'pass' if per_million < 60 else 'FAIL'} ({per_million:.1f} s per million) |")  # fmt: skip
    print(f"\nsaved {save('state-smoke' if args.smoke else 'state', {'results': results})}")


def _cli(url: str) -> dict[str, Any]:
    """``registru audit verify --state`` as an operator runs it (a process of its own)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "registru.config.cli", "audit", "verify", "--state"]
    done = subprocess.run(command, env=env.process_env(url), cwd=env.ROOT, capture_output=True, text=True, check=False)
    return {"seconds": time.perf_counter() - start, "exit": done.returncode, "out": done.stdout[-300:]}
