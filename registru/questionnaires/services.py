"""Data-update questionnaires: saving them, the clock that asks who is due (requests, reminders,
expiry and "stale"), the person's answer, and the review of the changes they propose.

The clock is idempotent: a questionnaire's row is locked while its due people get their
requests, a person never has two open requests of one questionnaire (a unique index), and
messages are queued under keys made of the request and the step; running it twice, or from two
workers at once, sends nothing twice.

The messages are service messages, not marketing: they ask people to keep the data a company
holds about them accurate (GDPR Art. 5(1)(d) and Art. 16), on the lawful basis the data is held
on; the send gate still refuses restricted, erased and archived people.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.audit.actions import AuditAction as A
from registru.audit.services import Draft, record, record_many
from registru.core.actors import SubjectActor, SystemActor, actor_identity
from registru.core.context import Channel, audit_context, current_context, service_scope
from registru.core.errors import NotInScopeError
from registru.core.scopes import Action, restrict
from registru.core.services import service
from registru.mail.gate import Verdict
from registru.mail.letters import personal
from registru.mail.models import MessageKind, OutboundMessage
from registru.mail.services import Letter, queue_letters
from registru.people import services as people
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.people.validation import clean_input
from registru.portal import links
from registru.questionnaires.fields import (
    BY_CODE,
    LABELS,
    REVIEW_ONLY,
    as_text,
    asked_fields,
    current_values,
    from_text,
)
from registru.questionnaires.models import (
    Answer,
    Proposal,
    ProposalStatus,
    Question,
    QuestionKind,
    Questionnaire,
    Request,
    RequestStatus,
    Response,
    Schedule,
)
from registru.vault import services as vault

logger = logging.getLogger(__name__)
CLOCK = SystemActor("questionnaires")
CHUNK = 500
KEY_PREFIX = "questionnaire:"
EDITABLE = (
    "name", "fields", "intro_ro", "intro_en", "subject_ro", "body_ro", "subject_en", "body_en", "every_months",
    "audience", "review", "reminders", "reminder_days", "valid_days", "active", "schedule", "next_round_at",
)  # fmt: skip


def subject_actor(questionnaire: Questionnaire) -> SubjectActor:
    return SubjectActor(label=f"data subject via questionnaire #{questionnaire.pk}")


# Saving ------------------------------------------------------------------------------------


def _errors(values: dict[str, Any], questions: list[dict[str, Any]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    unknown = [code for code in values.get("fields", []) if code not in BY_CODE]
    if unknown or not values.get("fields"):
        errors["fields"] = [_("Choose what people are asked to confirm.")]
    if values.get("schedule") == Schedule.ROUNDS and not values.get("next_round_at"):
        errors["next_round_at"] = [_("Rounds need the date the first one starts.")]
    for index, question in enumerate(questions):
        kind = question.get("kind")
        if kind in (QuestionKind.CHOICE, QuestionKind.MULTIPLE) and len(question.get("options", [])) < 2:
            errors.setdefault("questions", []).append(
                _("Question %(number)d needs at least two options.") % {"number": index + 1}
            )
    return errors


@service
def save_questionnaire(
    questionnaire: Questionnaire | None, values: dict[str, Any], questions: list[dict[str, Any]], *, actor: Any
) -> Questionnaire:
    """Create or change a questionnaire. Its extra questions are fixed once someone answered."""
    errors = _errors(values, questions)
    if errors:
        raise ValidationError(errors)
    wanted = {name: values[name] for name in EDITABLE if name in values}
    if questionnaire is None:
        questionnaire = Questionnaire.objects.create(created_by=actor if getattr(actor, "pk", None) else None, **wanted)
        changes = {"name": (None, questionnaire.name)}
    else:
        changes = {name: (getattr(questionnaire, name), value) for name, value in wanted.items()
                   if getattr(questionnaire, name) != value}  # fmt: skip
        Questionnaire.objects.filter(pk=questionnaire.pk).update(**wanted, version=questionnaire.version + 1)
        questionnaire.refresh_from_db()
    _replace_questions(questionnaire, questions)
    record(A.QUESTIONNAIRE_SAVED, actor=actor, target=questionnaire, changes=changes)
    return questionnaire


def _replace_questions(questionnaire: Questionnaire, questions: list[dict[str, Any]]) -> None:
    current = [
        (q.kind, q.label_ro, q.label_en, q.options, q.required) for q in questionnaire.questions.order_by("position")
    ]
    wanted = [(q["kind"], q["label_ro"], q["label_en"], q.get("options", []), q.get("required", False))
              for q in questions]  # fmt: skip
    if current == wanted:
        return
    if Answer.objects.filter(question__questionnaire=questionnaire).exists():
        raise ValidationError({"questions": [_("People have answered these questions: they can no longer change. "
                                               "Make a new questionnaire for new questions.")]})  # fmt: skip
    questionnaire.questions.all().delete()
    Question.objects.bulk_create(
        Question(questionnaire=questionnaire, position=index, kind=kind, label_ro=label_ro, label_en=label_en,
                 options=options, required=required)
        for index, (kind, label_ro, label_en, options, required) in enumerate(wanted)
    )  # fmt: skip


# The clock ---------------------------------------------------------------------------------


@dataclass
class Run:
    sent: int = 0
    reminded: int = 0
    expired: int = 0


def _interval(questionnaire: Questionnaire) -> timedelta:
    return timedelta(days=round(30.44 * max(questionnaire.every_months, 1)))


def due_people(questionnaire: Questionnaire, now: datetime) -> QuerySet[Person]:
    """Who should be asked now: active people with an email, in the audience, and

    - every N months since verified: whose data was last confirmed longer ago than that (or
      never), and who were not asked by this questionnaire within it either;
    - in rounds: once a round has started, everyone not yet asked in it.
    """
    people_due = Person.objects.filter(
        status=PersonStatus.ACTIVE, archived_at__isnull=True, merged_into__isnull=True
    ).exclude(emails=[])
    if questionnaire.schedule == Schedule.ROUNDS:
        round_start = questionnaire.next_round_at
        if round_start is None or round_start > now:
            return people_due.none()
        since = round_start
    else:
        since = now - _interval(questionnaire)
        people_due = people_due.filter(Q(last_verified_at__isnull=True) | Q(last_verified_at__lt=since))
    asked_lately = Request.objects.filter(questionnaire=questionnaire, person=OuterRef("pk")).filter(
        Q(created_at__gte=since) | Q(status=RequestStatus.OPEN)
    )
    people_due = people_due.exclude(Exists(asked_lately))
    audience = questionnaire.audience or {}
    if audience.get("language"):
        people_due = people_due.filter(preferred_language=audience["language"])
    if audience.get("organization_status"):
        from registru.people.scopes import current_affiliations

        employed = current_affiliations().filter(organization__status=audience["organization_status"])
        people_due = people_due.filter(pk__in=employed.values("person_id"))
    return people_due.order_by("pk")


def run(now: datetime | None = None) -> Run:
    """One tick of every active questionnaire (the periodic task, or "Send to who is due")."""
    now = now or timezone.now()
    report = Run()
    for questionnaire in Questionnaire.objects.order_by("pk"):
        try:
            if questionnaire.active:
                report.sent += _ask_due(questionnaire, now)
                report.reminded += _remind(questionnaire, now)
            report.expired += _expire(questionnaire, now)
        except Exception:
            logger.exception("questionnaire %s: its periodic step failed", questionnaire.pk)
    return report


def _ask_due(questionnaire: Questionnaire, now: datetime) -> int:
    sent = 0
    while True:
        with transaction.atomic(), service_scope():
            locked = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
            if not locked.active:
                return sent
            batch = list(due_people(locked, now)[:CHUNK])
            if not batch:
                _close_round(locked, now)
                return sent
            requests = Request.objects.bulk_create(
                Request(questionnaire=locked, person=person, language=person.preferred_language, created_at=now,
                        expires_at=now + timedelta(days=locked.valid_days),
                        nonce_digest=links.questionnaire_digest(locked.pk, person.pk, now))
                for person in batch
            )  # fmt: skip
            queue_letters([_letter(locked, request, "request") for request in requests], actor=CLOCK)
            record_many([Draft(A.QUESTIONNAIRE_SENT, request, subject_id=request.person_id) for request in requests],
                        actor=CLOCK)  # fmt: skip
            sent += len(requests)


def _close_round(questionnaire: Questionnaire, now: datetime) -> None:
    """Everyone of a started round has been asked: the next round starts N months later."""
    start = questionnaire.next_round_at
    if questionnaire.schedule != Schedule.ROUNDS or start is None or start > now:
        return
    while start <= now:
        start += _interval(questionnaire)
    Questionnaire.objects.filter(pk=questionnaire.pk).update(next_round_at=start)


def _letter(questionnaire: Questionnaire, request: Request, step: str) -> Letter:
    person = request.person
    link = links.questionnaire_url(request.pk, person.pk, questionnaire.pk, request.created_at)
    language = request.language
    subject, body = personal(
        questionnaire.text("subject", language), questionnaire.text("body", language), language=language,
        given_name=person.given_name, link=link, reminder=step != "request",
    )  # fmt: skip
    return Letter(
        key=f"{KEY_PREFIX}{questionnaire.pk}:request:{request.pk}:{step}", person=person,
        recipient=person.primary_email, subject=subject, body=body, kind=MessageKind.SERVICE,
    )  # fmt: skip


def _remind(questionnaire: Questionnaire, now: datetime) -> int:
    reminded = 0
    for already in range(questionnaire.reminders):
        due = questionnaire.requests.filter(
            status=RequestStatus.OPEN, reminders_sent=already, expires_at__gt=now,
            created_at__lte=now - timedelta(days=questionnaire.reminder_days * (already + 1)),
        ).select_related("person")  # fmt: skip
        while batch := list(due[:CHUNK]):
            with transaction.atomic(), service_scope():
                queue_letters([_letter(questionnaire, r, f"reminder-{already + 1}") for r in batch], actor=CLOCK)
                Request.objects.filter(pk__in=[r.pk for r in batch], reminders_sent=already).update(
                    reminders_sent=already + 1
                )
            reminded += len(batch)
    return reminded


def _expire(questionnaire: Questionnaire, now: datetime) -> int:
    """Requests nobody answered after every reminder: closed, and the person marked stale."""
    expired = 0
    lapsed = questionnaire.requests.filter(status=RequestStatus.OPEN, expires_at__lte=now).select_related("person")
    while batch := list(lapsed[:CHUNK]):
        for request in batch:
            with transaction.atomic(), service_scope():
                if not Request.objects.filter(pk=request.pk, status=RequestStatus.OPEN).update(
                    status=RequestStatus.EXPIRED
                ):
                    continue
                record(A.QUESTIONNAIRE_EXPIRED, actor=CLOCK, target=request, subject_id=request.person_id,
                       changes={"status": (RequestStatus.OPEN.value, RequestStatus.EXPIRED.value)})  # fmt: skip
                if request.person.status == PersonStatus.ACTIVE:
                    people.mark_person_stale(request.person, actor=CLOCK,
                                             reason=f"questionnaire #{questionnaire.pk} unanswered")  # fmt: skip
            expired += 1
    return expired


# What other apps ask -----------------------------------------------------------------------


def request_of(message: OutboundMessage) -> int | None:
    """The request a message belongs to, read from its key (None for other service messages)."""
    if not message.idempotency_key.startswith(KEY_PREFIX):
        return None
    try:
        return int(message.idempotency_key.split(":")[3])
    except (IndexError, ValueError):
        return None


def request_verdicts(messages: Sequence[OutboundMessage]) -> list[Verdict]:
    """The send gate's question for service messages: is each one's questionnaire request still
    open? (Service messages of other kinds may go.)"""
    ids = [request_of(message) for message in messages]
    requests = Request.objects.in_bulk([pk for pk in ids if pk is not None])
    now = timezone.now()
    return [_request_verdict(request_id, requests, now) for request_id in ids]


def _request_verdict(request_id: int | None, requests: dict[int, Request], now: datetime) -> Verdict:
    if request_id is None:
        return Verdict(allowed=True)
    request = requests.get(request_id)
    if request is None or request.status != RequestStatus.OPEN:
        return Verdict(allowed=False, reason=f"the questionnaire request is {request.status if request else 'gone'}")
    if request.expires_at <= now:
        return Verdict(allowed=False, reason="the questionnaire request has expired")
    return Verdict(allowed=True)


def close_requests_of(person: Person) -> int:
    return Request.objects.filter(person=person, status=RequestStatus.OPEN).update(status=RequestStatus.CANCELLED)


# The person's answer -----------------------------------------------------------------------


class AlreadyAnsweredError(Exception):
    pass


@dataclass(frozen=True)
class Submission:
    """What the public page received, parsed: the texts of the person fields shown, and the
    answers to the extra questions (already checked by the page's form)."""

    texts: dict[str, str]
    answers: dict[int, Any]
    confirm_all: bool


def proposed_changes(request: Request, texts: dict[str, str]) -> dict[str, tuple[Any, Any]]:
    """``{field: (current, new)}`` for the fields whose text the person changed, validated and
    normalised as the staff forms do. Raises ``ValidationError`` naming the bad fields."""
    names = asked_fields(request.questionnaire.fields)
    current = current_values(request.person, names)
    touched = {
        name: texts[name]
        for name in names
        if name in texts and texts[name].strip() != as_text(name, current[name]).strip()
    }
    person_fields = {name: value for name, value in touched.items() if name not in REVIEW_ONLY}
    cleaned = clean_input(Person, {name: from_text(name, value) for name, value in person_fields.items()},
                          instance=request.person)  # fmt: skip
    changes = {name: (current[name], value) for name, value in cleaned.items() if value != current[name]}
    for name in REVIEW_ONLY & touched.keys():
        changes[name] = (current[name], touched[name].strip()[:300])
    return changes


@service
def submit(request: Request, submission: Submission, *, actor: Any, evidence: Any) -> Response:
    """Record the person's answer: confirmed as is, or corrections that apply at once or wait for
    review, as the questionnaire says. ``last_verified_at`` moves in both cases. Only the first
    submit counts."""
    questionnaire = request.questionnaire
    person = Person.objects.get(pk=request.person_id)
    request.person = person
    changes = {} if submission.confirm_all else proposed_changes(request, submission.texts)
    now = timezone.now()
    if not Request.objects.filter(pk=request.pk, status=RequestStatus.OPEN).update(
        status=RequestStatus.ANSWERED, answered_at=now
    ):
        raise AlreadyAnsweredError
    stored = {key: value for key, value in {"ip": evidence.ip, "user_agent": evidence.user_agent}.items() if value}
    response = Response.objects.create(
        request=request, person=person, submitted_at=now, confirmed_as_is=not changes,
        evidence=vault.encrypt(person.pk, "questionnaire_evidence", stored) if stored else {},
    )  # fmt: skip
    for question_id, value in submission.answers.items():
        Answer.objects.create(response=response, person=person, question_id=question_id,
                              value=vault.encrypt(person.pk, "survey_answer", value))  # fmt: skip
    proposals = [
        Proposal.objects.create(
            response=response,
            person=person,
            field=name,
            old=vault.encrypt(person.pk, f"proposal.{name}", old),
            new=vault.encrypt(person.pk, f"proposal.{name}", new),
        )
        for name, (old, new) in changes.items()
    ]
    answered: dict[str, tuple[Any, Any]] = {
        "corrected": (None, sorted(changes)), "answers": (None, len(submission.answers)),
    }  # fmt: skip
    # What the person wrote in their own words is part of what they told us: it is kept in the
    # trail (encrypted under their key, as every value of theirs), the choices only counted.
    if texts := free_texts(questionnaire, submission.answers, request.language):
        answered["free_text"] = (None, texts)
    record(A.QUESTIONNAIRE_ANSWERED, actor=actor, target=response, subject_id=person.pk, changes=answered)
    if not questionnaire.review:
        _apply_at_once(person, proposals, changes, actor)
    people.confirm_person(Person.objects.get(pk=person.pk), actor=actor,
                          reason=f"questionnaire #{questionnaire.pk}")  # fmt: skip
    return response


def free_texts(questionnaire: Questionnaire, answers: dict[int, Any], language: str) -> dict[str, str]:
    """The answers to the questionnaire's free-text questions, by the question as the person read it."""
    questions = {question.pk: question for question in questionnaire.questions.filter(kind=QuestionKind.TEXT)}
    return {
        questions[question_id].label(language): str(value)
        for question_id, value in answers.items()
        if question_id in questions and value not in (None, "")
    }


def _apply_at_once(person: Person, proposals: list[Proposal], changes: dict[str, Any], actor: Any) -> None:
    direct = {name: new for name, (_old, new) in changes.items() if name not in REVIEW_ONLY}
    if direct:
        people.update_person(person, direct, actor=actor, reason="corrected by the person")
    now = timezone.now()
    Proposal.objects.filter(pk__in=[p.pk for p in proposals if p.field not in REVIEW_ONLY]).update(
        status=ProposalStatus.APPLIED, decided_at=now
    )


@service
def mark_opened(request: Request, *, actor: Any) -> None:
    Request.objects.filter(pk=request.pk, opened_at__isnull=True).update(opened_at=timezone.now())


# Review ------------------------------------------------------------------------------------


def proposal_values(proposal: Proposal) -> tuple[Any, Any]:
    key = vault.data_key(proposal.person_id)
    name = f"proposal.{proposal.field}"
    return (vault.decrypt(proposal.person_id, name, proposal.old, key),
            vault.decrypt(proposal.person_id, name, proposal.new, key))  # fmt: skip


def reviewable(user: Any) -> QuerySet[Proposal]:
    """Pending proposals about people the user may change (the owner, the team's manager, the
    DPO): the review queue."""
    return Proposal.objects.filter(
        status=ProposalStatus.PENDING, person__in=restrict(user, Person, Action.CHANGE)
    ).select_related("person", "response__request__questionnaire")


@service
def decide_proposal(proposal: Proposal, *, accept: bool, reason: str, actor: Any) -> Proposal:
    """Accept (the change is applied through the people services, in the person's name) or
    reject (a reason is required). Only someone who may change the person decides."""
    locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if not reviewable(actor).filter(pk=locked.pk).exists():
        raise NotInScopeError(f"proposal {proposal.pk} is not in the actor's review queue")
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError({"reason": [_("Say why the change is rejected.")]})
    person = Person.objects.get(pk=locked.person_id)
    questionnaire = locked.response.request.questionnaire
    if accept and locked.field not in REVIEW_ONLY:
        old, new = proposal_values(locked)
        if current_values(person, [locked.field])[locked.field] != old:
            raise ValidationError({"reason": [_("The field has changed since the person answered: "
                                                "reject this proposal or update the person by hand.")]})  # fmt: skip
        label = actor_identity(actor)[1]
        # The change is the person's own, made through the portal; the reviewer's decision is
        # its own event below.
        with audit_context(Channel.PORTAL, current_context().request_id):
            people.update_person(person, {locked.field: new}, actor=subject_actor(questionnaire),
                                 reason=f"accepted by {label}")  # fmt: skip
    Proposal.objects.filter(pk=locked.pk).update(
        status=ProposalStatus.APPLIED if accept else ProposalStatus.REJECTED,
        decided_by=actor if getattr(actor, "pk", None) else None, decided_at=timezone.now(), reason=reason[:500],
    )  # fmt: skip
    record(A.PROPOSAL_ACCEPTED if accept else A.PROPOSAL_REJECTED, actor=actor, target=locked,
           subject_id=person.pk, changes={"field": (None, str(LABELS.get(locked.field, locked.field)))},
           reason=reason)  # fmt: skip
    locked.refresh_from_db()
    return locked
