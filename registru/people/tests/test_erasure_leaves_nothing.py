"""The erasure of issue 18, end to end, on each database: after a person and their merged-away
duplicate are erased, none of their strings (as typed, ASCII-folded, JSON-escaped) is left in
the database's bytes (the SQLite file and its write-ahead log; a pg_dump), in the data
directory (exports, the local mailbox), or in the erased person's trail proof (JSON, PDF), and
the trail still verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from registru.people.tests import erasure_scenario as scenario

pytestmark = pytest.mark.django_db(transaction=True)
REGISTRU = str(Path(sys.executable).with_name("registru"))


def environment(data_dir: Path) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REGISTRU_"))}
    return clean | {
        "REGISTRU_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'registru.sqlite3'}",
        "REGISTRU_MASTER_KEY_FILE": str(data_dir / "keys" / "master.key"),
    }  # fmt: skip


def registru(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([REGISTRU, *args], env=env, check=False, timeout=300, capture_output=True, text=True)
    assert done.returncode == 0, f"registru {args[0]}: {done.stderr[-2000:]}"
    return done.stdout


def erased_on_sqlite(data_dir: Path, proofs: Path) -> dict[str, Any]:
    """The scenario in a ``registru`` process of its own, on a database file (the test
    database on SQLite lives in memory and has no file to read)."""
    env = environment(data_dir)
    registru(env, "migrate", "-v0")
    code = "from registru.people.tests.erasure_scenario import main; main()"
    ids = json.loads(registru(env, "shell", "--no-imports", "-c", code).strip().splitlines()[-1])
    for fmt in ("json", "pdf"):
        registru(env, "audit", "export", "--person", str(ids["survivor"]), "--format", fmt,
                 "--out", str(proofs / f"proof.{fmt}"))  # fmt: skip
    registru(env, "audit", "verify")
    return ids


def erased_on_postgresql(data_dir: Path, proofs: Path, settings: Any) -> dict[str, Any]:
    settings.DATA_DIR = data_dir
    settings.EXPORT_DIR = data_dir / "exports"
    settings.MAIL_TRANSPORT = "mailbox"
    ids = scenario.build_and_erase()
    for fmt in ("json", "pdf"):
        call_command("audit", "export", "--person", str(ids["survivor"]), "--format", fmt,
                     "--out", str(proofs / f"proof.{fmt}"))  # fmt: skip
    call_command("audit", "verify")  # exits 1 on damage
    return ids


def pg_dump() -> bytes:
    settings = connection.settings_dict
    command = ["pg_dump", "-h", settings["HOST"] or "127.0.0.1", "-U", settings["USER"] or "postgres",
               "-p", str(settings["PORT"] or 5432), settings["NAME"]]  # fmt: skip
    env = os.environ | ({"PGPASSWORD": settings["PASSWORD"]} if settings["PASSWORD"] else {})
    return subprocess.run(command, env=env, check=True, capture_output=True, timeout=120).stdout


def files_under(directory: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield str(path.relative_to(directory)), path.read_bytes()


@pytest.fixture
def erased(tmp_path: Path, settings: Any) -> tuple[dict[str, Any], Path, Path]:
    data_dir, proofs = tmp_path / "data", tmp_path / "proofs"
    data_dir.mkdir()
    proofs.mkdir()
    if connection.vendor == "sqlite":
        return erased_on_sqlite(data_dir, proofs), data_dir, proofs
    return erased_on_postgresql(data_dir, proofs, settings), data_dir, proofs


def test_their_strings_are_nowhere_after_the_erasure(erased) -> None:
    ids, data_dir, proofs = erased
    # On SQLite, the file and its log as they were right after the erasure, the database open.
    left: dict[str, list[str]] = {name: ids[name] for name in ("open-file", "open-wal") if name in ids}
    # The data directory: exports, the mailbox, and on SQLite the database file and its WAL.
    for name, blob in files_under(data_dir):
        left[name] = scenario.found_in(blob)
    if connection.vendor == "postgresql":
        left["pg_dump"] = scenario.found_in(pg_dump())
    proof = (proofs / "proof.json").read_text(encoding="utf-8")
    # The JSON as it is, and as a reader sees it (escapes resolved).
    left["proof.json"] = scenario.found_in(proof.encode()) + scenario.found_in(
        json.dumps(json.loads(proof), ensure_ascii=False).encode()
    )
    pdf_text = subprocess.run(["pdftotext", str(proofs / "proof.pdf"), "-"], check=True, capture_output=True).stdout
    left["proof.pdf"] = scenario.found_in(pdf_text)
    assert {name: found for name, found in left.items() if found} == {}


def test_the_proof_still_shows_who_did_what_and_when(erased) -> None:
    _ids, _data_dir, proofs = erased
    events = [json.loads(event["canonical"]) for event in json.loads((proofs / "proof.json").read_text())["events"]]
    erasure = next(event for event in events if event["action"] == "person.erased")
    assert (erasure["actor"][1], erasure["channel"], erasure["reason"]) == ("dpo", "cli", "cerere art. 17 nr. 12/2026")
    assert {"person.created", "person.merged", "questionnaire.answered"} <= {event["action"] for event in events}
