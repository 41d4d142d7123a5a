"""Business actions on people, organizations, affiliations and notes: the one write path.

Each function takes a keyword-only ``actor``, validates its input with the same rules for
every channel, changes the data and records one audit event per changed record, all in one
transaction (see ``core.services.service``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction as A
from registru.audit.canonical import json_value
from registru.audit.models import AuditEvent
from registru.audit.services import Changes, diff, record
from registru.core.actors import SystemActor
from registru.core.errors import ConflictError, NotInScopeError
from registru.core.scopes import Action, restrict
from registru.core.services import service
from registru.people import search
from registru.people.models import Affiliation, Note, Organization, Person
from registru.people.validation import clean_input

# --- helpers shared by the services below -------------------------------------------------


def audit_value(value: Any) -> Any:
    """How a value is written in the trail: related records by id and readable label."""
    if isinstance(value, Model):
        return {"id": value.pk, "label": str(value)}
    return value


def _snapshot(instance: Model, names: list[str]) -> dict[str, Any]:
    return {name: audit_value(getattr(instance, name)) for name in names}


def _changes(instance: Model, cleaned: dict[str, Any]) -> Changes:
    return diff(_snapshot(instance, list(cleaned)), {k: audit_value(v) for k, v in cleaned.items()})


def _is_user(actor: Any) -> bool:
    return not isinstance(actor, SystemActor)


def ensure_in_scope(actor: Any, instance: Model) -> None:
    """Services check scope themselves too, so no entry point can forget to."""
    if _is_user(actor) and not restrict(actor, type(instance), Action.CHANGE).filter(pk=instance.pk).exists():
        raise NotInScopeError(f"{instance._meta.label} {instance.pk} is not in the actor's scope")


def _check_owner(actor: Any, owner: Any) -> None:
    if not _is_user(actor) or actor.can(Capability.ASSIGN_ANY_OWNER):
        return
    if owner is not None and owner == actor:
        return
    if actor.can(Capability.ASSIGN_TEAM_OWNER) and actor.team_id and owner.team_id == actor.team_id:
        return
    message = _("Choose an owner.") if owner is None else _("You cannot give records to this user.")
    raise ValidationError({"owner": [message]})


def _ensure_may_create(actor: Any) -> None:
    if _is_user(actor) and not actor.can(Capability.BROWSE_RECORDS):
        raise PermissionDenied(_("Your role does not work with people and organizations."))


def _default_owner(actor: Any, cleaned: dict[str, Any]) -> None:
    _ensure_may_create(actor)
    if "owner" not in cleaned and _is_user(actor):
        cleaned["owner"] = actor
    _check_owner(actor, cleaned.get("owner"))


def _compare_and_set(instance: Any, values: dict[str, Any], expected_version: int | None) -> None:
    """Write ``values`` only if nobody changed the record since ``expected_version``."""
    version = instance.version if expected_version is None else expected_version
    updated = (
        type(instance)
        .objects.filter(pk=instance.pk, version=version)
        .update(**values, version=F("version") + 1, updated_at=timezone.now())
    )
    if updated == 0:
        raise ConflictError(
            _("Someone else changed this record meanwhile. Reload it and apply your change again."),
            code="stale_version",
        )
    instance.refresh_from_db()


# --- people --------------------------------------------------------------------------------


@service
def create_person(data: dict[str, Any], *, actor: Any, reason: str = "") -> Person:
    """Add a data subject. The actor owns the new record unless another owner is given."""
    cleaned = clean_input(Person, data)
    _default_owner(actor, cleaned)
    person = Person(**cleaned)
    person.sort_key = search.sort_key_for(person.given_name, person.family_name)
    person.save()
    changes = {
        name: (None, audit_value(value)) for name, value in cleaned.items() if value not in ("", [], None)
    }
    record(A.PERSON_CREATED, actor=actor, target=person, changes=changes, reason=reason, subject_id=person.pk)
    search.reindex([person.pk])
    return person


@service
def update_person(
    person: Person,
    data: dict[str, Any],
    *,
    actor: Any,
    expected_version: int | None = None,
    reason: str = "",
) -> Person:
    """Change a person's fields; fields not in ``data`` stay as they are."""
    ensure_in_scope(actor, person)
    cleaned = clean_input(Person, data, instance=person)
    if "owner" in cleaned and cleaned["owner"] != person.owner:
        _check_owner(actor, cleaned["owner"])
    changes = _changes(person, cleaned)
    if not changes:
        return person
    values = {name: cleaned[name] for name in changes}
    if {"given_name", "family_name"} & changes.keys():
        values["sort_key"] = search.sort_key_for(
            cleaned.get("given_name", person.given_name), cleaned.get("family_name", person.family_name)
        )
    _compare_and_set(person, values, expected_version)
    record(A.PERSON_UPDATED, actor=actor, target=person, changes=changes, reason=reason, subject_id=person.pk)
    search.reindex([person.pk])
    return person


