"""B8: a consent campaign's invitations delivered over SMTP, against Django ``send_mail()``.

A fresh database (an SQLite file in a temporary directory, or a PostgreSQL database with
``--db postgres``) gets N people held on the basis of a contract, each with an email address,
and the three purposes of ``registru.testing.consent`` with their notices. A real campaign is
created and started through the services, and one tick of ``advance()`` queues every invitation
(one wave of N) in the outbox. Then:

1. **Throughput.** ``registru mail deliver`` (the real command, in a process of its own: the
   send gate asked for every message, "sent" and its audit event committed before the final dot,
   16 reused connections side by side, its default; and again over 1) delivers the N invitations
   to an aiosmtpd sink on loopback, itself in another process (``bench.smtp_sink``). The peer, in
   the same run and to a fresh sink, sends the same N messages (same recipients, subjects and
   bodies) with Django's ``send_mail()``, one call per message (a new connection each time, as
   ``send_mail`` does). Both rates are taken from the sink's clock, first message to last; the
   wall time of each process, start-up included, is given too.
2. **Kill and restart.** A copy of the database made before the first delivery is delivered
   again; the worker is killed with SIGKILL when the sink has received a random share of the
   messages (``--kills`` times, each time in the worker started after the previous kill), then
   the worker is run to the end. The sink's Message-IDs are counted: duplicates, losses, and
   anything unexpected. The kill lands at a random instant, so it may (rarely) fall in the
   window the design leaves open between the commit of "sent" and the write of the final dot
   (see ``registru.mail.transport``): a loss found there is reported, not hidden.

    python -m bench campaign                     # 10,000 invitations, SQLite
    python -m bench campaign --db postgres       # the same on PostgreSQL
    python -m bench campaign --smoke             # 1,000 invitations, 16 connections, under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.env import MASTER_KEY, PG_SERVER, ROOT, SECRET_KEY

REGISTRU = str(Path(sys.executable).with_name("registru"))
PG_NAME = "registru_bench_campaign"
SMOKE_PEOPLE = 1000
BATCH = 200  # the worker's claim size (`registru mail deliver --batch`)
KILL_LEASE_SECONDS = 2  # in the kill phase, how soon a dead worker's messages may be taken over
GOAL_RATIO = 1.8
DEFAULT_CONNECTIONS = 16  # REGISTRU_MAIL_CONNECTIONS's default


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="database (default sqlite)")
    parser.add_argument("--people", type=int, default=10_000, help="invitations sent (default 10,000)")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_PEOPLE:,} invitations, to see that it works")
    parser.add_argument(
        "--connections", type=int, action="append",
        help=f"SMTP connections side by side for our worker (repeatable; default {DEFAULT_CONNECTIONS}, the "
        f"default setting, and 1; smoke: {DEFAULT_CONNECTIONS})",
    )  # fmt: skip
    parser.add_argument("--kills", type=int, default=1, help="SIGKILLs in the second phase (default 1; 0 skips it)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random kill points")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, sink logs)")
    parser.add_argument(
        "--profile", metavar="FILE", help="run our delivery under cProfile and write the statistics to FILE"
    )
    parser.add_argument(
        "--wait-quiet", type=float, default=0, metavar="MINUTES",
        help="first wait up to this long for the load average to drop below 1",
    )  # fmt: skip


# Databases --------------------------------------------------------------------------------


@dataclass
class Database:
    """One benchmark database, reachable by URL (for Registru) and by a raw connection."""

    engine: str
    name: str  # a file path for SQLite, a database name for PostgreSQL

    @property
    def url(self) -> str:
        return f"sqlite:///{self.name}" if self.engine == "sqlite" else f"{PG_SERVER}/{self.name}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.engine == "sqlite":
            with sqlite3.connect(self.name) as con:
                return list(con.execute(sql).fetchall())
        import psycopg

        with psycopg.connect(self.url) as con:
            return list(con.execute(sql).fetchall())  # type: ignore[arg-type]

    def create(self) -> None:
        if self.engine == "sqlite":
            Path(self.name).unlink(missing_ok=True)
            return
        _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{self.name}"')

    def copy(self, suffix: str) -> Database:
        """A copy of this database as it is now (no connection may be open to it)."""
        if self.engine == "sqlite":
            with sqlite3.connect(self.name) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            target = f"{self.name.removesuffix('.sqlite3')}-{suffix}.sqlite3"
            shutil.copyfile(self.name, target)
            return Database("sqlite", target)
        target = f"{self.name}_{suffix}"
        _pg_admin(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{target}" TEMPLATE "{self.name}"')
        return Database("postgres", target)

    def drop(self) -> None:
        if self.engine == "postgres":
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as con:
        con.execute(sql)  # type: ignore[arg-type]


def environment(
    db: Database, data_dir: Path, port: int, *, lease: int = 120, connections: int = DEFAULT_CONNECTIONS
) -> dict[str, str]:
    """The environment of a Registru process of the benchmark (the worker, the peer, the build)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REGISTRU_"))}
    return clean | {
        "DATABASE_URL": db.url, "REGISTRU_DATA_DIR": str(data_dir), "REGISTRU_SECRET_KEY": SECRET_KEY,
        "REGISTRU_MASTER_KEY": MASTER_KEY, "REGISTRU_LOG_LEVEL": "WARNING", "REGISTRU_SMTP_HOST": "127.0.0.1",
        "REGISTRU_SMTP_PORT": str(port), "REGISTRU_MAIL_LEASE_SECONDS": str(lease),
        "DJANGO_SETTINGS_MODULE": "registru.config.settings", "REGISTRU_MAIL_CONNECTIONS": str(connections),
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }  # fmt: skip


