"""A PDF of a long trail is made in the background, one at a time for each user, and kept a
short time in the data directory for its requester to download.

Each job is a directory ``DATA_DIR/trail-exports/<user id>/<job id>/`` holding ``job.json``
(its state, replaced whole at each change) and, once made, ``trail.zip`` (the PDF in parts,
``exports.write_pdf_parts``). The user's directory holds a ``running`` file while a job of
theirs is queued or running: created exclusively, it is what lets one request through and
refuses the second. The state is kept in files rather than a table because the audit app's
tables are append-only (database triggers refuse every update), and a job's state changes as
it runs; the export itself is recorded in the trail, as every export is.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from registru.audit import exports
from registru.audit.selectors import TrailFilter
from registru.audit.services.exporting import export_trail

# A job whose state has not changed for this long lost its worker (a part takes seconds).
STALE = timedelta(minutes=30)
FILE_NAME = "trail.zip"
LOCK_NAME = "running"


class ExportRunningError(Exception):
    """The user already has an export being made; ``job_id`` is that one."""

    def __init__(self, job_id: int | None) -> None:
        super().__init__("an export of this user is already being made")
        self.job_id = job_id


class Status:
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    ACTIVE = (QUEUED, RUNNING)


@dataclass
class TrailJob:
    """A PDF of the trail being made (or made) for one user."""

    id: int
    user_id: int
    person_id: int | None
    criteria: dict[str, Any]
    language: str
    total: int
    status: str = Status.QUEUED
    done: int = 0
    created_at: str = ""
    updated_at: str = ""
    expires_at: str = ""
    error: str = ""

    @property
    def directory(self) -> Path:
        return user_directory(self.user_id) / str(self.id)

    @property
    def file(self) -> Path:
        return self.directory / FILE_NAME

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def active(self) -> bool:
        return self.status in Status.ACTIVE

    @property
    def expires(self) -> datetime | None:
        return datetime.fromisoformat(self.expires_at) if self.expires_at else None

    def trail_filter(self) -> TrailFilter:
        values = dict(self.criteria)
        for name in ("date_from", "date_to"):
            if values.get(name):
                values[name] = date.fromisoformat(values[name])
        return TrailFilter(**values)

    def stale(self, now: datetime, after: timedelta | None = None) -> bool:
        return self.active and datetime.fromisoformat(self.updated_at) < now - (after or STALE)

    @property
    def dead(self) -> bool:
        """Queued or running, but unchanged for too long: its worker is gone."""
        return self.stale(timezone.now())


def root() -> Path:
    return Path(settings.DATA_DIR) / "trail-exports"


def user_directory(user_id: int) -> Path:
    return root() / str(int(user_id))


def keep_for() -> timedelta:
    return timedelta(hours=settings.AUDIT_EXPORT_KEEP_HOURS)


# --- Requesting -----------------------------------------------------------------------------


def request_pdf(
    *, person_id: int | None, criteria: TrailFilter, language: str, total: int, actor: Any
) -> TrailJob:  # fmt: skip
    """Queue a PDF of the trail for ``actor``; raises ``ExportRunningError`` while another
    of theirs is being made. The export is recorded in the trail when the file is made."""
    from registru.audit.tasks import make_trail_pdf

    job_id = _claim(actor.pk)
    now = timezone.now().isoformat()
    job = TrailJob(job_id, actor.pk, person_id, _criteria(criteria), language, total, created_at=now, updated_at=now)
    _save(job)
    try:
        make_trail_pdf.enqueue(actor.pk, job.id)
    except Exception:
        _release(job)
        shutil.rmtree(job.directory, ignore_errors=True)
        raise
    return job


def _criteria(criteria: TrailFilter) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in asdict(criteria).items()}


def _claim(user_id: int) -> int:
    """Take the user's lock and a new job id; the lock holds the id."""
    directory = user_directory(user_id)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = directory / LOCK_NAME
    job_id = secrets.randbelow(10**15) + 1
    for _attempt in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            _clear_if_dead(user_id, lock)
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(str(job_id))
        (directory / str(job_id)).mkdir(mode=0o700)
        return job_id
    raise ExportRunningError(running_job_id(user_id))


