"""Access housekeeping: lapsed access requests are settled, and the view ledger is trimmed."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.accounts.services.budget import forget_old_views
from registru.accounts.services.grants import settle_lapsed_requests


@db_periodic_task(crontab(minute="*/15"))
def settle_access_requests() -> int:
    """Requests nobody decided in time are refused, with their event and notice."""
    return settle_lapsed_requests()


@db_periodic_task(crontab(minute="23", hour="3"))
def trim_view_ledger() -> int:
    """The bulk-view budget counts today only; older ledger rows go."""
    return forget_old_views()
