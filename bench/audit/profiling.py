"""Where a writer's time goes: SQL statements per operation, and a cProfile of one writer.

python -m bench.audit profile --contender registru --db postgres --ops 300
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from bench.audit import env
from bench.audit.contenders import PHASES, Contender
from bench.audit.report import save


def run_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """In a process with Django set up: one writer, each phase once to count statements,
    then timed under cProfile."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.audit.contenders import Writer, patch_registru
    from registru.core.context import Channel, audit_context

    contender = Contender(spec["contender"])
    if contender.is_registru:
        patch_registru(contender.flags)
    ops = spec["ops"]
    writer = Writer(contender, list(range(1, 3 * ops + 21)))
    out: dict[str, Any] = {"contender": contender.name, "engine": spec["engine"], "phases": {}}
    with audit_context(Channel.TASK):
        for phase in PHASES:
            operation = writer.operation(phase)
            for i in range(10):
                operation(i)
            with CaptureQueriesContext(connection) as captured:
                operation(10)
            kinds = Counter(_kind(q["sql"]) for q in captured.captured_queries)
            # Without the profiler first: the wall time and this process's CPU time per
            # operation. What the CPU time leaves of the wall time is waiting (the database,
            # the round trips): where the time goes, before the profiler inflates Python's share.
            plain = range(11 + ops, 11 + 2 * ops)
            start, cpu = time.perf_counter(), time.process_time()
            for i in plain:
                operation(i)
            wall_ms, cpu_ms = (time.perf_counter() - start) * 1000 / ops, (time.process_time() - cpu) * 1000 / ops
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.enable()
            for i in range(11, 11 + ops):
                operation(i)
            profiler.disable()
            seconds = time.perf_counter() - start
            stream = io.StringIO()
            stats = pstats.Stats(profiler, stream=stream)
            stats.sort_stats("cumulative").print_stats(45)
            out["phases"][phase] = {
                "statements": len(captured.captured_queries),
                "statement_kinds": dict(kinds),
                "sql": [q["sql"][:160] for q in captured.captured_queries],
                "ms_per_op_under_profiler": seconds * 1000 / ops,
                "ms_per_op": wall_ms,
                "cpu_ms_per_op": cpu_ms,
                "profile": stream.getvalue(),
            }
            if phase == "create":
                writer.load()
    return out


def _kind(sql: str) -> str:
    words = sql.split()
    return (
        " ".join(words[:2]).upper()
        if words and words[0].upper() in ("LOCK", "SAVEPOINT", "RELEASE")
        else (words[0].upper() if words else "?")
    )


def profile(args: Any) -> None:
    engine = (args.db or ["postgres"])[0]
    for name in args.contenders or ["registru"]:
        Contender(name).validate(engine)
        url = env.fresh_database(engine, "b1", rebuild=args.rebuild)
        target = env.VAR / "profile.json"
        target.unlink(missing_ok=True)
        spec = {"contender": name, "engine": engine, "ops": args.ops or 300}
        subprocess.run(
            [sys.executable, "-m", "bench.audit", "_profile", json.dumps(spec), "--out", str(target)],
            env=env.process_env(url, Contender(name).settings), cwd=env.ROOT, check=True,
        )  # fmt: skip
        result = json.loads(target.read_text(encoding="utf-8"))
        print(f"\n## {name} on {engine}")
        for phase, p in result["phases"].items():
            print(f"\n### {phase}: {p['statements']} SQL statements per operation {p['statement_kinds']}; "
                  f"{p['ms_per_op']:.2f} ms/op, of which {p['cpu_ms_per_op']:.2f} ms CPU in the writer; "
                  f"{p['ms_per_op_under_profiler']:.2f} ms/op under the profiler\n")  # fmt: skip
            if args.sql:
                print("\n".join("    " + line for line in p["sql"]))
            if args.top:
                print(p["profile"])
        path = save(f"profile-{name}-{engine}", result)
        print(f"saved {path}")
