"""Periodic work on the trail: sealing every minute, a signed checkpoint every night."""

from __future__ import annotations

from django.tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.audit.services import checkpoints
from registru.audit.services.sealing import seal
from registru.audit.services.verification import run_verification


@db_periodic_task(crontab(minute="*"))
def seal_trail() -> int:
    return seal()


@db_periodic_task(crontab(minute="5", hour="2"))
def nightly_checkpoint() -> int:
    try:
        stored = checkpoints.create_checkpoint()
    except checkpoints.NothingToCheckpointError:
        return 0
    checkpoints.export(stored, checkpoints.default_export_path(stored))
    checkpoints.mail_to_dpo(stored)
    run_verification()
    return stored.seq


@task()
def verify_trail() -> bool:
    """Verify the whole trail in the background (the DPO's "verify now")."""
    return run_verification().intact


# --- Trail exports made in the background (services/export_jobs.py) --------------------------


@task()
def make_trail_pdf(user_id: int, job_id: int) -> str:
    """Make a long trail's PDF, in parts, for the user who asked for it."""
    from registru.audit.services import export_jobs

    return export_jobs.run_pdf(user_id, job_id)


@db_periodic_task(crontab(minute="*/10"))
def expire_trail_exports() -> int:
    """Delete the trail exports whose time is up, and the state of jobs whose worker died."""
    from registru.audit.services import export_jobs

    return export_jobs.expire_jobs()
