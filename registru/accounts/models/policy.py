"""What each role may see of personal fields, how much it may browse, and how its sessions live.

One row per role, edited by administrators on the access policy page. A missing row means the
defaults below (``DEFAULT_POLICIES``), so a new installation is safe before anyone edits it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from registru.accounts.roles import Role


class Visibility(models.TextChoices):
    """How a role sees one class of personal fields. Lists are masked whatever this says."""

    MASKED = "masked", _("masked, cannot be revealed")
    REVEAL = "reveal", _("masked, revealed on request with a reason")
    CLEAR = "clear", _("shown on detail pages and in the API")


class RolePolicy(models.Model):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, unique=True)
    contact = models.CharField(_("contact fields"), max_length=10, choices=Visibility.choices)
    sensitive = models.CharField(_("sensitive fields"), max_length=10, choices=Visibility.choices)
    views_per_hour_soft = models.PositiveIntegerField(_("people per hour before the DPO is alerted"))
    views_per_hour_hard = models.PositiveIntegerField(_("people per hour before viewing is blocked"))
    views_per_day_soft = models.PositiveIntegerField(_("people per day before the DPO is alerted"))
    views_per_day_hard = models.PositiveIntegerField(_("people per day before viewing is blocked"))
    idle_minutes = models.PositiveIntegerField(_("idle timeout (minutes)"))
    session_hours = models.PositiveIntegerField(_("absolute session timeout (hours)"))
    require_two_factor = models.BooleanField(_("two-factor authentication required"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role"]
        verbose_name = _("role policy")
        verbose_name_plural = _("role policies")

    def __str__(self) -> str:
        return str(Role(self.role).label)


def _policy(  # noqa: PLR0917 - a table of defaults reads best as positional rows
    role: Role, contact: Visibility, sensitive: Visibility, hour: tuple[int, int], day: tuple[int, int],
    idle: int, hours: int,
) -> RolePolicy:  # fmt: skip
    return RolePolicy(
        role=role, contact=contact, sensitive=sensitive,
        views_per_hour_soft=hour[0], views_per_hour_hard=hour[1],
        views_per_day_soft=day[0], views_per_day_hard=day[1],
        idle_minutes=idle, session_hours=hours,
    )  # fmt: skip


V = Visibility
# Agents phone their customers, so contact data is in clear on their records; birth dates are
# not needed for selling. The budgets let a full working day of normal use through (a list
# page is 25 people) and stop a script paging through the whole base.
DEFAULT_POLICIES: dict[str, RolePolicy] = {
    Role.ADMINISTRATOR: _policy(Role.ADMINISTRATOR, V.REVEAL, V.MASKED, (300, 600), (1000, 2000), 30, 8),
    Role.DPO: _policy(Role.DPO, V.CLEAR, V.REVEAL, (500, 1000), (2000, 4000), 30, 8),
    Role.MANAGER: _policy(Role.MANAGER, V.CLEAR, V.REVEAL, (300, 600), (1000, 2000), 60, 10),
    Role.AGENT: _policy(Role.AGENT, V.CLEAR, V.MASKED, (150, 300), (500, 1000), 60, 10),
    Role.MARKETING: _policy(Role.MARKETING, V.MASKED, V.MASKED, (100, 200), (300, 600), 60, 10),
    Role.AUDITOR: _policy(Role.AUDITOR, V.MASKED, V.MASKED, (100, 200), (300, 600), 30, 8),
}