# Building the campaign ---------------------------------------------------------------------

BUILD = """
import sys
from bench.campaign_send import build
build(int(sys.argv[1]))
"""


def build(people: int) -> None:
    """Run in a subprocess set up on the new database: schema, people, purposes, a started
    campaign, and its invitations queued in the outbox."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from registru.campaigns import services as campaigns
    from registru.core.context import Channel, audit_context
    from registru.mail.models import OutboundMessage
    from registru.people import services as people_services
    from registru.testing.consent import make_campaign, make_purposes
    from registru.testing.factories import SETUP

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    with audit_context(Channel.CLI):
        for start in range(0, people, 500):
            with transaction.atomic():  # one commit per 500 people: the setup is not what we measure
                for n in range(start, min(start + 500, people)):
                    people_services.create_person(
                        {"given_name": ("Ioana", "Mihai", "Ștefan", "Raluca", "Tudor")[n % 5],
                         "family_name": f"Popescu{n}", "emails": [f"persoana{n}@exemplu.ro"],
                         "lawful_basis": "contract", "preferred_language": "ro" if n % 4 else "en"},
                        actor=SETUP,
                    )  # fmt: skip
        log(f"  {people:,} people in {time.perf_counter() - started:.0f} s")
        purposes = make_purposes()
        campaign = make_campaign(list(purposes.values()), wave_size=people, name="B8")
        invited = campaigns.start_campaign(campaign, actor=SETUP)
        progress = campaigns.advance()
    queued = OutboundMessage.objects.filter(status="queued").count()
    if not invited == progress.queued == queued == people:
        sys.exit(f"expected {people} invitations queued, got {invited} invited, {progress.queued} queued ({queued})")
    log(f"  campaign started, {queued:,} invitations queued, in {time.perf_counter() - started:.0f} s in all")


# The sink -----------------------------------------------------------------------------------


@dataclass
class Receipt:
    at: float
    size: int
    message_id: str


class SinkProcess:
    """``bench.smtp_sink`` in a process of its own, with the file it logs receipts to."""

    def __init__(self, directory: Path, name: str) -> None:
        from registru.testing.smtp import free_port

        self.port = free_port()
        self.log = directory / f"sink-{name}.log"
        self.log.touch()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.smtp_sink", "--port", str(self.port), "--log", str(self.log)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def count(self) -> int:
        with self.log.open("rb") as file:
            return file.read().count(b"\n")

    def receipts(self) -> list[Receipt]:
        lines = self.log.read_text(encoding="ascii").splitlines()
        return [Receipt(float(at), int(size), mid) for at, size, mid in (line.split(" ", 2) for line in lines)]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


@contextmanager
def sink(directory: Path, name: str) -> Any:
    process = SinkProcess(directory, name)
    try:
        yield process
    finally:
        process.stop()


def rate(receipts: list[Receipt]) -> dict[str, Any]:
    """Messages per second on the sink's clock, from the first message to the last."""
    if len(receipts) < 2:
        return {"messages": len(receipts), "seconds": 0.0, "per_second": float("nan"), "mean_size": 0}
    span = receipts[-1].at - receipts[0].at
    return {
        "messages": len(receipts),
        "seconds": round(span, 3),
        # n messages over the span between the first and the last: n - 1 intervals
        "per_second": round((len(receipts) - 1) / span, 1),
        "mean_size": round(sum(r.size for r in receipts) / len(receipts)),
    }


