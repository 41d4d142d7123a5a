"""Percentiles, Markdown tables, the machine's description and result files."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.env import RESULTS_DIR


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max (inclusive method: with 200 samples p99 lies between the top two)."""
    if not samples:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    if len(samples) == 1:
        return dict.fromkeys(("p50", "p95", "p99", "max"), samples[0])
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(samples)}


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def load_average() -> float:
    """The 1-minute load average: other work on the machine makes figures noisy."""
    return round(os.getloadavg()[0], 2)


def wait_until_quiet(minutes: float, below: float = 1.0) -> None:
    """Wait (up to ``minutes``) for the machine to be idle enough to measure."""
    deadline = time.monotonic() + minutes * 60
    while load_average() >= below and time.monotonic() < deadline:
        print(f"waiting for a quiet machine (load {load_average()})", file=sys.stderr, flush=True)
        time.sleep(15)
    if load_average() >= below:
        print(f"the machine is busy (load {load_average()}): figures will be noisy", file=sys.stderr)


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "sqlite": sqlite_version(),
        "postgresql": postgres("SHOW server_version"),
        "kernel": platform.release(),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def postgres(statement: str) -> str:
    """One value from the local PostgreSQL (a setting, the version), or "unknown"."""
    try:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", statement],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def save(name: str, data: dict[str, Any]) -> Path:
    """Write the results as JSON under var/bench/results/ (the latest run of each benchmark)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    data = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_at_end": load_average(),
        **data,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
