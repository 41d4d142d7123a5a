"""The bulk-view budget: how many distinct people a user is shown per hour and per day.

``charge(user, ids)`` is called wherever people are shown (lists, searches, detail pages,
the API), before the answer is built. It records the people in one ledger per user, so
paging, parallel sessions and API tokens all add to the same count. Crossing a soft limit
alerts the DPO once per window; crossing a hard limit blocks viewing until a manager lifts
the block, and lifting it lets the user go on until the end of that window.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registru.accounts.models import User, ViewAlert, ViewBlock, ViewedPerson
from registru.accounts.models.budget import BudgetLevel, BudgetWindow
from registru.accounts.policy import policy_for
from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction
from registru.audit.services import record
from registru.core.actors import SystemActor
from registru.core.services import service

BUDGET = SystemActor("view budget")


class ViewingBlockedError(Exception):
    """The user is blocked from viewing people until a manager lifts the block."""

    def __init__(self) -> None:
        super().__init__("view budget exceeded")

    @property
    def message(self) -> str:
        return str(
            _(
                "You have viewed more people than your role allows, so viewing people is blocked. "
                "The data protection officer has been told. Ask your manager to lift the block."
            )
        )


@dataclass(frozen=True)
class Counts:
    hour: int
    day: int
    blocked: bool


def charge(user: Any, person_ids: Iterable[int]) -> None:
    """Count ``person_ids`` as viewed by ``user`` now; raise ``ViewingBlockedError`` if blocked."""
    ids = sorted(set(person_ids))
    if not getattr(user, "pk", None):
        return
    now = timezone.localtime()
    wrote = bool(ids) and _ledger(user, ids, now)
    if not wrote and _recently_clear(user.pk):
        return
    counts = _counts(user, now)
    _checked[user.pk] = (time.monotonic(), counts.blocked)
    if counts.blocked:
        raise ViewingBlockedError()
    if ids:
        _check_limits(user, counts, now)


# People this process has already written to the ledger for a user in the current hour. A list
# shown again (the next click on the same page, a refresh) then costs no write, and, if this
# process read the user's counts less than RECHECK_SECONDS ago and they were not blocked, no
# read either: nobody new was shown, so no limit can have been crossed by this answer. A block
# made by another process is seen here within RECHECK_SECONDS.
_written: dict[tuple[int, Any, int], set[int]] = {}
_checked: dict[int, tuple[float, bool]] = {}
MEMO_KEYS = 10_000
RECHECK_SECONDS = 1.0


def forget_written() -> None:
    _written.clear()
    _checked.clear()


def _recently_clear(user_id: int) -> bool:
    checked = _checked.get(user_id)
    return checked is not None and not checked[1] and time.monotonic() - checked[0] < RECHECK_SECONDS


def _ledger(user: Any, ids: list[int], now: datetime) -> bool:
    """Write the people not yet written this hour by this process; True if there were any."""
    key = (user.pk, now.date(), now.hour)
    known = _written.get(key)
    fresh = [pk for pk in ids if known is None or pk not in known]
    if not fresh:
        return False
    _upsert(user.pk, fresh, now)
    if len(_written) > MEMO_KEYS:
        _written.clear()
        _checked.clear()
    _written.setdefault(key, set()).update(fresh)
    return True


UPSERT_SQL = """
INSERT INTO accounts_viewedperson (user_id, person_id, day, hour) VALUES {rows}
ON CONFLICT (user_id, day, person_id) DO UPDATE SET hour = excluded.hour
WHERE accounts_viewedperson.hour <> excluded.hour
"""


def _upsert(user_id: int, ids: list[int], now: datetime) -> None:
    """One statement; a row already at this hour is left alone (no rewrite, no new version)."""
    sql = UPSERT_SQL.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(ids)))
    params: list[Any] = []
    for pk in ids:
        params += [user_id, pk, now.date(), now.hour]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


COUNT_SQL = """
SELECT
  COUNT(CASE WHEN v.hour = %s THEN 1 END),
  COUNT(*),
  (SELECT COUNT(*) FROM accounts_viewblock b WHERE b.user_id = %s AND b.lifted_at IS NULL)