@service
def archive_person(person: Person, *, actor: Any, reason: str = "") -> Person:
    """Hide a person from lists without deleting anything; ``restore_person`` undoes it."""
    return _set_archived(person, A.PERSON_ARCHIVED, actor=actor, archived=True, reason=reason)


@service
def restore_person(person: Person, *, actor: Any, reason: str = "") -> Person:
    """Undo ``archive_person``."""
    return _set_archived(person, A.PERSON_RESTORED, actor=actor, archived=False, reason=reason)


def _set_archived(instance: Any, action: A, *, actor: Any, archived: bool, reason: str) -> Any:
    ensure_in_scope(actor, instance)
    if (instance.archived_at is not None) == archived:
        return instance
    old = instance.archived_at
    _compare_and_set(instance, {"archived_at": timezone.now() if archived else None}, None)
    subject = instance.pk if isinstance(instance, Person) else None
    changes = {"archived_at": (old, instance.archived_at)}
    record(action, actor=actor, target=instance, changes=changes, reason=reason, subject_id=subject)
    return instance


MERGE_FILL_FIELDS = (
    "job_title", "birth_date", "street", "city", "county", "postal_code", "country",
)  # fmt: skip


@service
def merge_people(primary: Person, duplicate: Person, *, actor: Any, reason: str = "") -> Person:
    """Fold ``duplicate`` into ``primary``: contacts, employers and notes move over, empty
    fields of the primary are filled, and the duplicate is archived pointing at the primary.
    """
    for person in (primary, duplicate):
        ensure_in_scope(actor, person)
    if primary.pk == duplicate.pk or duplicate.merged_into_id or primary.merged_into_id:
        raise ConflictError(_("These two records cannot be merged."), code="merge_invalid")
    values: dict[str, Any] = {
        "emails": _union(primary.emails, duplicate.emails),
        "phones": _union(primary.phones, duplicate.phones),
    }
    for name in MERGE_FILL_FIELDS:
        if not getattr(primary, name) and getattr(duplicate, name):
            values[name] = getattr(duplicate, name)
    changes = diff(_snapshot(primary, list(values)), values)
    _move_children(duplicate, primary, actor=actor)
    if changes:
        _compare_and_set(primary, {name: values[name] for name in changes}, None)
    changes["merged_from"] = (None, {"id": duplicate.pk, "label": str(duplicate)})
    record(
        A.PERSON_MERGED, actor=actor, target=primary, changes=changes, reason=reason, subject_id=primary.pk
    )
    _compare_and_set(duplicate, {"merged_into": primary, "archived_at": timezone.now()}, None)
    away = {"merged_into": (None, {"id": primary.pk, "label": str(primary)})}
    record(
        A.PERSON_MERGED_AWAY,
        actor=actor,
        target=duplicate,
        changes=away,
        reason=reason,
        subject_id=duplicate.pk,
    )
    search.reindex([primary.pk, duplicate.pk])
    return primary


def _union(first: list[str], second: list[str]) -> list[str]:
    seen = {value.lower() for value in first}
    return [*first, *(value for value in second if value.lower() not in seen)]


def _move_children(duplicate: Person, primary: Person, *, actor: Any) -> None:
    employers = set(primary.affiliations.values_list("organization_id", flat=True))
    for affiliation in duplicate.affiliations.all():
        if affiliation.organization_id in employers:
            _delete_affiliation(affiliation, actor=actor, reason="merge: duplicate employer")
        else:
            _reassign(affiliation, primary, A.AFFILIATION_UPDATED, actor=actor)
    for note in duplicate.notes.all():
        _reassign(note, primary, A.NOTE_UPDATED, actor=actor)


def _reassign(child: Affiliation | Note, person: Person, action: A, *, actor: Any) -> None:
    changes = {"person": (audit_value(child.person), audit_value(person))}
    child.person = person
    child.save(update_fields=["person", "updated_at"])
    record(action, actor=actor, target=child, changes=changes, subject_id=person.pk)


# --- organizations ----------------------------------------------------------------------------


def _check_duplicate_tax_id(actor: Any, cui: str, exclude: int | None = None) -> None:
    """Refuse a CUI that the actor already has on another organization.

    Only organizations in the actor's own scope are compared: answering "exists" for one
    outside it would tell the actor about a record they may not know of.
    """
    if not cui:
        return
    digits = cui.removeprefix("RO")
    candidates = Organization.objects.all() if not _is_user(actor) else restrict(actor, Organization)
    clashes = candidates.filter(cui__in=[digits, f"RO{digits}"])
    clash = (clashes.exclude(pk=exclude) if exclude is not None else clashes).first()
    if clash is not None:
        raise ConflictError(
            _("%(name)s already has this tax id.") % {"name": clash.name}, code="duplicate_tax_id"
        )


