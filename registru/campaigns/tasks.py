"""The campaigns' clock: every minute (and at once after a start or a resume) the due waves and
reminders are queued, unanswered invitations expire, and the outbox is asked to deliver."""

from __future__ import annotations

from django.tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.campaigns.services import advance
from registru.mail.tasks import deliver_now


def _tick() -> int:
    progress = advance()
    if progress.queued or progress.reminded:
        deliver_now.enqueue()
    return progress.queued + progress.reminded


@task()
def advance_now() -> int:
    return _tick()


@db_periodic_task(crontab(minute="*"))
def advance_campaigns() -> int:
    return _tick()
