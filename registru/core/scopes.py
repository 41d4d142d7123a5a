"""``restrict(user, model, action)``: the one read path for scoped records.

Each app registers a policy for its models; pages, the API, exports and searches all ask
``restrict`` and never build their own filters, so a rule changed here changes everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from registru.accounts.models import User


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"


Policy = Callable[["User", Action], "models.QuerySet[Any]"]
_policies: dict[type[models.Model], Policy] = {}


def scope_policy(model: type[models.Model]) -> Callable[[Policy], Policy]:
    def register(policy: Policy) -> Policy:
        _policies[model] = policy
        return policy

    return register


def restrict[M: models.Model](user: Any, model: type[M], action: Action = Action.VIEW) -> models.QuerySet[M]:
    """The records of ``model`` that ``user`` may ``action``; empty for anonymous users."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return model._default_manager.none()
    try:
        policy = _policies[model]
    except KeyError as exc:
        raise LookupError(f"no scope policy registered for {model._meta.label}") from exc
    return policy(user, Action(action))
