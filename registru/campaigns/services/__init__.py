"""Running consent campaigns: saving, starting (the audience becomes invitations), the pace of
waves and reminders, pausing, resuming, cancelling, expiry, and a person's answer.

Every step is idempotent, so that the periodic ``advance`` may run twice, or be killed half way,
without sending anything twice: messages are queued under keys made of the campaign, the
invitation and the step, and invitations move from one status to the next with
compare-and-set updates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.campaigns.audience import Audience, asked_pairs, refused_pairs, select
from registru.campaigns.models import (
    OPEN_INVITATIONS,
    WAITING_INVITATIONS,
    Campaign,
    CampaignStatus,
    Invitation,
    InvitationStatus,
    NonResponders,
    Outcome,
)
from registru.consent import services as consent
from registru.consent.choices import ConsentKind, ConsentMethod, ConsentState, ContactChannel
from registru.consent.models import Consent, Notice, Purpose
from registru.core.actors import SystemActor
from registru.core.context import service_scope
from registru.core.services import service
from registru.mail.gate import Verdict
from registru.mail.letters import personal
from registru.mail.models import MessageKind, MessageStatus, OutboundMessage
from registru.mail.services import Letter, queue_letters
from registru.people.choices import Language, PersonStatus
from registru.people.models import Person
from registru.portal import links

logger = logging.getLogger(__name__)
PACER = SystemActor("campaign pacing")
WAVE_INTERVAL = timedelta(hours=1)
CHUNK = 500
EDITABLE = (
    "name", "channels", "audience", "subject_ro", "body_ro", "subject_en", "body_en", "starts_at",
    "wave_size", "reminders", "reminder_days", "valid_days", "non_responders",
)  # fmt: skip


class StaleCampaignError(Exception):
    """The campaign changed since the page was loaded."""


# Saving and the lifecycle ------------------------------------------------------------------


def _validate(values: dict[str, Any], purposes: list[Purpose]) -> None:
    errors: dict[str, list[str]] = {}
    if not purposes:
        errors["purposes"] = [_("Choose at least one purpose.")]
    elif not asked_pairs(purposes, values.get("channels") or []):
        errors["channels"] = [_("None of the chosen purposes uses these channels.")]
    for purpose in purposes:
        if not purpose.active:
            errors.setdefault("purposes", []).append(_("“%(name)s” is no longer in use.") % {"name": purpose.name_ro})
        missing = {Language.ROMANIAN, Language.ENGLISH} - set(purpose.notices.values_list("language", flat=True))
        if missing:
            errors.setdefault("purposes", []).append(
                _("“%(name)s” has no notice in %(languages)s yet.")
                % {"name": purpose.name_ro, "languages": ", ".join(sorted(missing))}
            )
    for field in ("wave_size", "valid_days"):
        if values.get(field) is not None and values[field] < 1:
            errors[field] = [_("Must be at least 1.")]
    if errors:
        raise ValidationError(errors)


@service
def create_campaign(values: dict[str, Any], purposes: list[Purpose], *, actor: Any) -> Campaign:
    _validate(values, purposes)
    campaign = Campaign.objects.create(created_by=actor if getattr(actor, "pk", None) else None, **values)
    campaign.purposes.set(purposes)
    record(A.CAMPAIGN_SAVED, actor=actor, target=campaign, changes={"name": (None, campaign.name)})
    return campaign


@service
def update_campaign(
    campaign: Campaign, values: dict[str, Any], purposes: list[Purpose], *, actor: Any, version: int
) -> Campaign:
    """Change a draft (a started campaign keeps what it promised)."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.version != version:
        raise StaleCampaignError
    if locked.status != CampaignStatus.DRAFT:
        raise ValidationError(_("Only a draft can be changed."))
    _validate(values, purposes)
    changes = {name: (getattr(locked, name), value) for name, value in values.items() if getattr(locked, name) != value}
    for name, value in values.items():
        setattr(locked, name, value)
    locked.version += 1
    locked.save()
    locked.purposes.set(purposes)
    record(A.CAMPAIGN_SAVED, actor=actor, target=locked, changes={k: (str(a), str(b)) for k, (a, b) in changes.items()})
    return locked


def _latest_notices(purposes: Iterable[Purpose]) -> dict[tuple[int, str], Notice]:
    latest: dict[tuple[int, str], Notice] = {}
    for notice in Notice.objects.filter(purpose__in=list(purposes)).order_by("version"):
        latest[(notice.purpose_id, notice.language)] = notice
    return latest


