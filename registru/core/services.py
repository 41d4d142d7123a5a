"""The decorator that makes a function a service: the one write path for personal data."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from django.db import transaction

from registru.core.context import current_context, in_service, service_scope
from registru.core.dbguard import unmark_transaction
from registru.vault.services import key_scope


def service[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` as a service: an explicit keyword-only actor, an open audit context,
    and one transaction around the change and its audit event. The people's data keys the
    service unwraps are kept for the call only (``vault.key_scope``), so each is read once.
    """
    parameter = inspect.signature(function).parameters.get("actor")
    if parameter is None or parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
        raise TypeError(f"service {function.__qualname__} must take a keyword-only 'actor'")

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> R:
        current_context()
        try:
            with transaction.atomic(), service_scope(), key_scope():
                return function(*args, **kwargs)
        finally:
            if not in_service():
                # A service called inside a caller's transaction must not leave that
                # transaction marked as a service's: later writes there are the caller's.
                unmark_transaction()

    return run
