"""Services for people: create, change, archive, merge, undo a change."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction as A
from registru.audit.canonical import json_value
from registru.audit.models import AuditEvent
from registru.audit.reading import KeyCache, readable_changes
from registru.audit.services import Draft, diff, record, record_many
from registru.audit.services.checkpoints import checkpoint_soon
from registru.core.errors import ConflictError, NotInScopeError
from registru.core.scopes import Action, restrict
from registru.core.services import service
from registru.people import disclosure, search
from registru.people.choices import PersonStatus
from registru.people.models import Affiliation, Note, Person
from registru.people.scopes import current_affiliations, people_in_own_scope
from registru.people.services.common import (
    MergeActions,
    _changes,
    _check_kept_after_grant,
    _check_mergeable,
    _check_owner,
    _compare_and_set,
    _default_owner,
    _filled_from,
    _finish_merge,
    _is_user,
    _kept_after_grant,
    _set_archived,
    _snapshot,
    audit_value,
    ensure_in_scope,
)
from registru.people.services.related import _delete_affiliation
from registru.people.signals import person_erased
from registru.people.validation import MAX_CONTACTS, clean_input
from registru.vault import services as vault

logger = logging.getLogger(__name__)

# The fields a person's search document is made of (``search.document_for``, ``words_for``),
# besides their current employers: a change of any other field leaves the document as it was,
# so it is not rebuilt. ``test_person_services`` checks this against the search module.
INDEXED_FIELDS = frozenset({"given_name", "family_name", "emails", "phones"})


@service
def create_person(data: dict[str, Any], *, actor: Any, reason: str = "") -> Person:
    """Add a data subject. The actor owns the new record unless another owner is given."""
    cleaned = clean_input(Person, data)
    _default_owner(actor, cleaned)
    person = Person(**cleaned)
    person.sort_key = search.sort_key_for(person.given_name, person.family_name)
    person.save()
    changes = {name: (None, audit_value(value)) for name, value in cleaned.items() if value not in ("", [], None)}
    # The event makes the person's data key (and its values are encrypted under it at once).
    record(A.PERSON_CREATED, actor=actor, target=person, changes=changes, reason=reason, subject_id=person.pk,
           new_subject=True)  # fmt: skip
    search.index_new_person(person)
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
        _check_kept_after_grant(actor, person)
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
    if INDEXED_FIELDS & changes.keys():
        search.reindex_person(person)  # the instance holds the values just written
    return person


@service
def confirm_person(person: Person, *, actor: Any, reason: str = "") -> Person:
    """The data was confirmed as it is now (by the person, or by staff): ``last_verified_at``
    moves to now and the person is no longer stale."""
    ensure_in_scope(actor, person)
    now = timezone.now()
    changes: dict[str, tuple[Any, Any]] = {"last_verified_at": (person.last_verified_at, now)}
    if person.stale_since is not None:
        changes["stale_since"] = (person.stale_since, None)
    _compare_and_set(person, {"last_verified_at": now, "stale_since": None}, None)
    record(A.PERSON_VERIFIED, actor=actor, target=person, changes=changes, reason=reason, subject_id=person.pk)
    return person


@service
def mark_person_stale(person: Person, *, actor: Any, reason: str = "") -> Person:
    """Nobody confirmed the data when asked: staff see the person as stale until someone does."""
    if person.stale_since is not None:
        return person
    now = timezone.now()
    _compare_and_set(person, {"stale_since": now}, None)
    record(A.PERSON_MARKED_STALE, actor=actor, target=person, changes={"stale_since": (None, now)},
           reason=reason, subject_id=person.pk)  # fmt: skip
    return person


@service
def archive_person(person: Person, *, actor: Any, reason: str = "") -> Person:
    """Hide a person from lists without deleting anything; ``restore_person`` undoes it."""
    return _set_archived(person, A.PERSON_ARCHIVED, actor=actor, archived=True, reason=reason)


@service
def restore_person(person: Person, *, actor: Any, reason: str = "") -> Person:
    """Undo ``archive_person``."""
    return _set_archived(person, A.PERSON_RESTORED, actor=actor, archived=False, reason=reason)


PERSON_MERGE = MergeActions(A.PERSON_MERGED, A.PERSON_MERGED_AWAY)
MERGE_FILL_FIELDS = (
    "job_title", "birth_date", "street", "city", "county", "postal_code", "country",
)  # fmt: skip


@service
def merge_people(primary: Person, duplicate: Person, *, actor: Any, reason: str = "") -> Person:
    """Fold ``duplicate`` into ``primary``: contacts, employers and notes move over, empty
    fields of the primary are filled, and the duplicate is archived pointing at the primary.
    """
    _check_mergeable(actor, primary, duplicate)
    if PersonStatus.RESTRICTED in (primary.status, duplicate.status):
        # The duplicate's restriction would end with it, or the primary's would cover data it
        # never covered: the DPO lifts it first (and restricts the merged record if need be).
        raise ConflictError(
            _("A person whose processing is restricted cannot be merged; lift the restriction first."),
            code="merge_restricted",
        )
    values: dict[str, Any] = {
        "emails": _union(primary.emails, duplicate.emails),
        "phones": _union(primary.phones, duplicate.phones),
    }
    if max(len(values["emails"]), len(values["phones"])) > MAX_CONTACTS:
        raise ConflictError(
            _("Together they have more than %(count)d emails or phones; remove some first.") % {"count": MAX_CONTACTS},
            code="merge_too_many_contacts",
        )
    values |= _filled_from(primary, duplicate, MERGE_FILL_FIELDS)
    _move_children(duplicate, primary, actor=actor)
    _finish_merge(primary, duplicate, values, PERSON_MERGE, actor=actor, reason=reason)
    search.reindex([primary.pk, duplicate.pk])
    return primary


def _union(first: list[str], second: list[str]) -> list[str]:
    seen = {value.lower() for value in first}
    return [*first, *(value for value in second if value.lower() not in seen)]


def _move_children(duplicate: Person, primary: Person, *, actor: Any) -> None:
    # Only a current employment makes the duplicate's one redundant: an ended one at the same
    # organization is history, and dropping the current one would lose where they work now.
    employers = set(current_affiliations().filter(person=primary).values_list("organization_id", flat=True))
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


@service
def revert_person_change(person: Person, event_id: int, *, actor: Any) -> Person:
    """Undo one recorded change of a person, if none of its fields changed again since.

    The undo is a change of its own, with a reason naming the event it undoes.
    """
    event = AuditEvent.objects.get(
        pk=event_id, action=A.PERSON_UPDATED, target_type=Person._meta.label_lower, target_id=person.pk
    )
    changes = readable_changes(event, KeyCache())
    if _is_user(actor) and (hidden := set(changes) & disclosure.field_policy(actor).masked):
        # As on the edit page and the API: a role that sees a field masked does not change it,
        # not even back to a value recorded in the trail (which it has never seen).
        raise PermissionDenied(
            _("This change touches fields your role sees masked (%(fields)s); ask someone who may see them to undo it.")
            % {
                "fields": ", ".join(
                    str(getattr(Person._meta.get_field(name), "verbose_name", name)) for name in sorted(hidden)
                )
            }
        )
    current = _snapshot(person, list(changes))
    for name, (_old, new) in changes.items():
        if not _same(json_value(current[name]), new):
            raise ConflictError(
                _("“%(field)s” changed again after that change; edit it by hand instead.")
                % {"field": getattr(Person._meta.get_field(name), "verbose_name", name)},
                code="revert_stale",
            )
    data = {name: _as_input(old) for name, (old, _new) in changes.items()}
    reason = _("Undo of change #%(id)d") % {"id": event.pk}
    return update_person(person, data, actor=actor, reason=reason)


def _same(current: Any, recorded: Any) -> bool:
    if isinstance(current, dict) and isinstance(recorded, dict):
        return current.get("id") == recorded.get("id")
    return bool(current == recorded)


def _as_input(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) and "id" in value else value


ERASED_NAME = "[erased]"
ERASED_VALUES: dict[str, Any] = {
    "emails": [], "phones": [], "job_title": "", "birth_date": None, "street": "", "city": "",
    "county": "", "postal_code": "", "restriction_ground": None, "restricted_since": None,
}  # fmt: skip


@service
def erase_person(person: Person, *, actor: Any, reason: str, duplicates: Iterable[Person] = ()) -> Person:
    """Erase a person (GDPR Art. 17): anonymise the record, delete their notes and employers,
    and destroy their data key, so that the values kept in the audit trail become unreadable
    while the trail itself, and who did what and when, stays intact and verifiable.

    ``duplicates``: records merged away into this person (``merged_duplicates``), erased with
    it, each with its own events and key: a merge leaves the duplicate's own values on it.
    """
    if _is_user(actor) and not actor.can(Capability.ERASE_PEOPLE):
        raise PermissionDenied(_("Only the data protection officer erases people."))
    if person.status == PersonStatus.ERASED:
        raise ConflictError(_("This person has already been erased."), code="already_erased")
    ensure_in_scope(actor, person)
    chosen = list(duplicates)
    offered = {duplicate.pk for duplicate in merged_duplicates(person)}
    if any(duplicate.pk not in offered for duplicate in chosen):
        raise ConflictError(
            _("Only records merged into this person can be erased with it."), code="erase_not_duplicate"
        )
    for erased in [person, *chosen]:
        ensure_in_scope(actor, erased)
        _erase(erased, actor=actor, reason=reason)
    after_erasure()
    checkpoint_soon()  # the erasure is signed at once, not at the next interval
    return person


def merged_duplicates(person: Person) -> list[Person]:
    """The records merged away into ``person``, directly or through another duplicate, that are
    not erased yet: erasing the person offers to erase them too."""
    found: list[Person] = []
    frontier = [person.pk]
    while frontier:
        batch = list(Person.objects.filter(merged_into_id__in=frontier).order_by("pk"))
        found += batch
        frontier = [duplicate.pk for duplicate in batch]
    return [duplicate for duplicate in found if duplicate.status != PersonStatus.ERASED]


def _erase(person: Person, *, actor: Any, reason: str) -> None:
    for note in person.notes.all():
        changes = {"body": (note.body, None)}
        record(A.NOTE_DELETED, actor=actor, target=note, changes=changes, reason=reason, subject_id=person.pk)
        note.delete()
    for affiliation in person.affiliations.select_related("organization"):
        _delete_affiliation(affiliation, actor=actor, reason=reason)
    values = ERASED_VALUES | {
        "given_name": ERASED_NAME, "family_name": f"#{person.pk}", "sort_key": f"~erased {person.pk}",
        "status": PersonStatus.ERASED, "archived_at": person.archived_at or timezone.now(),
    }  # fmt: skip
    # The sort key is the search's, not the person's: the erasure's event leaves it out.
    recorded = {name: value for name, value in values.items() if name != "sort_key"}
    changes = diff(_snapshot(person, list(recorded)), recorded)
    _compare_and_set(person, values, None)
    record(A.PERSON_ERASED, actor=actor, target=person, changes=changes, reason=reason, subject_id=person.pk)
    search.reindex([person.pk])
    person_erased.send(Person, person=person, actor=actor)
    vault.shred(person.pk)


def after_erasure() -> None:
    """Once the erasure is committed, SQLite's write-ahead log is folded into the database file
    and emptied: until then it keeps images of the pages as they were, the person's values in
    plaintext among them. (PostgreSQL's WAL segments are recycled by the server.)"""

    def checkpoint() -> None:
        # Inside an outer transaction (a test's) there is nothing committed to fold in yet.
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except DatabaseError:
            # The erasure is committed; a reader holding an old snapshot only delays the
            # fold, which SQLite's next automatic checkpoint does.
            logger.warning("the write-ahead log could not be checkpointed after an erasure", exc_info=True)

    transaction.on_commit(checkpoint)


BULK_REFUSED = {"given_name", "family_name", "emails", "phones"}  # per-person values, not bulk ones


@service
def bulk_update_people(person_ids: Iterable[int], data: dict[str, Any], *, actor: Any, reason: str = "") -> int:
    """Set the same fields on many people at once (a transfer to another owner, a new lawful
    basis): one UPDATE for all rows and one insert of all their events, one event per person
    whose values really change. Returns how many people changed."""
    if BULK_REFUSED & data.keys():
        raise ValidationError(
            {name: [_("This field is changed person by person.")] for name in BULK_REFUSED & data.keys()}
        )
    cleaned = clean_input(Person, data, instance=Person())
    ids = sorted(set(person_ids))
    if "owner" in cleaned:
        _check_owner(actor, cleaned["owner"])
        if _is_user(actor) and people_in_own_scope(actor).filter(pk__in=ids).count() != len(ids):
            raise _kept_after_grant()  # some of them are seen through a grant only
    people = Person.objects.filter(pk__in=ids)
    if _is_user(actor) and restrict(actor, Person, Action.CHANGE).filter(pk__in=ids).count() != len(ids):
        raise NotInScopeError("some of these people are not in the actor's scope")
    before = _bulk_snapshot(people, list(cleaned))
    new = {name: audit_value(value) for name, value in cleaned.items()}
    drafts = [
        Draft(A.PERSON_UPDATED, Person(pk=pk), changes, reason, pk)
        for pk, old in before.items()
        if (changes := diff(old, new))
    ]
    changed_ids = {draft.subject_id for draft in drafts}
    changed = [pk for pk in before if pk in changed_ids]
    people.filter(pk__in=changed).update(**cleaned, version=F("version") + 1, updated_at=timezone.now())
    record_many(drafts, actor=actor)
    return len(changed)


def _bulk_snapshot(people: Any, names: list[str]) -> dict[int, dict[str, Any]]:
    """Old values of many people in one query; related records as {id, label} like the trail."""
    columns = [Person._meta.get_field(name).attname for name in names]  # type: ignore[union-attr]
    rows = {row["id"]: row for row in people.values("id", *columns)}
    labels = _owner_labels({row.get("owner_id") for row in rows.values()}) if "owner" in names else {}
    return {
        pk: {
            name: (
                {"id": row[column], "label": labels.get(row[column], "")}
                if name == "owner" and row[column]
                else row[column]
            )
            for name, column in zip(names, columns, strict=True)
        }
        for pk, row in rows.items()
    }


def _owner_labels(ids: set[Any]) -> dict[int, str]:
    from registru.accounts.models import User

    return {user.pk: user.label for user in User.objects.filter(pk__in=[pk for pk in ids if pk])}
