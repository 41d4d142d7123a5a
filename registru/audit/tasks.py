"""Periodic work on the trail: sealing every minute, a signed checkpoint every
``AUDIT_CHECKPOINT_MINUTES`` (and at once when asked), and every night a mailed checkpoint and a
full verification of the trail and of the live records against the states it committed to."""

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


@db_periodic_task(crontab(minute="*"))
def checkpoint_when_due() -> int:
    """Checked every minute; signs only when the interval has passed and the trail has grown."""
    stored = checkpoints.checkpoint_if_due()
    return stored.seq if stored else 0


@db_periodic_task(crontab(minute="5", hour="2"))
def nightly_checkpoint() -> int:
    stored = checkpoints.publish_checkpoint(mail=True)
    run_verification()
    return stored.seq if stored else 0


@task()
def checkpoint_now() -> int:
    """A checkpoint at once (after an erasure or an export approval)."""
    stored = checkpoints.publish_checkpoint()
    return stored.seq if stored else 0


@task()
def verify_trail() -> bool:
    """Verify the whole trail, and the live records against it, in the background (the DPO's
    "verify now")."""
    verification = run_verification()
    return verification.intact and not verification.state_changed


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