FROM accounts_viewedperson v WHERE v.user_id = %s AND v.day = %s
"""


def _counts(user: Any, now: datetime) -> Counts:
    """Both counts and whether a block is in force, in one query (this runs on every view)."""
    with connection.cursor() as cursor:
        cursor.execute(COUNT_SQL, [now.hour, user.pk, user.pk, now.date()])
        hour, day, blocks = cursor.fetchone()
    return Counts(hour=hour, day=day, blocked=blocks > 0)


def _check_limits(user: Any, counts: Counts, now: datetime) -> None:
    policy = policy_for(user)
    windows = (
        (BudgetWindow.HOUR, counts.hour, policy.views_per_hour_soft, policy.views_per_hour_hard),
        (BudgetWindow.DAY, counts.day, policy.views_per_day_soft, policy.views_per_day_hard),
    )
    for window, count, soft, hard in windows:
        if count > hard and _alert(user, window, BudgetLevel.HARD, count, now):
            _checked[user.pk] = (time.monotonic(), True)
            raise ViewingBlockedError()
        if count > soft:
            _alert(user, window, BudgetLevel.SOFT, count, now)


def window_start(window: str, now: datetime) -> datetime:
    start = now.replace(minute=0, second=0, microsecond=0)
    return start if window == BudgetWindow.HOUR else start.replace(hour=0)


@service
def _alert(user: Any, window: str, level: str, count: int, now: datetime, *, actor: Any = BUDGET) -> bool:
    """Record a crossed limit once per window, with its block, event and message, in one
    transaction; True if this call made the alert."""
    try:
        with transaction.atomic():
            alert = ViewAlert.objects.create(
                user=user, window=window, window_start=window_start(window, now), level=level, count=count
            )
    except IntegrityError:
        return False  # already alerted in this window: once, not per request
    _report(user, alert, actor=actor)
    return True


def _report(user: Any, alert: ViewAlert, *, actor: Any) -> None:
    from registru.accounts.notify import notify_users, page, users_who_can

    hard = alert.level == BudgetLevel.HARD
    if hard:
        ViewBlock.objects.create(user=user, alert=alert)
    action = AuditAction.VIEW_BUDGET_BLOCKED if hard else AuditAction.VIEW_BUDGET_ALERT
    detail = f"{alert.count} people in one {alert.window}"
    # The request's user is a lazy proxy; the trail needs the model instance itself.
    record(action, actor=actor, target=User.objects.get(pk=user.pk), reason=detail)
    notify_users(
            users_who_can(Capability.READ_EXPORT_REGISTER),
            key=f"view-alert:{alert.pk}",
            subject=_("Registru: a user viewed more people than allowed"),
            body=_("User %(user)s was shown %(count)s people in one %(window)s (%(level)s).")
            % {"user": user.label, "count": alert.count, "window": alert.get_window_display(),
               "level": alert.get_level_display()},
            path=page("accounts:viewing_blocks"),
            actor=actor,
        )  # fmt: skip


@service
def lift_block(block: ViewBlock, *, actor: Any, reason: str) -> bool:
    """Lift a block; the user may go on viewing until the end of the window that caused it."""
    changed = ViewBlock.objects.filter(pk=block.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=actor, lift_reason=reason[:500]
    )
    if changed:
        record(AuditAction.VIEW_BUDGET_LIFTED, actor=actor, target=block.user, reason=reason)
    return bool(changed)


def forget_old_views(*, keep_days: int = 2) -> int:
    """The ledger is needed for today only; older rows are deleted by a periodic task."""
    cutoff = timezone.localdate() - timedelta(days=keep_days)
    deleted, _counts_by_model = ViewedPerson.objects.filter(day__lt=cutoff).delete()
    return deleted
