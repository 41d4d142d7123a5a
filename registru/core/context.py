"""The audit context: who is acting, through which channel, in which request.

Every entry point (web middleware, API, the ``registru`` command, background tasks, the
public portal, imports) opens a context; services read it to stamp their audit events.
Code that writes personal data without one fails loudly instead of leaving no trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


class Channel(StrEnum):
    """How a change reached Registru; stable codes stored in audit events."""

    UI = "ui"
    API = "api"
    CLI = "cli"
    TASK = "task"
    PORTAL = "portal"
    IMPORT = "import"


class AuditContextMissingError(RuntimeError):
    """Personal data was about to be written with no entry point having opened a context."""


class UnauditedWriteError(RuntimeError):
    """An audited model was written outside a service function."""


@dataclass(frozen=True, slots=True)
class AuditContext:
    channel: Channel
    request_id: str


_current: ContextVar[AuditContext | None] = ContextVar("registru_audit_context", default=None)
_service_depth: ContextVar[int] = ContextVar("registru_service_depth", default=0)


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def audit_context(channel: Channel, request_id: str | None = None) -> Iterator[AuditContext]:
    """Open an audit context for the duration of the block.

    An inner context replaces the outer one until it closes: a task run inline from a
    request is recorded as a task, with its own id.
    """
    context = AuditContext(channel=Channel(channel), request_id=request_id or new_request_id())
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def current_context() -> AuditContext:
    context = _current.get()
    if context is None:
        raise AuditContextMissingError(
            "No audit context is open: personal data may only be written from an entry point "
            "(request, API call, command, task) that opened one."
        )
    return context


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


@contextmanager
def service_scope(connection: BaseDatabaseWrapper | None = None) -> Iterator[None]:
    """Mark the current (open) transaction as a Registru service's, for Python's guard and
    for the database's triggers (see ``core.dbguard``): the transaction of ``connection``,
    the default connection's unless another is named (a migration run with ``--database``)."""
    from registru.core.dbguard import mark_transaction

    token = _service_depth.set(_service_depth.get() + 1)
    try:
        if connection is None:
            mark_transaction()
        else:
            mark_transaction(connection)
        yield
    finally:
        _service_depth.reset(token)


def in_service() -> bool:
    return _service_depth.get() > 0


def ensure_write_allowed(model_label: str) -> None:
    """Raise unless the caller is a service running inside an audit context."""
    current_context()
    if _service_depth.get() == 0:
        raise UnauditedWriteError(
            f"{model_label} is personal data: write it through a service function "
            "(services.py), which records the audit event in the same transaction."
        )