@service
def start_campaign(campaign: Campaign, *, actor: Any) -> int:
    """Turn the audience into invitations, one per person, in waves; the first wave goes at
    ``starts_at``. Returns the number of people invited."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != CampaignStatus.DRAFT:
        raise ValidationError(_("This campaign has already been started."))
    purposes = list(locked.purposes.all())
    _validate({"channels": locked.channels}, purposes)
    # Serialize starts that share a purpose: each sees the other's invitations.
    list(Purpose.objects.select_for_update().filter(pk__in=[purpose.pk for purpose in purposes]))
    pairs = asked_pairs(purposes, locked.channels)
    notices = _latest_notices(purposes)
    people = list(
        select(Audience.load(locked.audience), purposes, locked.channels).values_list("pk", "preferred_language")
    )
    invited = 0
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        refused = refused_pairs([pk for pk, _language in chunk], pairs)
        rows = []
        for offset, (person_id, language) in enumerate(chunk, start=start):
            said_no = refused.get(person_id, set())
            asked = {
                purpose.code: notices[(purpose.pk, language)].pk
                for purpose, channel in pairs
                if (purpose.pk, channel) not in said_no
            }
            rows.append(
                Invitation(
                    campaign=locked,
                    person_id=person_id,
                    wave=offset // max(locked.wave_size, 1),
                    nonce_digest=links.invitation_digest(locked.pk, person_id),
                    notices=asked,
                    language=language,
                )
            )
        Invitation.objects.bulk_create(rows)
        invited += len(rows)
    now = timezone.now()
    locked.status = CampaignStatus.RUNNING
    locked.started_at = now
    locked.next_wave = 0
    locked.next_wave_at = max(locked.starts_at, now)
    locked.version += 1
    locked.save()
    record(A.CAMPAIGN_STARTED, actor=actor, target=locked,
           changes={"status": (CampaignStatus.DRAFT.value, locked.status), "invitations": (None, invited)})  # fmt: skip
    _kick()
    return invited


def _kick() -> None:
    """Queue and deliver the due wave now rather than at the next minute's tick (the task
    runs once the transaction commits)."""
    from registru.campaigns.tasks import advance_now

    advance_now.enqueue()


def _transition(campaign: Campaign, expected: list[str], to: CampaignStatus, action: A, actor: Any) -> Campaign:
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status not in expected:
        raise ValidationError(
            _("A %(status)s campaign cannot be changed that way.") % {"status": locked.get_status_display()}
        )
    old = locked.status
    locked.status = to
    locked.version += 1
    if to in (CampaignStatus.CANCELLED, CampaignStatus.FINISHED):
        locked.finished_at = timezone.now()
    locked.save()
    record(action, actor=actor, target=locked, changes={"status": (old, to.value)})
    return locked


@service
def pause_campaign(campaign: Campaign, *, actor: Any) -> Campaign:
    """Stop sending: no new waves or reminders, and queued messages are held until resumed."""
    paused = _transition(campaign, [CampaignStatus.RUNNING], CampaignStatus.PAUSED, A.CAMPAIGN_PAUSED, actor)
    OutboundMessage.objects.filter(
        campaign_id=paused.pk, status__in=[MessageStatus.QUEUED, MessageStatus.DEFERRED]
    ).update(status=MessageStatus.HELD)
    return paused


@service
def resume_campaign(campaign: Campaign, *, actor: Any) -> Campaign:
    resumed = _transition(campaign, [CampaignStatus.PAUSED], CampaignStatus.RUNNING, A.CAMPAIGN_RESUMED, actor)
    now = timezone.now()
    OutboundMessage.objects.filter(campaign_id=resumed.pk, status=MessageStatus.HELD).update(
        status=MessageStatus.QUEUED, next_attempt_at=now
    )
    # The waves keep their pace from now on, rather than all the missed ones going at once.
    if resumed.next_wave_at is not None and resumed.next_wave_at < now:
        Campaign.objects.filter(pk=resumed.pk).update(next_wave_at=now)
    _kick()
    return resumed


@service
def cancel_campaign(campaign: Campaign, *, actor: Any) -> Campaign:
    """Stop for good: nothing more is sent, and the links already sent close."""
    cancelled = _transition(
        campaign, [CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.DRAFT],
        CampaignStatus.CANCELLED, A.CAMPAIGN_CANCELLED, actor,
    )  # fmt: skip
    OutboundMessage.objects.filter(
        campaign_id=cancelled.pk, status__in=[MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.HELD]
    ).update(status=MessageStatus.BLOCKED, last_error="campaign cancelled", lease_until=None)
    cancelled.invitations.filter(status__in=WAITING_INVITATIONS).update(status=InvitationStatus.CANCELLED)
    return cancelled


# The pace: waves, reminders, expiry ----------------------------------------------------------


@dataclass
class Progress:
    queued: int = 0
    reminded: int = 0
    expired: int = 0
    finished: int = 0


def advance(now: datetime | None = None) -> Progress:
    """One tick of every running campaign (every minute, and right after a start or resume)."""
    now = now or timezone.now()
    progress = Progress()
    for campaign in Campaign.objects.filter(status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED]).order_by("pk"):
        # One campaign that fails must not stop the others' clocks; it is retried next tick.
        try:
            _tick(campaign, now, progress)
        except Exception:
            logger.exception("campaign %s: its periodic step failed", campaign.pk)
    return progress


def _tick(campaign: Campaign, now: datetime, progress: Progress) -> None:
    if campaign.status == CampaignStatus.RUNNING:
        progress.queued += _queue_due_waves(campaign, now)
        progress.reminded += _queue_reminders(campaign, now)
    progress.expired += _expire(campaign, now)
    if campaign.status == CampaignStatus.RUNNING:
        progress.finished += _finish_if_done(campaign)


def _queue_due_waves(campaign: Campaign, now: datetime) -> int:
    queued = 0
    while True:
        with transaction.atomic(), service_scope():
            locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if locked.status != CampaignStatus.RUNNING or locked.next_wave_at is None or locked.next_wave_at > now:
                return queued
            pending = locked.invitations.filter(status=InvitationStatus.PENDING)
            if not pending.exists():
                return queued
            wave = locked.next_wave
            queued += _queue_invitations(locked, pending.filter(wave__lte=wave), now)
            Campaign.objects.filter(pk=locked.pk).update(
                next_wave=wave + 1, next_wave_at=locked.next_wave_at + WAVE_INTERVAL
            )


def _queue_invitations(campaign: Campaign, invitations: Any, now: datetime) -> int:
    total = 0
    while True:
        batch = list(invitations.filter(status=InvitationStatus.PENDING).select_related("person")[:CHUNK])
        if not batch:
            return total
        letters = [_invitation_letter(campaign, invitation, step="invitation") for invitation in batch]
        queue_letters(letters, actor=PACER)
        Invitation.objects.filter(pk__in=[i.pk for i in batch], status=InvitationStatus.PENDING).update(
            status=InvitationStatus.QUEUED
        )
        total += len(batch)


def _invitation_letter(campaign: Campaign, invitation: Invitation, *, step: str) -> Letter:
    person = invitation.person
    link = links.invitation_url(invitation.pk, person.pk, campaign.pk, invitation.notices)
    subject, body = personal(
        campaign.subject(invitation.language), campaign.body(invitation.language), language=invitation.language,
        given_name=person.given_name, link=link, reminder=step != "invitation",
    )  # fmt: skip
    return Letter(
        key=f"campaign:{campaign.pk}:invitation:{invitation.pk}:{step}", person=person,
        recipient=person.primary_email, subject=subject, body=body, kind=MessageKind.INVITATION,
        purpose_code=" ".join(sorted(invitation.notices)), campaign_id=campaign.pk, invitation_id=invitation.pk,
    )  # fmt: skip


def _queue_reminders(campaign: Campaign, now: datetime) -> int:
    reminded = 0
    for already in range(campaign.reminders):
        due = campaign.invitations.filter(
            status__in=[InvitationStatus.SENT, InvitationStatus.OPENED], reminders_sent=already,
            sent_at__lte=now - timedelta(days=campaign.reminder_days * (already + 1)), expires_at__gt=now,
        ).select_related("person")  # fmt: skip
        while batch := list(due[:CHUNK]):
            with transaction.atomic(), service_scope():
                letters = [_invitation_letter(campaign, i, step=f"reminder-{already + 1}") for i in batch]
                queue_letters(letters, actor=PACER)
                Invitation.objects.filter(pk__in=[i.pk for i in batch], reminders_sent=already).update(
                    reminders_sent=already + 1
                )
            reminded += len(batch)
    return reminded


def _expire(campaign: Campaign, now: datetime) -> int:
    """Close the invitations nobody answered in time; record "no consent" if the campaign says so.
    The time runs from when the invitation was sent: one still queued (held by a pause, deferred
    by the mail server) has not been seen, so it does not lapse."""
    expired = 0
    lapsed = campaign.invitations.filter(
        status__in=[InvitationStatus.SENT, InvitationStatus.OPENED], expires_at__lte=now
    ).select_related("person")
    while batch := list(lapsed[:CHUNK]):
        for invitation in batch:
            with transaction.atomic(), service_scope():
                if not Invitation.objects.filter(pk=invitation.pk, status=invitation.status).update(
                    status=InvitationStatus.EXPIRED
                ):
                    continue
                record(A.INVITATION_EXPIRED, actor=PACER, target=invitation, subject_id=invitation.person_id,
                       changes={"status": (invitation.status, InvitationStatus.EXPIRED.value)})  # fmt: skip
                if campaign.non_responders == NonResponders.REFUSE:
                    _record_no_answer(campaign, invitation)
            expired += 1
    return expired


def _record_no_answer(campaign: Campaign, invitation: Invitation) -> None:
    """ "No consent" for each pair asked, but never over a consent valid now (given meanwhile on
    paper or in the preference centre), and nothing for people no longer active."""
    person = invitation.person
    if person.status != PersonStatus.ACTIVE or person.archived_at is not None or person.merged_into_id is not None:
        return
    purposes = {purpose.code: purpose for purpose in campaign.purposes.all()}
    settled = _settled_pairs(person)
    for code in invitation.notices:
        purpose = purposes[code]
        for _purpose, channel in asked_pairs([purpose], campaign.channels):
            if (purpose.pk, channel) in settled:
                continue
            consent.record_consent(
                invitation.person, purpose, channel, ConsentKind.REFUSED, actor=PACER, method=ConsentMethod.SYSTEM,
                campaign_id=campaign.pk, invitation_id=invitation.pk,
            )  # fmt: skip


def _settled_pairs(person: Person) -> set[tuple[int, str]]:
    """Pairs a refusal must not be recorded over: already refused or withdrawn, or granted and
    valid now."""
    now = timezone.now()
    settled = set()
    for row in Consent.objects.filter(person=person):
        valid = row.state == ConsentState.GRANTED and (row.expires_at is None or row.expires_at > now)
        if valid or row.state in (ConsentState.REFUSED, ConsentState.WITHDRAWN):
            settled.add((row.purpose_id, row.channel))
    return settled


def _finish_if_done(campaign: Campaign) -> int:
    with transaction.atomic(), service_scope():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if (
            locked.status != CampaignStatus.RUNNING
            or locked.invitations.filter(status__in=WAITING_INVITATIONS).exists()
        ):
            return 0
        _transition(locked, [CampaignStatus.RUNNING], CampaignStatus.FINISHED, A.CAMPAIGN_FINISHED, PACER)
        return 1


def follow_delivery(messages: Sequence[OutboundMessage], status: str) -> None:
    """Move invitations along when their first message is sent, bounces, or is held back."""
    firsts = [m for m in messages if m.idempotency_key.endswith(":invitation")]  # not the reminders
    ids = [m.invitation_id for m in firsts if m.invitation_id is not None]
    if not ids:
        return
    now = timezone.now()
    invitations = Invitation.objects.filter(pk__in=ids)
    if status == MessageStatus.SENT:
        waiting = invitations.filter(status=InvitationStatus.QUEUED)
        # Usually one campaign, so one update: the invitation is valid from the day it is sent.
        by_validity: dict[int, list[int]] = {}
        for pk, valid_days in waiting.values_list("pk", "campaign__valid_days"):
            by_validity.setdefault(valid_days or 30, []).append(pk)
        for valid_days, pks in by_validity.items():
            Invitation.objects.filter(pk__in=pks, status=InvitationStatus.QUEUED).update(
                status=InvitationStatus.SENT, sent_at=now, expires_at=now + timedelta(days=valid_days)
            )
    elif status == MessageStatus.FAILED:
        invitations.filter(status__in=[InvitationStatus.QUEUED, InvitationStatus.SENT]).update(
            status=InvitationStatus.BOUNCED
        )
    elif status == MessageStatus.BLOCKED:
        invitations.filter(status=InvitationStatus.QUEUED).update(status=InvitationStatus.BLOCKED)


# A person's answer --------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One question of an invitation: a purpose on a channel, with the notice the person sees."""

    purpose: Purpose
    channel: str
    notice: Notice

    language: str

    @property
    def field(self) -> str:
        return f"{self.purpose.code}__{self.channel}"

    @property
    def channel_label(self) -> str:
        return str(ContactChannel(self.channel).label)

    @property
    def purpose_name(self) -> str:
        return self.purpose.name(self.language)


