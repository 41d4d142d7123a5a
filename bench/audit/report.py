"""Percentiles, Markdown tables, the machine's description and result files."""

from __future__ import annotations

import json
import math
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.audit.env import RESULTS_DIR
from bench.report import cpu_model, postgres, sqlite_version


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
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "sqlite": sqlite_version(),
        "postgresql": postgres("SHOW server_version"),
        "pg_fsync": postgres("SHOW fsync"),
        "pg_synchronous_commit": postgres("SHOW synchronous_commit"),
        "pg_shared_buffers": postgres("SHOW shared_buffers"),
        "kernel": platform.release(),
        "packages": _packages(),
    }


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
