"""Trail exports (issue 18): the time and the peak memory of exporting a person's trail and
long stretches of the whole trail, as PDF, CSV and JSON.

The trail is generated as B3 generates it (``verification.generate``: Registru's own event
builder, values encrypted under each person's data key), sealed, and followed by one real
person with 50 events made through the services (``people.services``), whose export is the
History tab's. Each measurement runs in a process of its own, so that its peak resident
memory (``VmHWM``) is its own: the process that renders, as a worker or a web process would.

The **baseline**, measured in the same process just before, is reading and decrypting the same
events without writing anything (the chunked read every writer does, and ``readable_changes``
with one key cache): the ratio says how much the writing costs beyond reading.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.audit import env
from bench.audit.report import num, save
from bench.report import table

PERSON_EVENTS = 50
SIZES = (1000, 5000)  # stretches of the whole trail (the trail page's export)
GOALS = {"person_p95_s": 2.0, "events_5000_s": 10.0, "peak_rss_mb": 300.0}


# In the measured process (Django set up) -------------------------------------------------


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def setup_trail(spec: dict[str, Any]) -> dict[str, Any]:
    """Generate and seal the trail, then add the person whose History is exported."""
    from bench.audit.verification import generate, seal_all
    from registru.core.actors import SystemActor
    from registru.core.context import Channel, audit_context
    from registru.people import services as people

    result = {"generation": generate(spec["events"])}
    actor = SystemActor("bench")
    with audit_context(Channel.CLI):
        person = people.create_person(
            {"given_name": "Ștefan", "family_name": "Țăranu", "emails": ["stefan@firma.ro"], "phones": ["0722111222"]},
            actor=actor,
        )
        for index in range(PERSON_EVENTS - 1):
            people.update_person(person, {"job_title": f"Funcția {index}", "city": f"Brăila {index}"}, actor=actor)
    result["person_id"] = person.pk
    result["sealing"] = seal_all()
    return result


def _baseline(events: Any) -> float:
    """Read and decrypt the events, writing nothing: what every export must do anyway."""
    from registru.audit import exports
    from registru.audit.reading import KeyCache, readable_changes

    start = time.perf_counter()
    keys = KeyCache()
    for event in exports.each_event(events):
        readable_changes(event, keys)
    return time.perf_counter() - start


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """One kind of export, ``spec["runs"]`` times, after its baseline."""
    from registru.audit import exports
    from registru.audit.models import AuditEvent
    from registru.audit.selectors import TrailFilter
    from registru.audit.services.exporting import export_trail
    from registru.core.actors import SystemActor
    from registru.core.context import Channel, audit_context

    started_rss = _rss_mb()
    person = spec.get("person_id")
    # The person's own 50 events were made on the command-line channel, which the generated
    # trail never uses (its subject ids overlap theirs), and the exports here record theirs
    # on the task channel: narrowed to the channel, the person's trail stays at 50 events.
    only_theirs = TrailFilter(channel=Channel.CLI)
    events = (
        AuditEvent.objects.filter(subject_id=person, channel=Channel.CLI)
        if person
        else AuditEvent.objects.filter(id__lte=spec["size"])
    )
    baselines, times, exported = [], [], 0
    with tempfile.TemporaryDirectory() as scratch, audit_context(Channel.TASK):
        for _run in range(spec["runs"]):
            baselines.append(_baseline(events))
            out = Path(scratch) / f"trail.{spec['format']}"
            start = time.perf_counter()
            if person:  # the History tab's export: the service, its check and its audit event
                proof = export_trail(
                    person_id=person, fmt=spec["format"], path=out, actor=SystemActor("bench"), criteria=only_theirs
                )
            else:
                proof = _write_stretch(exports, events, spec["format"], out)
            times.append(time.perf_counter() - start)
            size, exported = out.stat().st_size, proof.checked
    return {
        "case": spec["case"], "format": spec["format"], "events": exported, "runs": spec["runs"],
        "seconds": times, "baseline_seconds": baselines, "bytes": size,
        "rss_at_start_mb": started_rss, "peak_rss_mb": _peak_rss_mb(),
    }  # fmt: skip


def _write_stretch(exports: Any, events: Any, fmt: str, out: Path) -> Any:
    """The trail page's export of these events (values of people masked), as the view or the
    background job writes it: a PDF of more than one part's events is the job's ZIP of parts."""
    info = exports.ExportInfo("Audit trail", "bench", {}, "ro", people_values=False)
    if fmt == "pdf" and events.count() > exports.PDF_PART:
        with out.open("wb") as binary:
            return exports.write_pdf_parts(events, info, binary)
    if fmt == "pdf":
        with out.open("wb") as binary:
            return exports.write_pdf(events, info, binary)
    with out.open("w", encoding="utf-8", newline="") as text:
        return getattr(exports, f"write_{fmt}")(events, info, text)


# Orchestrator ----------------------------------------------------------------------------


def _run(url: str, command: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = env.VAR / f"export-{command}.json"
    out.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "bench.audit", command, json.dumps(spec), "--out", str(out)],
        env=env.process_env(url), cwd=env.ROOT, check=True,
    )  # fmt: skip
    return json.loads(out.read_text(encoding="utf-8"))


def _cases(args: Any, person_id: int) -> list[dict[str, Any]]:
    runs = args.runs or (3 if args.smoke else 20)
    cases: list[dict[str, Any]] = [
        {"case": f"a person's History ({PERSON_EVENTS} events)", "person_id": person_id, "format": fmt, "runs": runs}
        for fmt in ("pdf", "csv", "json")
    ]
    sizes = [size for size in (args.size or ([1000] if args.smoke else list(SIZES))) if size <= args.events]
    cases += [
        {"case": f"trail, first {size:,} events", "size": size, "format": fmt, "runs": 1}
        for size in sizes
        for fmt in ("pdf", "csv", "json")
    ]
    whole = ("csv", "json", "pdf") if args.whole_pdf else ("csv", "json")
    cases += [{"case": "whole trail", "size": args.events, "format": fmt, "runs": 1} for fmt in whole]
    return cases


def export(args: Any) -> None:
    from bench.audit.verification import fresh_database, schema_fingerprint

    engine = args.db
    args.events = args.events or (2000 if args.smoke else 20_000)
    name = f"export_{args.events}"
    marker = env.VAR / f"{name}-{engine}.done"
    setup_file = env.VAR / f"{name}-{engine}.setup.json"
    if args.reuse and marker.exists() and marker.read_text() == schema_fingerprint() and setup_file.exists():
        url, setup = env.database_url(engine, name), json.loads(setup_file.read_text())
    else:
        url = fresh_database(engine, name, rebuild=args.rebuild)
        print(f"export bench {engine}: generating {args.events:,} events…", file=sys.stderr)
        setup = _run(url, "_export_setup", {"events": args.events})
        setup_file.write_text(json.dumps(setup))
        marker.write_text(schema_fingerprint())
    results = []
    for case in _cases(args, setup["person_id"]):
        result = _run(url, "_export", case)
        print(f"  {result['case']} {result['format']}: {_p95(result['seconds']):.2f} s, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB (load {_load()})", file=sys.stderr)  # fmt: skip
        results.append(result)
    print(f"\n## Trail exports ({engine}, {args.events:,} events in the trail)\n")
    print(_table(results))
    path = save("export-smoke" if args.smoke else "export", {"engine": engine, "events": args.events,
                                                              "setup": setup, "results": results})  # fmt: skip
    print(f"\nsaved {path}")


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def _table(results: list[dict[str, Any]]) -> str:
    rows = []
    for result in results:
        warm = result["seconds"][1:] or result["seconds"]
        baseline = statistics.median(result["baseline_seconds"])
        rows.append([
            result["case"], result["format"].upper(), num(result["events"]),
            f"{result['seconds'][0]:.2f}", f"{statistics.median(warm):.2f}", f"{_p95(warm):.2f}",
            f"{baseline:.3f}", f"{statistics.median(warm) / baseline:.0f}×" if baseline else "–",
            num(result["rss_at_start_mb"]), num(result["peak_rss_mb"]), num(result["bytes"] / 1024),
        ])  # fmt: skip
    header = ["export", "format", "events", "first s", "median s", "p95 s", "baseline s (read+decrypt)",
              "÷ baseline", "RSS at start MB", "peak RSS MB", "KiB"]  # fmt: skip
    return table(header, rows)
