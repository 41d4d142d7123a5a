"""Background tasks of the kernel, and the audit context every task runs in.

Tasks are defined with ``django.tasks`` and executed by Huey (SQLite or Redis storage).
Periodic housekeeping uses Huey's scheduler, which runs in exactly one worker: the one
started with periodic tasks on (``registru serve``, or ``registru worker --periodic``).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from django.tasks import task
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

from registru.accounts.services import purge_expired_sessions, purge_expired_tokens
from registru.core.context import AuditContext, Channel, audit_context

_open_contexts = threading.local()


@HUEY.pre_execute()
def open_task_context(huey_task: Any) -> None:
    """Every task runs in an audit context on the "task" channel, its id as request id."""
    manager = audit_context(Channel.TASK, f"task-{huey_task.id}")
    manager.__enter__()
    _open_contexts.manager = manager


@HUEY.post_execute()
def close_task_context(huey_task: Any, value: Any, exc: BaseException | None) -> None:
    manager: AbstractContextManager[AuditContext] | None = getattr(_open_contexts, "manager", None)
    if manager is not None:
        _open_contexts.manager = None
        manager.__exit__(None, None, None)


@task()
def ping(payload: str) -> dict[str, str]:
    """Answer from a worker: ``registru tasks ping`` uses it to prove the queue is served."""
    return {"pong": payload, "at": timezone.now().isoformat()}


@db_periodic_task(crontab(minute="17", hour="3"))
def nightly_housekeeping() -> dict[str, int]:
    """Delete long-expired API tokens and sessions (no personal data of data subjects)."""
    return {"tokens": purge_expired_tokens(), "sessions": purge_expired_sessions()}
