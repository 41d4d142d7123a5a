"""The questionnaires' clock: every ten minutes, who is due gets a request, reminders go, and
requests past their time expire (the person is marked stale)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.mail.tasks import deliver_now
from registru.questionnaires.services import run


@db_periodic_task(crontab(minute="*/10"))
def run_questionnaires() -> int:
    report = run()
    if report.sent or report.reminded:
        deliver_now.enqueue()
    return report.sent + report.reminded
