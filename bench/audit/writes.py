"""B1 (audited writes) and B10 (encryption overhead): writer processes against one contender.

Every contender run gets a fresh copy of a migrated template database, then its writers
(separate processes, started together at a barrier) each create ``ops`` people, then change
a phone and the city of each, then its job title. Each operation is timed alone; rows/s is
all writers' operations over the wall time from the barrier to the last writer's end.

During Registru's runs the parent process seals every ``seal_every`` seconds (production
seals every 60 s), so the figures include the sealer's interference and the trail is
verified intact at the end.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.audit import env
from bench.audit.contenders import PHASES, Contender
from bench.audit.report import ms as fmt_ms
from bench.audit.report import num, ratio, save
from bench.report import percentiles, table

WARMUP = 30
CANDIDATE: Path | None = None  # another source tree of Registru, for the ``candidate`` contenders
KEY_SPACE = 10_000_000  # writer w uses keys w * KEY_SPACE + i: distinct emails and phones


# The run process: one contender, one database, N writers ----------------------------------


def run_contender(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in its own process (``python -m bench.audit _run SPEC``), Django set up for it."""
    from django.db import connections

    contender = Contender(spec["contender"])
    if contender.is_registru:
        from bench.audit.contenders import patch_registru
        from registru.vault import services as vault

        patch_registru(contender.flags)
        vault.master_key()  # records the key's fingerprint once, before the writers race to
    connections.close_all()
    context = multiprocessing.get_context("fork")
    writers = spec["writers"]
    barrier = context.Barrier(writers)
    results: Any = context.Queue()
    processes = [context.Process(target=_writer, args=(spec, w, barrier, results), daemon=True) for w in range(writers)]
    for process in processes:
        process.start()
    collected: dict[int, Any] = {}
    sealing: list[tuple[float, int]] = []
    seal_every = spec.get("seal_every") or 0
    while len(collected) < writers:
        try:
            w, outcome = results.get(timeout=seal_every if contender.is_registru and seal_every else 1.0)
        except queue.Empty:
            if contender.is_registru and seal_every:
                sealing.append(_seal_once())
            if not any(p.is_alive() for p in processes) and results.empty():
                raise RuntimeError("a writer died without reporting") from None
            continue
        if isinstance(outcome, str):
            for process in processes:
                process.terminate()
            raise RuntimeError(f"writer {w} failed:\n{outcome}")  # noqa: TRY004
        collected[w] = outcome
    for process in processes:
        process.join()
    summary = _summarise(spec, collected)
    if contender.is_registru:
        summary["sealing_during_run"] = {
            "rounds": len(sealing),
            "events": sum(n for _s, n in sealing),
            "seconds": sum(s for s, _n in sealing),
        }
        seconds, events = _seal_once()
        summary["final_seal"] = {"events": events, "seconds": seconds}
        summary["trail"] = _check_trail()
    return summary


def _seal_once() -> tuple[float, int]:
    from registru.audit.services.sealing import seal

    start = time.perf_counter()
    events = seal()
    return time.perf_counter() - start, events


def _check_trail() -> dict[str, Any]:
    from registru.audit.models import AuditEvent
    from registru.audit.verify import verify

    start = time.perf_counter()
    report = verify()
    return {
        "events": AuditEvent.objects.count(),
        "verified": report.events,
        "intact": report.intact,
        "unsealed": report.unsealed,
        "verify_seconds": time.perf_counter() - start,
        "first_finding": str(report.first) if report.first else None,
    }


def _writer(spec: dict[str, Any], w: int, barrier: Any, results: Any) -> None:
    try:
        results.put((w, _write(spec, w, barrier)))
    except BaseException:
        results.put((w, traceback.format_exc()))
        barrier.abort()


def _write(spec: dict[str, Any], w: int, barrier: Any) -> dict[str, Any]:
    from django.db import connections

    from bench.audit.contenders import Writer
    from registru.core.context import Channel, audit_context

    connections.close_all()
    ops = spec["ops"]
    keys = [w * KEY_SPACE + spec["key_offset"] + i for i in range(WARMUP + ops)]
    writer = Writer(Contender(spec["contender"]), keys)
    phases: dict[str, Any] = {}
    with audit_context(Channel.TASK, request_id=f"task-bench-{w}"):
        for phase in PHASES:
            operation = writer.operation(phase)
            for i in range(WARMUP):
                operation(i)
            barrier.wait(timeout=600)
            latencies = []
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(WARMUP, WARMUP + ops):
                began = time.perf_counter()
                operation(i)
                latencies.append((time.perf_counter() - began) * 1000)
            phases[phase] = {"start": start, "end": time.perf_counter(), "latencies_ms": latencies,
                             "cpu_s": time.process_time() - cpu}  # fmt: skip
            if phase == "create":
                writer.load()
    return phases