@service
def create_organization(data: dict[str, Any], *, actor: Any, reason: str = "") -> Organization:
    """Add a business partner. The actor owns it unless another owner is given."""
    cleaned = clean_input(Organization, data)
    _default_owner(actor, cleaned)
    if "team" not in cleaned and cleaned.get("owner") is not None:
        cleaned["team"] = cleaned["owner"].team
    _check_duplicate_tax_id(actor, cleaned.get("cui", ""))
    organization = Organization.objects.create(**cleaned, sort_key=search.normalize(cleaned["name"]))
    changes = {name: (None, audit_value(value)) for name, value in cleaned.items() if value not in ("", None)}
    record(A.ORGANIZATION_CREATED, actor=actor, target=organization, changes=changes, reason=reason)
    return organization


@service
def update_organization(
    organization: Organization,
    data: dict[str, Any],
    *,
    actor: Any,
    expected_version: int | None = None,
    reason: str = "",
) -> Organization:
    """Change an organization's fields; a new name is searchable at once on its people."""
    ensure_in_scope(actor, organization)
    cleaned = clean_input(Organization, data, instance=organization)
    if "owner" in cleaned and cleaned["owner"] != organization.owner:
        _check_owner(actor, cleaned["owner"])
    if cleaned.get("cui"):
        _check_duplicate_tax_id(actor, cleaned["cui"], exclude=organization.pk)
    changes = _changes(organization, cleaned)
    if not changes:
        return organization
    values = {name: cleaned[name] for name in changes}
    if "name" in values:
        values["sort_key"] = search.normalize(values["name"])
    _compare_and_set(organization, values, expected_version)
    record(A.ORGANIZATION_UPDATED, actor=actor, target=organization, changes=changes, reason=reason)
    if "name" in changes:
        search.reindex(organization.affiliations.values_list("person_id", flat=True))
    return organization


@service
def archive_organization(organization: Organization, *, actor: Any, reason: str = "") -> Organization:
    """Hide an organization from lists; ``restore_organization`` undoes it."""
    return _set_archived(organization, A.ORGANIZATION_ARCHIVED, actor=actor, archived=True, reason=reason)


@service
def restore_organization(organization: Organization, *, actor: Any, reason: str = "") -> Organization:
    """Undo ``archive_organization``."""
    return _set_archived(organization, A.ORGANIZATION_RESTORED, actor=actor, archived=False, reason=reason)


# --- affiliations -----------------------------------------------------------------------------


@service
def create_affiliation(
    person: Person, organization: Organization, data: dict[str, Any], *, actor: Any
) -> Affiliation:
    """Record that ``person`` works at ``organization``."""
    ensure_in_scope(actor, person)
    ensure_in_scope(actor, organization)
    cleaned = clean_input(Affiliation, data)
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
    ensure_in_scope(actor, affiliation.person)
    cleaned = clean_input(Affiliation, data, instance=affiliation)
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
    ensure_in_scope(actor, affiliation.person)
    _delete_affiliation(affiliation, actor=actor, reason=reason)


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
    record(
        A.NOTE_DELETED, actor=actor, target=note, changes=changes, reason=reason, subject_id=note.person_id
    )
    note.delete()


def _ensure_note_in_scope(actor: Any, note: Note) -> None:
    if _is_user(actor) and not restrict(actor, Note, Action.CHANGE).filter(pk=note.pk).exists():
        raise NotInScopeError(f"note {note.pk} is not in the actor's scope")


@service
def revert_person_change(person: Person, event_id: int, *, actor: Any) -> Person:
    """Undo one recorded change of a person, if none of its fields changed again since.

    The undo is a change of its own, with a reason naming the event it undoes.
    """
    event = AuditEvent.objects.get(
        pk=event_id, action=A.PERSON_UPDATED, target_type=Person._meta.label_lower, target_id=person.pk
    )
    current = _snapshot(person, list(event.changes))
    for name, (_old, new) in event.changes.items():
        if not _same(json_value(current[name]), new):
            raise ConflictError(
                _("“%(field)s” changed again after that change; edit it by hand instead.")
                % {"field": getattr(Person._meta.get_field(name), "verbose_name", name)},
                code="revert_stale",
            )
    data = {name: _as_input(old) for name, (old, _new) in event.changes.items()}
    reason = _("Undo of change #%(id)d") % {"id": event.pk}
    return update_person(person, data, actor=actor, reason=reason)


def _same(current: Any, recorded: Any) -> bool:
    if isinstance(current, dict) and isinstance(recorded, dict):
        return current.get("id") == recorded.get("id")
    return bool(current == recorded)


def _as_input(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) and "id" in value else value
