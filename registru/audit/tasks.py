"""Periodic work on the trail: sealing every minute, a signed checkpoint every night, then a full
verification of the trail and of the live records against the states it committed to."""

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
    """Verify the whole trail, and the live records against it, in the background (the DPO's
    "verify now")."""
    verification = run_verification()
    return verification.intact and not verification.state_changed