def _summarise(spec: dict[str, Any], collected: dict[int, Any]) -> dict[str, Any]:
    phases = {}
    for phase in PHASES:
        runs = [collected[w][phase] for w in sorted(collected)]
        latencies = [value for run in runs for value in run["latencies_ms"]]
        wall = max(run["end"] for run in runs) - min(run["start"] for run in runs)
        phases[phase] = {
            "ops": len(latencies),
            "seconds": wall,
            "rows_per_s": len(latencies) / wall,
            # The writers' own CPU time per operation: PostgreSQL's server is not in it; SQLite,
            # which runs inside the writer, is.
            "cpu_ms_per_op": sum(run["cpu_s"] for run in runs) * 1000 / len(latencies),
            **{f"{k}_ms": v for k, v in percentiles(latencies).items()},
        }
    return {"contender": spec["contender"], "engine": spec["engine"], "writers": spec["writers"], "phases": phases}


# The orchestrator (no Django in this process) ----------------------------------------------


def run_once(
    engine: str, contender: str, writers: int, ops: int, *, seal_every: float, rebuild: bool
) -> dict[str, Any]:
    """A fresh database, then ``python -m bench.audit _run`` for one contender."""
    Contender(contender).validate(engine)
    url = env.fresh_database(engine, "b1", rebuild=rebuild)
    spec = {"contender": contender, "engine": engine, "writers": writers, "ops": ops,
            "seal_every": seal_every, "key_offset": 0}  # fmt: skip
    out = env.VAR / "run.json"
    out.unlink(missing_ok=True)
    load = os.getloadavg()  # the machine may be shared: say how busy it was
    process_env, cwd = env.process_env(url, Contender(contender).settings), env.ROOT
    if Contender(contender).base == "candidate":
        if CANDIDATE is None:
            raise SystemExit("a candidate contender needs --candidate DIR")
        process_env["PYTHONPATH"], cwd = str(CANDIDATE), CANDIDATE
    subprocess.run(
        [sys.executable, "-m", "bench.audit", "_run", json.dumps(spec), "--out", str(out)],
        env=process_env,
        cwd=cwd,
        check=True,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    result["load_average_before"] = load
    line = "  ".join(
        f"{phase} {num(p['rows_per_s'])}/s p50 {fmt_ms(p['p50_ms'])} p99 {fmt_ms(p['p99_ms'])}"
        for phase, p in result["phases"].items()
    )
    print(f"  {engine} {writers}w {contender:<38} {line}", file=sys.stderr, flush=True)
    return result


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per phase and figure, the median over repeated runs (the first run keeps the rest)."""
    if len(runs) == 1:
        return runs[0]
    merged = json.loads(json.dumps(runs[0]))
    for phase in PHASES:
        for key in ("rows_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "seconds", "cpu_ms_per_op"):
            merged["phases"][phase][key] = statistics.median(run["phases"][phase][key] for run in runs)
    merged["repeats"] = len(runs)
    merged["all_rows_per_s"] = {phase: [run["phases"][phase]["rows_per_s"] for run in runs] for phase in PHASES}
    merged["all_cpu_ms_per_op"] = {phase: [run["phases"][phase]["cpu_ms_per_op"] for run in runs] for phase in PHASES}
    return merged


def matrix(
    engines: list[str], writer_counts: dict[str, list[int]], contenders: list[str], *, ops: dict[int, int],
    repeat: int, seal_every: float, rebuild: bool,
) -> list[dict[str, Any]]:  # fmt: skip
    results = []
    for engine in engines:
        usable = [c for c in contenders if not (Contender(c).base == "pghistory" and engine != "postgres")]
        for writers in writer_counts[engine]:
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in usable}
            for _round in range(repeat):  # rounds interleave the contenders: drift hits all alike
                for contender in usable:
                    runs[contender].append(
                        run_once(engine, contender, writers, ops[writers], seal_every=seal_every, rebuild=rebuild)
                    )
                    rebuild = False
            results += [median_of(runs[c]) for c in usable]
    return results


def find(results: list[dict[str, Any]], engine: str, writers: int, contender: str) -> dict[str, Any] | None:
    for result in results:
        if (result["engine"], result["writers"], result["contender"]) == (engine, writers, contender):
            return result
    return None


def best_peer(results: list[dict[str, Any]], engine: str, writers: int, base: str, phase: str) -> dict[str, Any] | None:
    """The faster of a peer's two modes (autocommit, atomic) for this phase. ``base`` may carry
    ``+app`` (the peer doing the same application work as Registru's services)."""
    found = [r for r in (find(results, engine, writers, n) for n in (base, f"{base}+atomic")) if r]
    return max(found, key=lambda r: r["phases"][phase]["rows_per_s"]) if found else None


def results_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        plain = best_peer(results, r["engine"], r["writers"], "plain", "create")
        for phase, p in r["phases"].items():
            base = best_peer(results, r["engine"], r["writers"], "plain", phase) if plain else None
            vs_plain = p["rows_per_s"] / base["phases"][phase]["rows_per_s"] if base else float("nan")
            rows.append([r["engine"], r["writers"], r["contender"], phase, num(p["rows_per_s"]),
                         fmt_ms(p["p50_ms"]), fmt_ms(p["p99_ms"]), ratio(vs_plain)])  # fmt: skip
    return table(["db", "writers", "contender", "operation", "rows/s", "p50 ms", "p99 ms", "× plain (best mode)"], rows)


def goals_table(results: list[dict[str, Any]], ours: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """Registru against pghistory (≥ 1.0× rows/s, p99 ≤ 1.2×) and simple-history (≥ 2×), each
    peer in its faster mode: the peers as they come (plain ORM writes), and, where they were run,
    the ``+app`` peers doing the same validation and search index work as Registru's services,
    so that only the audit mechanisms differ."""
    rows, verdicts = [], []
    nan = float("nan")
    for engine, writers in sorted({(r["engine"], r["writers"]) for r in results}):
        for name in ours:
            mine = find(results, engine, writers, name)
            if mine is None:
                continue
            for phase in PHASES:
                p = mine["phases"][phase]
                # Only Registru's whole write path does the application work of the +app peers.
                same_work = not Contender(name).flags & {"noindex", "novalidate"}
                for suffix, against in (("", "plain ORM peers"), ("+app", "peers with the same application work")):
                    if suffix and not same_work:
                        continue
                    pgh = best_peer(results, engine, writers, "pghistory" + suffix, phase)
                    sh = best_peer(results, engine, writers, "simple-history" + suffix, phase)
                    if pgh is None and sh is None:
                        continue
                    vs_pgh = p["rows_per_s"] / pgh["phases"][phase]["rows_per_s"] if pgh else nan
                    p99_pgh = p["p99_ms"] / pgh["phases"][phase]["p99_ms"] if pgh else nan
                    vs_sh = p["rows_per_s"] / sh["phases"][phase]["rows_per_s"] if sh else nan
                    verdict = {
                        "engine": engine, "writers": writers, "contender": name, "phase": phase, "against": against,
                        "vs_pghistory": vs_pgh, "p99_vs_pghistory": p99_pgh, "vs_simple_history": vs_sh,
                        "pass_pghistory": vs_pgh >= 1.0 if pgh else None,
                        "pass_p99": p99_pgh <= 1.2 if pgh else None,
                        "pass_simple_history": vs_sh >= 2.0 if sh else None,
                    }  # fmt: skip
                    verdicts.append(verdict)
                    rows.append([engine, writers, name, phase, against,
                                 ratio(vs_pgh) + _mark(verdict["pass_pghistory"]),
                                 ratio(p99_pgh) + _mark(verdict["pass_p99"]),
                                 ratio(vs_sh) + _mark(verdict["pass_simple_history"])])  # fmt: skip
    header = ["db", "writers", "Registru", "operation", "against", "rows/s ÷ pghistory (≥ 1.0)",
              "p99 ÷ pghistory (≤ 1.2)", "rows/s ÷ simple-history (≥ 2.0)"]  # fmt: skip
    return table(header, rows), verdicts


def _mark(passed: bool | None) -> str:
    return "" if passed is None else (" pass" if passed else " **fail**")


DEFAULT_CONTENDERS = [
    "registru", "registru+noindex", "registru+noindex+novalidate", "registru+noindex+novalidate+norecord",
    "plain", "plain+atomic", "pghistory", "pghistory+atomic", "simple-history", "simple-history+atomic",
    "auditlog", "auditlog+atomic",
    # The same application work as Registru's services (validation, search index), each write in
    # one transaction as Registru's: only the audit mechanism differs (see ``contenders``).
    "plain+app+atomic", "pghistory+app+atomic", "simple-history+app+atomic",
]  # fmt: skip
SMOKE_CONTENDERS = [
    "registru", "registru+noindex+novalidate", "plain", "pghistory", "simple-history", "auditlog",
    "pghistory+app+atomic", "simple-history+app+atomic",
]  # fmt: skip


def _counts(args: Any) -> dict[str, list[int]]:
    return {"postgres": args.writers or ([1] if args.smoke else [1, 4]), "sqlite": [1]}


def use_candidate(directory: str | None) -> None:
    """Registru from ``directory`` for the ``candidate`` contenders; our bench code is copied in."""
    global CANDIDATE
    if directory is None:
        return
    root = Path(directory).resolve()
    if not (root / "registru" / "__init__.py").exists():
        raise SystemExit(f"{root} holds no registru package")
    (root / "bench").mkdir(exist_ok=True)
    (root / "bench" / "__init__.py").touch()
    shutil.copytree(Path(__file__).parent, root / "bench" / "audit", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    CANDIDATE = root


def _ops(args: Any, *, single: int, each_of_many: int) -> dict[int, int]:
    """Operations per writer and phase, by writer count (fewer each when there are many)."""
    counts = {n for ns in _counts(args).values() for n in ns}
    if args.ops or args.smoke:
        return dict.fromkeys(counts, args.ops or 10)
    return {n: single if n == 1 else each_of_many for n in counts}


def b1(args: Any) -> None:
    engines = args.db or ["postgres", "sqlite"]
    counts = _counts(args)
    use_candidate(args.candidate)
    contenders = args.contenders or (SMOKE_CONTENDERS if args.smoke else DEFAULT_CONTENDERS)
    ops = _ops(args, single=1200, each_of_many=400)
    print(f"B1: operations per writer and phase {ops}, contenders {', '.join(contenders)}", file=sys.stderr)
    results = matrix(engines, counts, contenders, ops=ops, repeat=args.repeat, seal_every=args.seal_every,
                     rebuild=args.rebuild)  # fmt: skip
    ours = [c for c in contenders if Contender(c).is_registru]
    goals, verdicts = goals_table(results, ours)
    print("\n## B1 audited writes\n\n" + results_table(results) + "\n\n### Goals\n\n" + goals)
    print(_trail_lines(results))
    path = save("b1-smoke" if args.smoke else "b1", {"ops_per_writer": ops, "repeat": args.repeat,
                "seal_every_s": args.seal_every, "results": results, "goals": verdicts})  # fmt: skip
    print(f"\nsaved {path}")


def _trail_lines(results: list[dict[str, Any]]) -> str:
    lines = ["", "Trail after each Registru run (sealed during the run, then verified):", ""]
    for r in results:
        trail = r.get("trail")
        if trail:
            seal = r["sealing_during_run"]
            lines.append(
                f"- {r['engine']} {r['writers']}w {r['contender']}: {trail['events']:,} events, intact "
                f"{trail['intact']}, {seal['rounds']} sealing rounds during the run "
                f"({seal['events']:,} events in {seal['seconds']:.2f} s)"
            )
    return "\n".join(lines)


# B10 ---------------------------------------------------------------------------------------


def b10(args: Any) -> None:
    engines = args.db or ["postgres", "sqlite"]
    counts = _counts(args)
    use_candidate(args.candidate)
    contenders = args.contenders or ["registru", "registru+plaintext", "registru+noindex+novalidate",
                                     "registru+noindex+novalidate+plaintext"]  # fmt: skip
    ops = _ops(args, single=800, each_of_many=300)
    repeat = 1 if args.smoke else args.repeat
    print(f"B10: operations per writer and phase {ops}, {repeat} interleaved rounds", file=sys.stderr)
    results = matrix(engines, counts, contenders, ops=ops, repeat=repeat, seal_every=args.seal_every,
                     rebuild=args.rebuild)  # fmt: skip
    rows, verdicts = [], []
    for r in results:
        if "plaintext" in r["contender"]:
            continue
        plain = find(results, r["engine"], r["writers"], r["contender"] + "+plaintext")
        if plain is None:
            continue
        for phase in PHASES:
            enc, txt = r["phases"][phase], plain["phases"][phase]
            value = enc["rows_per_s"] / txt["rows_per_s"]
            paired = _paired(r, plain, "all_rows_per_s", phase)
            cpu = txt["cpu_ms_per_op"] / enc["cpu_ms_per_op"]  # as a throughput: plaintext's CPU ÷ ours
            verdicts.append({"engine": r["engine"], "writers": r["writers"], "contender": r["contender"],
                             "phase": phase, "encrypted_over_plaintext": value, "pass": value >= 0.9,
                             "paired_round_ratio": paired, "writer_cpu_ratio": cpu})  # fmt: skip
            rows.append([r["engine"], r["writers"], r["contender"], phase, num(enc["rows_per_s"]),
                         num(txt["rows_per_s"]), ratio(value) + _mark(value >= 0.9), ratio(paired),
                         f"{enc['cpu_ms_per_op']:.2f} / {txt['cpu_ms_per_op']:.2f} = {ratio(cpu)}",
                         f"{fmt_ms(enc['p99_ms'])} / {fmt_ms(txt['p99_ms'])}"])  # fmt: skip
    shred = shredding(engines, persons=50 if args.smoke else args.shred_persons, rebuild=False)
    print("\n## B10 encryption overhead\n")
    print(table(["db", "writers", "path", "operation", "encrypted rows/s", "plaintext rows/s",
                 "ratio (≥ 0.9)", "median of round ratios", "writer CPU ms/op enc / plain = ratio",
                 "p99 ms enc / plain"], rows))  # fmt: skip
    print("\n### Shredding one person (vault.shred), goal < 50 ms\n")
    srows = [[s["engine"], s["what"], s["persons"], fmt_ms(s["p50_ms"]), fmt_ms(s["p99_ms"]), fmt_ms(s["max_ms"]),
              "pass" if s["p99_ms"] < 50 else "**fail**"] for s in shred]  # fmt: skip
    print(table(["db", "what", "persons", "p50 ms", "p99 ms", "max ms", "p99 < 50 ms"], srows))
    path = save("b10-smoke" if args.smoke else "b10", {"ops_per_writer": ops, "repeat": repeat, "results": results,
                "ratios": verdicts, "shredding": shred})  # fmt: skip
    print(f"\nsaved {path}")


def _paired(mine: dict[str, Any], other: dict[str, Any], key: str, phase: str) -> float:
    """The median over rounds of each round's ratio: the two ran one after the other in each
    round, so a round's drift hits both sides of its ratio (a single run has one round)."""
    ours = mine.get(key, {}).get(phase) or [mine["phases"][phase]["rows_per_s"]]
    theirs = other.get(key, {}).get(phase) or [other["phases"][phase]["rows_per_s"]]
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def shredding(engines: list[str], persons: int, rebuild: bool) -> list[dict[str, Any]]:
    out = []
    for engine in engines:
        url = env.fresh_database(engine, "b1", rebuild=rebuild)
        target = env.VAR / "shred.json"
        target.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "bench.audit", "_shred", str(persons), "--out", str(target)],
            env=env.process_env(url), cwd=env.ROOT, check=True,
        )  # fmt: skip
        out.extend({"engine": engine, **row} for row in json.loads(target.read_text(encoding="utf-8")))
    return out


def run_shred(persons: int) -> list[dict[str, Any]]:
    """In a Registru process: make ``persons`` people through the service, then time
    ``vault.shred`` on each (its own transaction), then ``erase_person`` on others."""
    from registru.core.actors import SystemActor
    from registru.core.context import Channel, audit_context
    from registru.people.services.people import create_person, erase_person
    from registru.vault import services as vault

    actor = SystemActor("benchmark shredder")
    with audit_context(Channel.TASK):
        people = [create_person(_input(i), actor=actor) for i in range(2 * persons + 10)]
        for person in people[:10]:  # warm-up
            vault.shred(person.pk)
        timings = []
        for person in people[10 : 10 + persons]:
            start = time.perf_counter()
            vault.shred(person.pk)
            timings.append((time.perf_counter() - start) * 1000)
        erasures = []
        for person in people[10 + persons :]:
            start = time.perf_counter()
            erase_person(person, actor=actor, reason="benchmark")
            erasures.append((time.perf_counter() - start) * 1000)
    return [
        {"what": "vault.shred", "persons": len(timings), **{f"{k}_ms": v for k, v in percentiles(timings).items()}},
        {"what": "erase_person (whole erasure, for context)", "persons": len(erasures),
         **{f"{k}_ms": v for k, v in percentiles(erasures).items()}},
    ]  # fmt: skip


def _input(i: int) -> dict[str, Any]:
    from bench.audit import data

    return data.person_input(90_000_000 + i)


def write_json(path: str, payload: Any) -> None:
    Path(path).write_text(json.dumps(payload, default=str), encoding="utf-8")