def running_job_id(user_id: int) -> int | None:
    try:
        return int((user_directory(user_id) / LOCK_NAME).read_text() or 0) or None
    except (FileNotFoundError, ValueError):
        return None


def _clear_if_dead(user_id: int, lock: Path) -> None:
    """Remove the lock of a job that no longer runs (its worker died, or it never got its
    state written); a live job keeps its lock."""
    job_id = running_job_id(user_id)
    job = _load(user_id, job_id) if job_id else None
    now = timezone.now()
    if job is None:
        # Taken a moment ago, its state about to be written: alive unless left for long.
        with contextlib.suppress(FileNotFoundError):
            taken = datetime.fromtimestamp(lock.stat().st_mtime, tz=UTC)
            if taken < now - STALE:
                lock.unlink(missing_ok=True)
    elif not job.active or job.stale(now):
        lock.unlink(missing_ok=True)


def _release(job: TrailJob) -> None:
    if running_job_id(job.user_id) == job.id:
        (user_directory(job.user_id) / LOCK_NAME).unlink(missing_ok=True)


# --- Running (in the worker) ----------------------------------------------------------------


def run_pdf(user_id: int, job_id: int) -> str:
    """Make the job's file (the worker's part); returns the job's final status."""
    from registru.accounts.models import User

    job = _load(user_id, job_id)
    if job is None or job.status != Status.QUEUED:
        return job.status if job else "missing"
    try:
        _update(job, status=Status.RUNNING)
        export_trail(
            person_id=job.person_id, fmt="pdf", path=job.file, actor=User.objects.get(pk=user_id),
            language=job.language, criteria=job.trail_filter(), progress=lambda done: _update(job, done=done),
        )  # fmt: skip
        _update(job, status=Status.READY, done=job.total, expires_at=(timezone.now() + keep_for()).isoformat())
    except Exception as exc:
        job.file.unlink(missing_ok=True)
        # Kept as long as a file would be, so that its requester reads that it failed.
        _update(
            job, status=Status.FAILED, error=type(exc).__name__, expires_at=(timezone.now() + keep_for()).isoformat()
        )
        raise
    finally:
        _release(job)
    return job.status


def _update(job: TrailJob, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(job, name, value)
    job.updated_at = timezone.now().isoformat()
    _save(job)


def _save(job: TrailJob) -> None:
    # Written beside and renamed over: a reader sees the old state or the new, never half.
    path = job.directory / "job.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(job)), encoding="utf-8")
    partial.replace(path)


def _load(user_id: int, job_id: int | None) -> TrailJob | None:
    if not job_id:
        return None
    try:
        data = json.loads((user_directory(user_id) / str(int(job_id)) / "job.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    known = {field.name for field in fields(TrailJob)}
    return TrailJob(**{key: value for key, value in data.items() if key in known})


# --- Reading (the requester's pages) --------------------------------------------------------


def job_for(user: Any, job_id: int) -> TrailJob | None:
    """The user's own job ``job_id``, unless it expired; nobody else's (they get None)."""
    job = _load(user.pk, job_id)
    if job is None or _expired(job, timezone.now()):
        return None
    return job


def ready_job(user: Any, job_id: int) -> TrailJob | None:
    """The user's own job ``job_id`` if its file is there to download."""
    job = job_for(user, job_id)
    if job is None or job.status != Status.READY or not job.file.exists():
        return None
    return job


def _expired(job: TrailJob, now: datetime) -> bool:
    # A dead job stops blocking its user after STALE, and its page says it failed; it goes
    # when a made file would.
    expires = job.expires
    return (expires is not None and expires <= now) or job.stale(now, after=keep_for())


# --- Expiry (periodic) ----------------------------------------------------------------------


def expire_jobs() -> int:
    """Delete the files and states of expired (and dead) jobs; returns how many went."""
    now = timezone.now()
    removed = 0
    for state in sorted(root().glob("*/*/job.json")):
        with contextlib.suppress(ValueError):
            job = _load(int(state.parent.parent.name), int(state.parent.name))
            if job is not None and _expired(job, now):
                shutil.rmtree(job.directory, ignore_errors=True)
                _release(job)
                removed += 1
    return removed


def made_in_background(total: int) -> bool:
    """A PDF of more events than one part holds is made in the background, in parts."""
    return total > exports.PDF_PART
