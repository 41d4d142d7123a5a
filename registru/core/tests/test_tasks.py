"""Background work: Huey through django.tasks, on SQLite storage and on Redis, audited."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from huey.contrib.djhuey import HUEY

from registru.audit.models import AuditEvent
from registru.testing.factories import PersonFactory
from registru.testing.tasks import retitle

REGISTRU = str(Path(sys.executable).with_name("registru"))


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def run_ping_through_a_worker(tmp_path: Path, queue_url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "REGISTRU_DATA_DIR": str(tmp_path),
        "REGISTRU_QUEUE_URL": queue_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REGISTRU_TASKS_IMMEDIATE": "false",
    }
    worker = subprocess.Popen(
        [REGISTRU, "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        return subprocess.run(
            [REGISTRU, "tasks", "ping", "--wait", "30"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_it_runs_a_task_in_a_worker_on_sqlite_storage(tmp_path: Path) -> None:
    result = run_ping_through_a_worker(tmp_path, f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    assert result.returncode == 0, result.stderr
    assert "pong from a worker" in result.stdout


@pytest.mark.redis
def test_it_runs_a_task_in_a_worker_on_redis_storage(tmp_path: Path) -> None:
    if not redis_available():
        if os.environ.get("REGISTRU_REQUIRE_REDIS"):
            pytest.fail("Redis is required (REGISTRU_REQUIRE_REDIS) but 127.0.0.1:6379 does not answer")
        pytest.skip("Redis is not running on 127.0.0.1:6379: the Redis storage test is skipped")
    result = run_ping_through_a_worker(tmp_path, "redis://127.0.0.1:6379/15")
    assert result.returncode == 0, result.stderr
    assert "pong from a worker" in result.stdout


def test_it_fails_clearly_when_no_worker_answers(tmp_path: Path) -> None:
    env = os.environ | {
        "REGISTRU_DATA_DIR": str(tmp_path),
        "REGISTRU_QUEUE_URL": f"sqlite:///{tmp_path / 'q.sqlite3'}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [REGISTRU, "tasks", "ping", "--wait", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "no worker answered" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_it_records_changes_made_by_a_task_on_the_task_channel() -> None:
    person = PersonFactory()
    HUEY.immediate = True
    try:
        retitle.enqueue(person.pk, "Din fundal")
    finally:
        HUEY.immediate = False
    event = AuditEvent.objects.get(subject_id=person.pk, action="person.updated")
    assert event.channel == "task"
    assert event.request_id.startswith("task-")
    assert event.actor_label == "test task"


def test_a_worker_runs_every_clock_of_the_apps() -> None:
    from huey.contrib.djhuey import HUEY

    from registru.core.workers import make_consumer

    make_consumer(periodic=True)  # discovers each app's tasks module, as a worker does
    scheduled = {task.__name__ for task in HUEY._registry._periodic_tasks}
    assert scheduled >= {"advance_campaigns", "deliver_outbox", "expire_old_consents", "nightly_housekeeping"}
