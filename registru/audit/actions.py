"""Audit action codes. They are stored in the trail: add new ones, never rename."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    PERSON_CREATED = "person.created", _("created the person")
    PERSON_UPDATED = "person.updated", _("changed the person")
    PERSON_ARCHIVED = "person.archived", _("archived the person")
    PERSON_RESTORED = "person.restored", _("restored the person")
    PERSON_MERGED = "person.merged", _("merged a duplicate into the person")
    PERSON_MERGED_AWAY = "person.merged_away", _("merged the person into another record")
    PERSON_ERASED = "person.erased", _("erased the person's data")
    ORGANIZATION_CREATED = "organization.created", _("created the organization")
    ORGANIZATION_UPDATED = "organization.updated", _("changed the organization")
    ORGANIZATION_ARCHIVED = "organization.archived", _("archived the organization")
    ORGANIZATION_RESTORED = "organization.restored", _("restored the organization")
    ORGANIZATION_MERGED = "organization.merged", _("merged a duplicate into the organization")
    ORGANIZATION_MERGED_AWAY = (
        "organization.merged_away",
        _("merged the organization into another record"),
    )
    AFFILIATION_CREATED = "affiliation.created", _("added an affiliation")
    AFFILIATION_UPDATED = "affiliation.updated", _("changed an affiliation")
    AFFILIATION_DELETED = "affiliation.deleted", _("removed an affiliation")
    NOTE_CREATED = "note.created", _("added a note")
    NOTE_UPDATED = "note.updated", _("changed a note")
    NOTE_DELETED = "note.deleted", _("deleted a note")
    USER_CREATED = "user.created", _("created the user")
    USER_UPDATED = "user.updated", _("changed the user")
    TEAM_CREATED = "team.created", _("created the team")
    TEAM_UPDATED = "team.updated", _("changed the team")
    TOKEN_CREATED = "token.created", _("created an API token")
    TOKEN_REVOKED = "token.revoked", _("revoked an API token")
    CONSENT_GRANTED = "consent.granted", _("recorded a consent")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("recorded a withdrawal of consent")
    CONSENT_REFUSED = "consent.refused", _("recorded a refusal of consent")
    CONSENT_EXPIRED = "consent.expired", _("recorded that a consent expired")
    PURPOSE_SAVED = "purpose.saved", _("saved a purpose of processing")
    MAIL_QUEUED = "mail.queued", _("queued a message")
    MAIL_SENT = "mail.sent", _("sent a message")
    MAIL_BLOCKED = "mail.blocked", _("held back a message (send gate)")
    MAIL_FAILED = "mail.failed", _("could not deliver a message")
    NOTICE_PUBLISHED = "notice.published", _("published a notice version")
    CAMPAIGN_SAVED = "campaign.saved", _("saved a consent campaign")
    CAMPAIGN_STARTED = "campaign.started", _("started a consent campaign")
    CAMPAIGN_PAUSED = "campaign.paused", _("paused a consent campaign")
    CAMPAIGN_RESUMED = "campaign.resumed", _("resumed a consent campaign")
    CAMPAIGN_CANCELLED = "campaign.cancelled", _("cancelled a consent campaign")
    CAMPAIGN_FINISHED = "campaign.finished", _("finished a consent campaign")
    INVITATION_OPENED = "invitation.opened", _("opened a consent invitation")
    INVITATION_EXPIRED = "invitation.expired", _("let a consent invitation expire")
    MAILING_QUEUED = "mailing.queued", _("queued a marketing mailing")
    # Reads that matter: who looked at or took away personal data.
    PERSON_VIEWED = "person.viewed", _("opened the person's record")
    HISTORY_VIEWED = "person.history_viewed", _("read the person's history")
    TRAIL_EXPORTED = "trail.exported", _("exported the audit trail")
    CONSENT_PROOF_EXPORTED = "consent.proof_exported", _("downloaded the person's consent proof")
    MAIL_READ = "mail.read", _("read a message in the local mailbox")
    TRAIL_PRUNED = "trail.pruned", _("deleted old audit events (retention)")