def questions(invitation: Invitation) -> list[Asked]:
    """What the invitation asks: its purposes on the campaign's channels, each with the notice it
    was sent with; a purpose retired since (no longer in use) is not asked any more."""
    campaign = invitation.campaign
    purposes = {purpose.code: purpose for purpose in campaign.purposes.all()}
    notices = Notice.objects.in_bulk(list(invitation.notices.values()))
    asked = []
    for code, notice_id in sorted(invitation.notices.items()):
        purpose = purposes[code]
        if not purpose.active:
            continue
        for _purpose, channel in asked_pairs([purpose], campaign.channels):
            asked.append(Asked(purpose, channel, notices[notice_id], invitation.language))
    return asked


@service
def mark_opened(invitation: Invitation, *, actor: Any) -> None:
    """A person used the invitation's page (a tap, a click, a key: the page's script says so),
    counted once for the campaign's progress. Fetching the link is not opening it: mail filters
    fetch every link in a message, before the person sees it."""
    _opened(invitation, actor, timezone.now())


def _opened(invitation: Invitation, actor: Any, now: datetime) -> None:
    if Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=now):
        Invitation.objects.filter(pk=invitation.pk, status__in=[InvitationStatus.QUEUED, InvitationStatus.SENT]).update(
            status=InvitationStatus.OPENED
        )
        invitation.opened_at = now
        record(A.INVITATION_OPENED, actor=actor, target=invitation, subject_id=invitation.person_id)


