"""Services for organizations: create, change, archive, merge."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.errors import ConflictError
from registru.core.scopes import restrict
from registru.core.services import service
from registru.people import search
from registru.people.models import Organization
from registru.people.services.common import (
    MergeActions,
    _changes,
    _check_kept_after_grant,
    _check_mergeable,
    _check_owner,
    _check_team,
    _compare_and_set,
    _default_owner,
    _filled_from,
    _finish_merge,
    _is_user,
    _set_archived,
    audit_value,
    ensure_in_scope,
)
from registru.people.services.related import _delete_affiliation
from registru.people.validation import clean_input


def _check_duplicate_tax_id(actor: Any, cui: str, exclude: int | None = None) -> None:
    """Refuse a CUI that the actor already has on another organization.

    Only organizations in the actor's own scope are compared: answering "exists" for one
    outside it would tell the actor about a record they may not know of.
    """
    if not cui:
        return
    digits = cui.removeprefix("RO")
    candidates = Organization.objects.all() if not _is_user(actor) else restrict(actor, Organization)
    # A record merged into another is history, not a second organization with this CUI.
    clashes = candidates.filter(cui__in=[digits, f"RO{digits}"], merged_into__isnull=True)
    clash = (clashes.exclude(pk=exclude) if exclude is not None else clashes).first()
    if clash is not None:
        raise ConflictError(_("%(name)s already has this tax id.") % {"name": clash.name}, code="duplicate_tax_id")


@service
def create_organization(data: dict[str, Any], *, actor: Any, reason: str = "") -> Organization:
    """Add a business partner. The actor owns it unless another owner is given."""
    cleaned = clean_input(Organization, data)
    _default_owner(actor, cleaned)
    if "team" in cleaned:
        _check_team(actor, cleaned["team"])
    elif cleaned.get("owner") is not None:
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
    if {"owner", "team"} & cleaned.keys() and (
        cleaned.get("owner", organization.owner) != organization.owner
        or cleaned.get("team", organization.team) != organization.team
    ):
        _check_kept_after_grant(actor, organization)
    if "owner" in cleaned and cleaned["owner"] != organization.owner:
        _check_owner(actor, cleaned["owner"])
        if "team" not in cleaned and cleaned["owner"] is not None:
            cleaned["team"] = cleaned["owner"].team  # the team follows a new owner
    if "team" in cleaned and cleaned["team"] != organization.team:
        _check_team(actor, cleaned["team"])
    if cleaned.get("cui") and cleaned["cui"] != organization.cui:
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


ORGANIZATION_MERGE = MergeActions(A.ORGANIZATION_MERGED, A.ORGANIZATION_MERGED_AWAY)
ORGANIZATION_FILL_FIELDS = (
    "cui", "trade_register_no", "industry", "street", "city", "county", "postal_code",
)  # fmt: skip


@service
def merge_organizations(
    primary: Organization, duplicate: Organization, *, actor: Any, reason: str = ""
) -> Organization:
    """Fold ``duplicate`` into ``primary``: its people and notes move over, empty fields of the
    primary are filled, and the duplicate is archived pointing at the primary.
    """
    _check_mergeable(actor, primary, duplicate)
    values = _filled_from(primary, duplicate, ORGANIZATION_FILL_FIELDS)
    moved_people = _move_organization_children(duplicate, primary, actor=actor)
    _finish_merge(primary, duplicate, values, ORGANIZATION_MERGE, actor=actor, reason=reason)
    search.reindex(moved_people)
    return primary


def _move_organization_children(duplicate: Organization, primary: Organization, *, actor: Any) -> list[int]:
    people_at_primary = set(primary.affiliations.values_list("person_id", flat=True))
    moved = []
    for affiliation in duplicate.affiliations.select_related("person", "organization"):
        moved.append(affiliation.person_id)
        if affiliation.person_id in people_at_primary:
            _delete_affiliation(affiliation, actor=actor, reason="merge: duplicate employer")
            continue
        changes = {"organization": (audit_value(duplicate), audit_value(primary))}
        affiliation.organization = primary
        affiliation.save(update_fields=["organization", "updated_at"])
        record(
            A.AFFILIATION_UPDATED,
            actor=actor,
            target=affiliation,
            changes=changes,
            subject_id=affiliation.person_id,
        )
    for note in duplicate.notes.all():
        changes = {"organization": (audit_value(duplicate), audit_value(primary))}
        note.organization = primary
        note.save(update_fields=["organization", "updated_at"])
        record(A.NOTE_UPDATED, actor=actor, target=note, changes=changes, subject_id=note.person_id)
    return moved
