"""Services for affiliations (who works where) and notes (dated interactions)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.errors import NotInScopeError
from registru.core.scopes import Action, restrict
from registru.core.services import service
from registru.people import search
from registru.people.models import Affiliation, Note, Organization, Person
from registru.people.services.common import _changes, _is_user, audit_value, ensure_in_scope, in_own_scope
from registru.people.validation import clean_input

# --- affiliations -----------------------------------------------------------------------------


@service
def create_affiliation(person: Person, organization: Organization, data: dict[str, Any], *, actor: Any) -> Affiliation:
    """Record that ``person`` works at ``organization``."""
    ensure_in_scope(actor, person)
    ensure_in_scope(actor, organization)
    cleaned = clean_input(Affiliation, data)
    _check_not_kept_after_grant(actor, person, organization, cleaned.get("until"))
    affiliation = Affiliation.objects.create(person=person, organization=organization, **cleaned)
    changes = {"organization": (None, audit_value(organization))} | {
        name: (None, audit_value(value)) for name, value in cleaned.items() if value not in ("", None)
    }
    record(A.AFFILIATION_CREATED, actor=actor, target=affiliation, changes=changes, subject_id=person.pk)
    search.reindex([person.pk])
    return affiliation


@service
def update_affiliation(affiliation: Affiliation, data: dict[str, Any], *, actor: Any) -> Affiliation:
    """Change the role or dates of an affiliation (set ``until`` to end it)."""
    _ensure_affiliation_in_scope(actor, affiliation)
    cleaned = clean_input(Affiliation, data, instance=affiliation)
    if "until" in cleaned:
        _check_not_kept_after_grant(actor, affiliation.person, affiliation.organization, cleaned["until"])
    changes = _changes(affiliation, cleaned)
    if not changes:
        return affiliation
    for name, value in cleaned.items():
        setattr(affiliation, name, value)
    affiliation.save(update_fields=[*cleaned, "updated_at"])
    record(
        A.AFFILIATION_UPDATED,
        actor=actor,
        target=affiliation,
        changes=changes,
        subject_id=affiliation.person_id,
    )
    search.reindex([affiliation.person_id])
    return affiliation


@service
def delete_affiliation(affiliation: Affiliation, *, actor: Any, reason: str = "") -> None:
    """Remove an affiliation recorded by mistake (to end a real one, set its end date)."""
    _ensure_affiliation_in_scope(actor, affiliation)
    _delete_affiliation(affiliation, actor=actor, reason=reason)


def _check_not_kept_after_grant(actor: Any, person: Person, organization: Organization, until: Any) -> None:
    """A current employment at an organization of one's own puts the person in one's own scope:
    for a person seen only through an access grant, that would outlast the grant."""
    if until is not None and until < timezone.localdate():
        return  # an ended employment gives no scope
    if in_own_scope(actor, organization) and not in_own_scope(actor, person):
        raise ValidationError(
            {
                "organization": [
                    _(
                        "A person you see through an access grant cannot be employed at an organization of "
                        "yours: ask their owner."
                    )
                ]
            }
        )


def _ensure_affiliation_in_scope(actor: Any, affiliation: Affiliation) -> None:
    # Ending an employment moves the person out of the organization owner's scope: it takes
    # the organization as well as the person, as adding one does.
    ensure_in_scope(actor, affiliation.person)
    ensure_in_scope(actor, affiliation.organization)


def _delete_affiliation(affiliation: Affiliation, *, actor: Any, reason: str) -> None:
    person_id = affiliation.person_id
    changes = {"organization": (audit_value(affiliation.organization), None)}
    record(
        A.AFFILIATION_DELETED,
        actor=actor,
        target=affiliation,
        changes=changes,
        reason=reason,
        subject_id=person_id,
    )
    affiliation.delete()
    search.reindex([person_id])


# --- notes ------------------------------------------------------------------------------------


@service
def create_note(
    data: dict[str, Any],
    *,
    actor: Any,
    person: Person | None = None,
    organization: Organization | None = None,
) -> Note:
    """Record an interaction with a person or an organization, authored by the actor."""
    for subject in (person, organization):
        if subject is not None:
            ensure_in_scope(actor, subject)
    if person is None and organization is None:
        raise ValueError("a note is about a person or an organization")
    data = {"occurred_at": timezone.now(), **data}
    cleaned = clean_input(Note, data)
    author = actor if _is_user(actor) else None
    note = Note.objects.create(person=person, organization=organization, author=author, **cleaned)
    changes = {name: (None, audit_value(value)) for name, value in cleaned.items()}
    record(A.NOTE_CREATED, actor=actor, target=note, changes=changes, subject_id=note.person_id)
    return note


@service
def update_note(note: Note, data: dict[str, Any], *, actor: Any) -> Note:
    """Correct a note's text, kind or date."""
    _ensure_note_in_scope(actor, note)
    cleaned = clean_input(Note, data, instance=note)
    changes = _changes(note, cleaned)
    if changes:
        for name, value in cleaned.items():
            setattr(note, name, value)
        note.save(update_fields=[*cleaned, "updated_at"])
        record(A.NOTE_UPDATED, actor=actor, target=note, changes=changes, subject_id=note.person_id)
    return note


@service
def delete_note(note: Note, *, actor: Any, reason: str = "") -> None:
    """Delete a note; its text stays in the audit trail as the old value."""
    _ensure_note_in_scope(actor, note)
    changes = {"body": (note.body, None)}
    record(A.NOTE_DELETED, actor=actor, target=note, changes=changes, reason=reason, subject_id=note.person_id)
    note.delete()


def _ensure_note_in_scope(actor: Any, note: Note) -> None:
    if _is_user(actor) and not restrict(actor, Note, Action.CHANGE).filter(pk=note.pk).exists():
        raise NotInScopeError(f"note {note.pk} is not in the actor's scope")