class AlreadyAnsweredError(Exception):
    pass


@service
def answer_invitation(
    invitation: Invitation, granted: set[str], *, actor: Any, evidence: consent.Evidence
) -> list[Any]:
    """Record the person's choice: a grant for each ticked box, a refusal for each one left
    empty, except where a consent valid now stands (an empty box does not take it back: the
    preference centre and unsubscribe do). Only the first answer counts (a second submit, or a
    replayed link, changes nothing). Answering is opening too, for a browser that ran no script:
    marked here unless the page's script did it first."""
    now = timezone.now()
    _opened(invitation, actor, now)
    claimed = Invitation.objects.filter(pk=invitation.pk, status__in=OPEN_INVITATIONS).update(
        status=InvitationStatus.ANSWERED, answered_at=now, outcome=Outcome.GRANTED if granted else Outcome.REFUSED,
    )  # fmt: skip
    if not claimed:
        raise AlreadyAnsweredError
    events = []
    settled = _settled_pairs(invitation.person)
    for question in questions(invitation):
        kind = ConsentKind.GRANTED if question.field in granted else ConsentKind.REFUSED
        if kind == ConsentKind.REFUSED and (question.purpose.pk, question.channel) in settled:
            continue
        events.append(
            consent.record_consent(
                invitation.person,
                question.purpose,
                question.channel,
                kind,
                actor=actor,
                method=ConsentMethod.DOUBLE_OPT_IN,
                notice=question.notice,
                evidence=evidence,
                campaign_id=invitation.campaign_id,
                invitation_id=invitation.pk,
            )
        )
    return events


