"""Access housekeeping: deciders are told of new requests, access requests are settled at their
``settle_after`` (lapsed ones refused, refusals shown and notified to the requester), and the
view ledger is trimmed."""

from __future__ import annotations

from django.tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.accounts.services.budget import forget_old_views
from registru.accounts.services.grants import notify_deciders, settle_lapsed_requests


@task()
def notify_access_deciders(request_id: int) -> int:
    """Enqueued for every filed request, so that filing costs the same whether or not the
    identifier named a record; only a matched request that is still open notifies anyone."""
    return notify_deciders(request_id)


@db_periodic_task(crontab(minute="*/15"))
def settle_access_requests() -> int:
    """Requests nobody decided in time are refused, with their event; every refusal whose moment
    has come (lapsed, or a decider's) is notified to its requester, once: a second run sends
    nothing new."""
    return settle_lapsed_requests()


@db_periodic_task(crontab(minute="23", hour="3"))
def trim_view_ledger() -> int:
    """The bulk-view budget counts today only; older ledger rows go."""
    return forget_old_views()
