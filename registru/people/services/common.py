"""Helpers shared by the people services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction as A
from registru.audit.services import Changes, diff, record
from registru.core.actors import SubjectActor, SystemActor
from registru.core.errors import ConflictError, NotInScopeError
from registru.core.scopes import Action, restrict
from registru.people.models import Person
from registru.people.scopes import organizations_in_own_scope, people_in_own_scope


def audit_value(value: Any) -> Any:
    """How a value is written in the trail: a person by id alone, other related records
    (organizations, users) by id and readable label.

    A person's name is read from their record when the event is shown (``audit.reading``): an
    event that kept it would keep it after the person is erased, in plaintext, for good.
    """
    if isinstance(value, Person):
        return {"id": value.pk}
    if isinstance(value, Model):
        return {"id": value.pk, "label": str(value)}
    return value


def _snapshot(instance: Model, names: list[str]) -> dict[str, Any]:
    return {name: audit_value(getattr(instance, name)) for name in names}


def _changes(instance: Model, cleaned: dict[str, Any]) -> Changes:
    return diff(_snapshot(instance, list(cleaned)), {k: audit_value(v) for k, v in cleaned.items()})


def _is_user(actor: Any) -> bool:
    # The data subject acts on their own record only: the public page hands the services the
    # person its signed link names.
    return not isinstance(actor, (SystemActor, SubjectActor))


def ensure_in_scope(actor: Any, instance: Model) -> None:
    """Services check scope themselves too, so no entry point can forget to."""
    if _is_user(actor) and not restrict(actor, type(instance), Action.CHANGE).filter(pk=instance.pk).exists():
        raise NotInScopeError(f"{instance._meta.label} {instance.pk} is not in the actor's scope")


def in_own_scope(actor: Any, instance: Model) -> bool:
    """Whether the actor's role covers the record, access grants left out (always, for the
    system and the data subject)."""
    if not _is_user(actor):
        return True
    own = people_in_own_scope(actor) if isinstance(instance, Person) else organizations_in_own_scope(actor)
    return own.filter(pk=instance.pk).exists()


def _check_kept_after_grant(actor: Any, instance: Model) -> None:
    """A new owner or team outlasts an access grant: it needs the record in the actor's own scope."""
    if not in_own_scope(actor, instance):
        raise _kept_after_grant()


def _kept_after_grant() -> ValidationError:
    return ValidationError(
        {"owner": [_("A record you see through an access grant cannot be given to another owner or team.")]}
    )


def _check_owner(actor: Any, owner: Any) -> None:
    """Agents keep what they make; managers give records within their team; the DPO and
    administrators to anyone (or to no one)."""
    if not _is_user(actor) or actor.can(Capability.ASSIGN_ANY_OWNER):
        return
    if owner is None:
        raise ValidationError({"owner": [_("Choose an owner.")]})
    if owner == actor:
        return
    if actor.can(Capability.ASSIGN_TEAM_OWNER) and actor.team_id and owner.team_id == actor.team_id:
        return
    raise ValidationError({"owner": [_("You cannot give records to this user.")]})


def _check_team(actor: Any, team: Any) -> None:
    """A record may be put in another team's scope only by those who see every team."""
    if not _is_user(actor) or actor.can(Capability.ASSIGN_ANY_OWNER):
        return
    if team is not None and team.pk != actor.team_id:
        raise ValidationError({"team": [_("You cannot give records to this team.")]})


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
    now = timezone.now()
    updated = (
        type(instance)
        .objects.filter(pk=instance.pk, version=version)
        .update(**values, version=F("version") + 1, updated_at=now)
    )
    if updated == 0:
        raise ConflictError(
            _("Someone else changed this record meanwhile. Reload it and apply your change again."),
            code="stale_version",
        )
    if instance.version != version or any(hasattr(value, "resolve_expression") for value in values.values()):
        instance.refresh_from_db()
        return
    # The row held what the instance holds (every write moves the version, and the version
    # matched): apply the same change to the instance rather than read the row back.
    for name, value in values.items():
        setattr(instance, name, value)
    instance.version = version + 1
    instance.updated_at = now
    instance.__dict__.pop("_prefetched_objects_cache", None)  # as refresh_from_db does


def _set_archived(instance: Any, action: A, *, actor: Any, archived: bool, reason: str) -> Any:
    ensure_in_scope(actor, instance)
    if (instance.archived_at is not None) == archived:
        return instance
    if not archived and instance.merged_into_id is not None:
        # Its contacts, employers and notes live on the record it was merged into now.
        raise ConflictError(_("A merged record cannot be restored."), code="restore_merged")
    old = instance.archived_at
    _compare_and_set(instance, {"archived_at": timezone.now() if archived else None}, None)
    subject = instance.pk if isinstance(instance, Person) else None
    changes = {"archived_at": (old, instance.archived_at)}
    record(action, actor=actor, target=instance, changes=changes, reason=reason, subject_id=subject)
    return instance


def _check_mergeable(actor: Any, primary: Any, duplicate: Any) -> None:
    for record_ in (primary, duplicate):
        ensure_in_scope(actor, record_)
    # Merging a record seen through a grant with one of one's own would keep it (or its data,
    # employers and people) in one's own scope after the grant ends.
    if in_own_scope(actor, primary) != in_own_scope(actor, duplicate):
        raise ConflictError(
            _("A record you see through an access grant cannot be merged with one of your own."),
            code="merge_granted",
        )
    if primary.pk == duplicate.pk or duplicate.merged_into_id or primary.merged_into_id:
        raise ConflictError(_("These two records cannot be merged."), code="merge_invalid")


def _filled_from(primary: Any, duplicate: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The duplicate's values for the fields the primary leaves empty."""
    return {name: getattr(duplicate, name) for name in names if not getattr(primary, name) and getattr(duplicate, name)}


@dataclass(frozen=True)
class MergeActions:
    merged: A
    away: A


def _finish_merge(
    primary: Any, duplicate: Any, values: dict[str, Any], actions: MergeActions, *, actor: Any, reason: str
) -> None:
    """Write the primary's new values and archive the duplicate pointing at it, with an event on
    each (the duplicate's children have been moved already)."""
    is_person = isinstance(primary, Person)
    changes = diff(_snapshot(primary, list(values)), values)
    if changes:
        _compare_and_set(primary, {name: values[name] for name in changes}, None)
    changes["merged_from"] = (None, audit_value(duplicate))
    subject = primary.pk if is_person else None
    record(actions.merged, actor=actor, target=primary, changes=changes, reason=reason, subject_id=subject)
    _compare_and_set(duplicate, {"merged_into": primary, "archived_at": timezone.now()}, None)
    away = {"merged_into": (None, audit_value(primary))}
    record(
        actions.away,
        actor=actor,
        target=duplicate,
        changes=away,
        reason=reason,
        subject_id=duplicate.pk if is_person else None,
    )
