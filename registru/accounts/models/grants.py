"""Access requests: the procedure by which a user gets a record outside their scope.

A request names one person or one organization, the access (view, or view and change), a
reason and a duration. The record's owner or a manager decides; an approved request is the
grant, active until ``expires_at`` or until revoked, and ``restrict()`` counts it only then.

The requester cannot see the record, so they name it by something they know (a CUI, an email
address, a phone number). When nothing matches, the request is kept all the same, with no
record, so that the requester's pages look exactly as for a match; nobody can decide it, and
it lapses as refused at ``settle_after``, seven days after filing like every request (see
``accounts.grants``). Such a request can never be approved.

The requester reads a request through ``shown_status``: an approval at once, a refusal by a
decider only from ``settle_after`` on (until then it reads as waiting, as an unmatched request
does). The deciders read the true status (``decider_status``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class GrantAccess(models.TextChoices):
    VIEW = "view", _("view")
    CHANGE = "change", _("view and change")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a decision")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    WITHDRAWN = "withdrawn", _("withdrawn by the requester")
    REVOKED = "revoked", _("revoked")


class IdentifiedBy(models.TextChoices):
    """What the requester named the record by."""

    CUI = "cui", _("tax id (CUI) of an organization")
    EMAIL = "email", _("email address of a person")
    PHONE = "phone", _("phone number of a person")


class AccessRequestQuerySet(models.QuerySet["AccessRequest"]):
    def active(self) -> AccessRequestQuerySet:
        """Grants in force now: approved, not revoked, not past their end."""
        return self.filter(status=RequestStatus.APPROVED, expires_at__gt=timezone.now())

    def open(self) -> AccessRequestQuerySet:
        """Requests still waiting for a decision: pending and not yet lapsed."""
        return self.filter(status=RequestStatus.PENDING, settle_after__gt=timezone.now())

    def shown_waiting(self) -> AccessRequestQuerySet:
        """Requests that read as waiting to their requester: open ones, and those a decider
        refused whose refusal is not shown yet (``settle_after`` still ahead)."""
        waiting = [RequestStatus.PENDING, RequestStatus.REFUSED]
        return self.filter(status__in=waiting, settle_after__gt=timezone.now())


class AccessRequest(models.Model):
    """One user's request for one record (or for an identifier that matched none), and, once
    approved, their grant."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests")
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="access_requests"
    )
    organization = models.ForeignKey(
        "people.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="access_requests"
    )
    identified_by = models.CharField(
        _("identified by"), max_length=10, choices=IdentifiedBy.choices, blank=True, default=""
    )
    # What the requester typed, masked (``a***@firma.ro``): enough for them to recognise their
    # request, too little to be a copy of a contact detail.
    identifier_hint = models.CharField(_("record"), max_length=120, blank=True, default="")
    # HMAC of the normalised identifier: the same record asked for twice is one request.
    identifier_digest = models.CharField(max_length=64, blank=True, default="")
    access = models.CharField(_("access"), max_length=10, choices=GrantAccess.choices, default=GrantAccess.VIEW)
    reason = models.CharField(_("reason"), max_length=500)
    days = models.PositiveSmallIntegerField(_("for how many days"))
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note on the decision"), max_length=500, blank=True)
    expires_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # Shown to the requester and the deciders on the request's page (it is in the trail too).
    revocation_reason = models.CharField(_("reason for the revocation"), max_length=500, blank=True)
    # Seven days after filing, for every request. A request still pending then has lapsed: it
    # reads as refused at once, and the periodic settlement records it so (event and notice).
    # A refusal by a decider is shown to the requester (and notified) only from then on.
    settle_after = models.DateTimeField(_("waits until"), null=True, blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=True) | Q(organization__isnull=True),
                name="access_request_at_most_one_record",
            ),
            # A grant always names exactly one record: a request that matched nothing is only
            # ever pending, refused or withdrawn.
            models.CheckConstraint(
                condition=Q(person__isnull=False)
                | Q(organization__isnull=False)
                | Q(status__in=[RequestStatus.PENDING, RequestStatus.REFUSED, RequestStatus.WITHDRAWN]),
                name="access_request_grant_has_record",
            ),
        ]
        indexes = [models.Index(fields=["requester", "status", "expires_at"], name="access_grant_active_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"

    @property
    def is_active(self) -> bool:
        return (
            self.status == RequestStatus.APPROVED and self.expires_at is not None and self.expires_at > timezone.now()
        )

    @property
    def is_waiting(self) -> bool:
        """Pending and not lapsed: it can still be decided."""
        return (
            self.status == RequestStatus.PENDING
            and self.settle_after is not None
            and self.settle_after > timezone.now()
        )

    @property
    def is_settled(self) -> bool:
        """``settle_after`` has passed: whatever is refused, lapsed or not, reads as refused."""
        return self.settle_after is None or self.settle_after <= timezone.now()

    @property
    def reads_as_waiting(self) -> bool:
        """What the requester sees as waiting (and may withdraw): a pending request not yet
        lapsed, or one a decider refused before ``settle_after``."""
        return self.status in (RequestStatus.PENDING, RequestStatus.REFUSED) and not self.is_settled

    @property
    def decision_shown(self) -> bool:
        """Whether the requester may read the decision (its note): an approval at once, a
        refusal from ``settle_after`` on, nothing else."""
        if self.status in (RequestStatus.APPROVED, RequestStatus.REVOKED):
            return True
        return self.status == RequestStatus.REFUSED and self.is_settled

    @property
    def shown_status(self) -> str:
        """The status as the requester reads it: a refusal (by a decider, or a lapse) only
        from ``settle_after`` on, waiting until then; an approval past its end has expired."""
        if self.reads_as_waiting:
            return str(RequestStatus.PENDING.label)
        if self.status == RequestStatus.WITHDRAWN:  # whether or not a decider had refused it
            return str(RequestStatus.WITHDRAWN.label)
        return self.decider_status

    @property
    def decider_status(self) -> str:
        """The true status, for the deciders: a refusal at once, a lapsed request as refused, a
        request withdrawn after a refusal the requester had not seen yet as both."""
        if self.status == RequestStatus.PENDING and not self.is_waiting:
            return str(RequestStatus.REFUSED.label)
        if self.status == RequestStatus.APPROVED and not self.is_active:
            return str(_("expired"))
        if self.status == RequestStatus.WITHDRAWN and self.decided_by_id is not None:
            return str(_("refused, then withdrawn by the requester"))
        return str(self.get_status_display())