# Phase 1: throughput ------------------------------------------------------------------------

PEER = """
import json, sys, time
import django
django.setup()
from django.conf import settings
from django.core.mail import send_mail
messages = json.loads(open(sys.argv[1], encoding="utf-8").read())
started = time.perf_counter()
for subject, body, recipient in messages:
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
print(time.perf_counter() - started)
"""


def run_peer(db: Database, directory: Path) -> dict[str, Any]:
    """Django ``send_mail()`` per message, the same messages, to a sink of its own."""
    rows = db.query("SELECT subject, body_text, recipient FROM mail_outboundmessage ORDER BY id")
    messages = directory / "peer-messages.json"
    messages.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    with sink(directory, "peer") as server:
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PEER, str(messages)], env=environment(db, directory, server.port),
            cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        time.sleep(0.2)
        receipts = server.receipts()
    result = rate(receipts) | {"wall_seconds": round(wall, 2), "loop_seconds": round(float(out.stdout.split()[-1]), 2)}
    result["loop_per_second"] = round(len(rows) / result["loop_seconds"], 1)
    return result


def deliver(env: dict[str, str], *, profile: str | None = None) -> subprocess.Popen[bytes]:
    command = [REGISTRU, "mail", "deliver", "--batch", str(BATCH)]
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(worker: subprocess.Popen[bytes]) -> str:
    out, err = worker.communicate()
    if worker.returncode != 0:
        sys.exit(f"registru mail deliver failed ({worker.returncode}):\n{err.decode()[-3000:]}")
    return out.decode().strip()


def run_ours(db: Database, directory: Path, people: int, connections: int, profile: str | None) -> dict[str, Any]:
    with sink(directory, f"ours-{connections}") as server:
        started = time.perf_counter()
        said = finish(deliver(environment(db, directory, server.port, connections=connections), profile=profile))
        wall = time.perf_counter() - started
        time.sleep(0.2)
        receipts = server.receipts()
    result = rate(receipts) | {"wall_seconds": round(wall, 2), "worker_said": said}
    result["wall_per_second"] = round(people / wall, 1)
    ids = [r.message_id for r in receipts]
    expected = {mid for (mid,) in db.query("SELECT message_id FROM mail_outboundmessage")}
    result |= count_ids(ids, expected)
    result["statuses"] = dict(db.query("SELECT status, COUNT(*) FROM mail_outboundmessage GROUP BY status"))
    sent_events = db.query("SELECT COUNT(*) FROM audit_auditevent WHERE action = 'mail.sent'")
    result["mail_sent_audit_events"] = sent_events[0][0]
    return result


