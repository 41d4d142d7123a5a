"""Data-update questionnaires: what people are asked to confirm or correct, and how often; each
person's request (a single-use link), their response, the changes they propose, and their
answers to extra questions."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registru.core.models import GuardedModel
from registru.core.pii import PIIClass
from registru.people.models import Person

N = PIIClass.NONE


class QuestionKind(models.TextChoices):
    TEXT = "text", _("text")
    CHOICE = "choice", _("one choice")
    MULTIPLE = "multiple", _("several choices")
    YES_NO = "yes_no", _("yes or no")
    DATE = "date", _("date")


class Schedule(models.TextChoices):
    SINCE_VERIFIED = "since_verified", _("every N months since the person last confirmed their data")
    ROUNDS = "rounds", _("in rounds: everyone in the audience, from a date, every N months")


class Questionnaire(models.Model):
    """What to ask, whom, and how often. Its texts are staff's, not personal data."""

    name = models.CharField(_("name"), max_length=150)
    fields = models.JSONField(_("data to confirm"), default=list)
    intro_ro = models.TextField(_("introduction (Romanian)"))
    intro_en = models.TextField(_("introduction (English)"))
    subject_ro = models.CharField(_("subject (Romanian)"), max_length=200)
    body_ro = models.TextField(_("message (Romanian)"))
    subject_en = models.CharField(_("subject (English)"), max_length=200)
    body_en = models.TextField(_("message (English)"))
    every_months = models.PositiveSmallIntegerField(_("every (months)"), default=12)
    schedule = models.CharField(_("schedule"), max_length=16, choices=Schedule.choices, default=Schedule.SINCE_VERIFIED)
    # For rounds: when the next round starts (then moves on by ``every_months``).
    next_round_at = models.DateTimeField(_("next round starts"), null=True, blank=True)
    audience = models.JSONField(_("audience"), default=dict)
    review = models.BooleanField(_("corrections are reviewed before they apply"), default=True)
    reminders = models.PositiveSmallIntegerField(_("reminders"), default=2)
    reminder_days = models.PositiveSmallIntegerField(_("days between reminders"), default=7)
    valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=30)
    active = models.BooleanField(_("active"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")

    def __str__(self) -> str:
        return self.name

    def text(self, name: str, language: str) -> str:
        return str(getattr(self, f"{name}_en" if language == "en" else f"{name}_ro"))


class Question(models.Model):
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices)
    label_ro = models.CharField(_("question (Romanian)"), max_length=300)
    label_en = models.CharField(_("question (English)"), max_length=300)
    # For choices: [{"ro": ..., "en": ...}, ...]; the answer stores the option's index.
    options = models.JSONField(default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label_ro

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_ro

    def option_labels(self, language: str) -> list[str]:
        if self.kind == QuestionKind.YES_NO:
            return [str(_("Yes")), str(_("No"))]
        return [option.get(language) or option.get("ro", "") for option in self.options]


class RequestStatus(models.TextChoices):
    OPEN = "open", _("sent, waiting for an answer")
    ANSWERED = "answered", _("answered")
    EXPIRED = "expired", _("expired unanswered")
    CANCELLED = "cancelled", _("cancelled")


class Request(GuardedModel):
    """One person asked once; the link's nonce is kept only as its hash."""

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="requests")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="questionnaire_requests")
    nonce_digest = models.CharField(max_length=64)
    language = models.CharField(max_length=8)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "questionnaire": N, "person": N, "nonce_digest": N, "language": N, "status": N,
        "reminders_sent": N, "created_at": N, "expires_at": N, "opened_at": N, "answered_at": N,
    }  # fmt: skip

    class Meta:
        ordering = ["id"]
        constraints = [
            # Never two open requests of one questionnaire for one person, whoever runs the clock.
            models.UniqueConstraint(
                fields=["questionnaire", "person"], condition=Q(status="open"), name="one_open_request"
            )
        ]
        indexes = [models.Index(fields=["questionnaire", "status"], name="request_progress_idx")]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.status})"


class Response(GuardedModel):
    """What the person submitted: confirmed as is, or corrections (see ``Proposal``)."""

    request = models.OneToOneField(Request, on_delete=models.PROTECT, related_name="response")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    confirmed_as_is = models.BooleanField(default=False)
    evidence = models.JSONField(default=dict, blank=True)  # IP and browser, encrypted (vault)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "request": N, "person": N, "submitted_at": N, "confirmed_as_is": N,
        "evidence": PIIClass.CONTACT,
    }  # fmt: skip

    def __str__(self) -> str:
        return f"response {self.pk}"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("waiting for review")
    APPLIED = "applied", _("applied")
    REJECTED = "rejected", _("rejected")


class Proposal(GuardedModel):
    """One field the person corrected: the value they saw and the one they gave, encrypted under
    their key until applied or rejected."""

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="proposals")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(max_length=40)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "response": N, "person": N, "field": N, "old": PIIClass.CONTACT, "new": PIIClass.CONTACT,
        "status": N, "decided_by": N, "decided_at": N, "reason": N,
    }  # fmt: skip

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"], name="proposal_queue_idx")]

    def __str__(self) -> str:
        return f"proposal {self.pk} ({self.field}, {self.status})"


class Answer(GuardedModel):
    """The person's answer to an extra question (a survey answer kept on the person)."""

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="answers")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="survey_answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    value = models.JSONField(null=True, blank=True)  # encrypted (vault)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "response": N, "person": N, "question": N, "value": PIIClass.SENSITIVE,
    }  # fmt: skip

    def __str__(self) -> str:
        return f"answer {self.pk}"