# What other apps ask -----------------------------------------------------------------------


def invitation_verdicts(messages: Sequence[OutboundMessage]) -> list[Verdict]:
    """The send gate's question for invitations and reminders: is each still worth sending?"""
    ids = [message.invitation_id for message in messages if message.invitation_id is not None]
    invitations = Invitation.objects.select_related("campaign").in_bulk(ids)
    now = timezone.now()
    return [_invitation_verdict(message, invitations, now) for message in messages]


def _invitation_verdict(message: OutboundMessage, invitations: dict[int, Invitation], now: datetime) -> Verdict:
    if message.invitation_id is None:
        return Verdict(allowed=False, reason="an invitation message without its invitation")
    invitation = invitations.get(message.invitation_id)
    if invitation is None:
        return Verdict(allowed=False, reason="the invitation no longer exists")
    if invitation.campaign.status != CampaignStatus.RUNNING:
        return Verdict(allowed=False, reason=f"the campaign is {invitation.campaign.status}")
    if invitation.status not in OPEN_INVITATIONS:
        return Verdict(allowed=False, reason=f"the invitation is {invitation.status}")
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return Verdict(allowed=False, reason="the invitation has expired")
    return Verdict(allowed=True)


def close_invitations_of(person: Any) -> int:
    """The person was erased: their invitations that wait or are open close for good."""
    return Invitation.objects.filter(person=person, status__in=WAITING_INVITATIONS).update(
        status=InvitationStatus.CANCELLED
    )