def count_ids(ids: list[str], expected: set[str]) -> dict[str, int]:
    seen = Counter(ids)
    return {
        "received": len(ids),
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "lost": len(expected - set(seen)),
        "unexpected": len(set(seen) - expected),
    }


# Phase 2: kill and restart ------------------------------------------------------------------


def run_kills(  # noqa: PLR0917
    db: Database, directory: Path, people: int, kills: int, connections: int, rng: random.Random
) -> dict[str, Any]:
    with sink(directory, f"kill-{connections}") as server:
        env = environment(db, directory, server.port, lease=KILL_LEASE_SECONDS, connections=connections)
        points = []
        for _ in range(kills):
            # A random number of messages past what has already arrived, up to 60 % of what is left.
            before = server.count()
            point = before + rng.randint(1, max(1, int((people - before) * 0.6)))
            worker = deliver(env)
            while server.count() < point and worker.poll() is None:
                time.sleep(0.0005)
            alive = worker.poll() is None
            worker.send_signal(signal.SIGKILL)  # no chance to clean up, as in a power cut
            worker.wait()
            points.append({"after_messages": server.count(), "killed_while_running": alive})
            time.sleep(KILL_LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
        runs = 0
        while runs < 5:  # deferred messages wait out a back-off; the benchmark does not
            runs += 1
            finish(deliver(env))
            if not db.query("SELECT COUNT(*) FROM mail_outboundmessage WHERE status != 'sent'")[0][0]:
                break
            _due_now(db)
        time.sleep(0.2)
        ids = [r.message_id for r in server.receipts()]
    expected = {mid for (mid,) in db.query("SELECT message_id FROM mail_outboundmessage")}
    statuses = dict(db.query("SELECT status, COUNT(*) FROM mail_outboundmessage GROUP BY status"))
    attempts = dict(db.query("SELECT attempts, COUNT(*) FROM mail_outboundmessage GROUP BY attempts"))
    return {"kills": points, "runs_after_kills": runs, "statuses": statuses, "attempts": attempts} | count_ids(
        ids, expected
    )


def _due_now(db: Database) -> None:
    now = "CURRENT_TIMESTAMP" if db.engine == "postgres" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    sql = f"UPDATE mail_outboundmessage SET next_attempt_at = {now} WHERE status = 'deferred'"
    if db.engine == "sqlite":
        with sqlite3.connect(db.name) as con:
            con.execute(sql)
    else:
        _pg_exec(db, sql)


def _pg_exec(db: Database, sql: str) -> None:
    import psycopg

    with psycopg.connect(db.url, autocommit=True) as con:
        con.execute(sql)  # type: ignore[arg-type]


# The run ------------------------------------------------------------------------------------


def main(args: argparse.Namespace) -> dict[str, Any]:
    people = SMOKE_PEOPLE if args.smoke else args.people
    if args.wait_quiet:
        report.wait_until_quiet(args.wait_quiet)
    load_at_start = report.load_average()
    directory = Path(tempfile.mkdtemp(prefix="registru-b8-"))
    rng = random.Random(args.seed)
    if args.db == "sqlite":
        db = Database("sqlite", str(directory / "campaign.sqlite3"))
    else:
        db = Database("postgres", PG_NAME)
    lanes = args.connections or ([DEFAULT_CONNECTIONS] if args.smoke else [DEFAULT_CONNECTIONS, 1])
    copies: dict[str, Database] = {}
    ours: dict[int, dict[str, Any]] = {}
    killed: dict[int, dict[str, Any]] = {}
    try:
        db.create()
        log(f"building {people:,} people and a started campaign on {args.db} in {directory}")
        subprocess.run(
            [sys.executable, "-c", BUILD, str(people)], env=environment(db, directory, 25), cwd=ROOT, check=True
        )
        for n in lanes:
            copies[f"ours{n}"] = db.copy(f"ours{n}")
            if args.kills:
                copies[f"kill{n}"] = db.copy(f"kill{n}")
        log("phase 1: Django send_mail() per message (peer)")
        peer = run_peer(db, directory)
        log(f"  {peer['per_second']:,} messages/s")
        for n in lanes:
            log(f"phase 1: registru mail deliver (ours, {n} connection(s))")
            ours[n] = run_ours(copies[f"ours{n}"], directory, people, n, args.profile)
            log(f"  {ours[n]['per_second']:,} messages/s")
        for n in lanes if args.kills else []:
            log(f"phase 2: {args.kills} SIGKILL(s) during delivery over {n} connection(s), then a restart")
            killed[n] = run_kills(copies[f"kill{n}"], directory, people, args.kills, n, rng)
            log(f"  {killed[n]['duplicates']} duplicates, {killed[n]['lost']} lost")
    finally:
        for copy in copies.values():
            copy.drop()
        if args.db == "postgres":
            db.drop()
        if args.keep:
            log(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    results = {
        "benchmark": "B8 campaign send",
        "db": args.db,
        "people": people,
        "load_average_at_start": load_at_start,
        "peer": peer,
        "ours": {str(n): result | {"ratio": round(result["per_second"] / peer["per_second"], 2),
                                   "ratio_wall": round(result["wall_per_second"] / (people / peer["wall_seconds"]), 2)}
                 for n, result in ours.items()},
        "kill_phase": {str(n): result for n, result in killed.items()},
    }  # fmt: skip
    print_report(results)
    suffix = ("-smoke" if args.smoke else "") + ("-profiled" if args.profile else "")
    path = report.save(f"campaign-{args.db}{suffix}", results)
    log(f"saved {path.relative_to(ROOT)}")
    return results


def print_report(results: dict[str, Any]) -> None:
    peer = results["peer"]
    print(f"\n## B8 campaign send: {results['people']:,} invitations, {results['db']}\n")
    print(f"Load average at start {results['load_average_at_start']}, at end {report.load_average()}.\n")
    rows = [
        [f"Registru `mail deliver`, {n} connection(s)", f"{ours['per_second']:,}", ours["seconds"],
         ours["wall_seconds"], ours["mean_size"], f"{ours['ratio']}×", f"{ours['ratio_wall']}×"]
        for n, ours in results["ours"].items()
    ]  # fmt: skip
    rows.append(["Django send_mail per message", f"{peer['per_second']:,}", peer["seconds"], peer["wall_seconds"],
                 peer["mean_size"], "1×", "1×"])  # fmt: skip
    header = ["side", "messages/s (sink clock)", "seconds", "wall s", "mean size (bytes)", "ratio", "ratio (wall)"]
    print(report.table(header, rows))
    print(f"\nGoal: ≥ {GOAL_RATIO}× the peer's messages/s, 0 duplicates and 0 losses after a kill and restart.\n")
    for n, ours in results["ours"].items():
        print(
            f"- {n} connection(s): {ours['received']:,} received, {ours['duplicates']} duplicates, "
            f"{ours['lost']} lost; statuses {ours['statuses']}; "
            f"{ours['mail_sent_audit_events']:,} mail.sent audit events."
        )
    for n, killed in results["kill_phase"].items():
        print(
            f"- kill phase, {n} connection(s): killed after {[k['after_messages'] for k in killed['kills']]} "
            f"messages; {killed['received']:,} received, **{killed['duplicates']} duplicates, {killed['lost']} lost**, "
            f"{killed['unexpected']} unexpected; statuses {killed['statuses']}; attempts {killed['attempts']}."
        )


def run(args: argparse.Namespace) -> None:
    main(args)


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.campaign_send", description=__doc__.split("\n", 1)[0])
    add_options(cli)
    main(cli.parse_args())
