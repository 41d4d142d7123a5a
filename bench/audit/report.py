"""Percentiles, Markdown tables, the machine's description and result files."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.audit.env import RESULTS_DIR


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return dict.fromkeys(("p50", "p95", "p99", "max"), float("nan"))
    if len(samples) == 1:
        return dict.fromkeys(("p50", "p95", "p99", "max"), samples[0])
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(samples)}


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def num(value: float, digits: int = 0) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"


def ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def ratio(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}×"


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "sqlite": _sqlite_version(),
        "postgresql": _postgres("SHOW server_version"),
        "pg_fsync": _postgres("SHOW fsync"),
        "pg_synchronous_commit": _postgres("SHOW synchronous_commit"),
        "pg_shared_buffers": _postgres("SHOW shared_buffers"),
        "kernel": platform.release(),
        "packages": _packages(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _postgres(statement: str) -> str:
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


def _packages() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("Django", "psycopg", "cryptography", "django-pghistory", "django-pgtrigger",
                 "django-simple-history", "django-auditlog"):  # fmt: skip
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    document = {"benchmark": name, "finished_at": stamp, "machine": machine(), **payload}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return path
