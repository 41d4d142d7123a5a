"""Who acts: a staff user, or a named part of the system (a task, the database, a data subject)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from registru.accounts.models import User


@dataclass(frozen=True, slots=True)
class SystemActor:
    """An actor without an account, named for the trail: "system: token cleanup"."""

    label: str
    pk: None = None

    @property
    def is_authenticated(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class SubjectActor:
    """The person the data is about, acting on it themselves through the public pages (their
    consent, their preferences). The trail names them by role only: the event's subject says who."""

    label: str = "data subject"
    pk: None = None

    @property
    def is_authenticated(self) -> bool:
        return False


class _Labelled(Protocol):
    pk: int | None

    @property
    def label(self) -> str: ...


type Actor = User | SystemActor | SubjectActor


def actor_identity(actor: _Labelled) -> tuple[int | None, str]:
    """The pair stored in audit events: the id (None for system actors) and a lasting label."""
    return actor.pk, actor.label
