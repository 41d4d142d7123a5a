"""Delivering the outbox in the background: at once after messages are queued, and every minute
for retries and for messages a crashed worker left behind."""

from __future__ import annotations

from django.tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.mail.services import deliver_due


@task()
def deliver_now() -> int:
    return deliver_due().sent


@db_periodic_task(crontab(minute="*"))
def deliver_outbox() -> int:
    return deliver_due().sent
