"""Consents past their validity become "expired" events in the ledger, every hour. The send gate
does not wait for it: it reads ``expires_at`` itself, so an expired consent stops mail at once."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.consent.services import expire_consents


@db_periodic_task(crontab(minute="7"))
def expire_old_consents() -> int:
    return expire_consents()
