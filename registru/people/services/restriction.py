"""Restriction of processing (GDPR Art. 18): the person's data is kept, not processed.

While a person is restricted, marketing, consent invitations, data-update questionnaires and
exports leave them out (each of those reads ``Person.status``, the send gate at the moment of
sending); the record can still be corrected, which is how a contested accuracy is settled, and
the person can still withdraw a consent. Only the data protection officer restricts and lifts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from registru.accounts.roles import Capability
from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.errors import ConflictError
from registru.core.services import service
from registru.people.choices import PersonStatus, RestrictionGround
from registru.people.models import Person
from registru.people.services.common import _is_user, ensure_in_scope


@service
def restrict_processing(person: Person, *, actor: Any, ground: str, reason: str) -> Person:
    """Restrict processing of the person's data on one of the four grounds of Art. 18(1), from
    now until ``lift_restriction``. Refused for an erased, merged or already restricted person.
    """
    _ensure_may_restrict(actor)
    errors = _reason_errors(reason)
    if ground not in RestrictionGround.values:
        errors["ground"] = [_("Choose one of the four cases of Art. 18(1) GDPR.")]
    if errors:
        raise ValidationError(errors)
    _check_restrictable(person)  # the state first, as in erase_person: the erased are in nobody's scope
    ensure_in_scope(actor, person)
    now = timezone.now()
    old = _state(person)
    new = {"status": PersonStatus.RESTRICTED, "restriction_ground": ground, "restricted_since": now}
    # Compare-and-set on the state, not on the version: an edit of the record meanwhile does not
    # stand in the way, a restriction (or an erasure, a merge) by someone else does.
    _set_state(person, old | {"merged_into": None}, new, _check_restrictable)
    changes = {name: (old[name], new[name]) for name in new}
    record(A.PERSON_RESTRICTED, actor=actor, target=person, changes=changes, reason=reason, subject_id=person.pk)
    return person


@service
def lift_restriction(person: Person, *, actor: Any, reason: str, person_informed: bool) -> Person:
    """Lift the restriction: the person's data is processed again as before. Art. 18(3) requires
    telling the person before it is lifted, so the actor confirms they were (``person_informed``,
    kept in the event)."""
    _ensure_may_restrict(actor)
    errors = _reason_errors(reason)
    if person_informed is not True:
        errors["person_informed"] = [
            _("Confirm that the person was told before the restriction is lifted (Art. 18(3) GDPR).")
        ]
    if errors:
        raise ValidationError(errors)
    _check_lifted(person)
    ensure_in_scope(actor, person)
    old = _state(person)
    new = {"status": PersonStatus.ACTIVE, "restriction_ground": None, "restricted_since": None}
    _set_state(person, old, new, _check_lifted)
    changes: dict[str, tuple[Any, Any]] = {name: (old[name], new[name]) for name in new}
    changes["person_informed"] = (None, True)
    record(A.PERSON_RESTRICTION_LIFTED, actor=actor, target=person, changes=changes, reason=reason,
           subject_id=person.pk)  # fmt: skip
    return person


def _state(person: Person) -> dict[str, Any]:
    return {name: getattr(person, name) for name in ("status", "restriction_ground", "restricted_since")}


def _ensure_may_restrict(actor: Any) -> None:
    if _is_user(actor) and not actor.can(Capability.RESTRICT_PROCESSING):
        raise PermissionDenied(_("Only the data protection officer restricts processing or lifts a restriction."))


def _reason_errors(reason: str) -> dict[str, list[str]]:
    if not (reason or "").strip():
        return {"reason": [_("Give the reason: the request or the rule this answers.")]}
    return {}


def _check_restrictable(person: Person) -> None:
    if person.status == PersonStatus.ERASED:
        raise ConflictError(
            _("This person has been erased: there is nothing left to restrict."), code="restrict_erased"
        )
    if person.merged_into_id is not None:
        raise ConflictError(
            _("This record was merged into another one: restrict that one instead."), code="restrict_merged"
        )
    if person.status == PersonStatus.RESTRICTED:
        raise ConflictError(_("Processing of this person's data is already restricted."), code="already_restricted")


def _check_lifted(person: Person) -> None:
    if person.status != PersonStatus.RESTRICTED:
        raise ConflictError(_("Processing of this person's data is not restricted."), code="not_restricted")


def _set_state(
    person: Person, expected: dict[str, Any], values: dict[str, Any], check: Callable[[Person], None]
) -> None:
    """Write ``values`` if the row still holds ``expected``; otherwise say what it holds now."""
    now = timezone.now()
    updated = Person.objects.filter(pk=person.pk, **expected).update(**values, version=F("version") + 1, updated_at=now)
    person.refresh_from_db()
    if updated == 0:
        check(person)  # refused for what the row holds now (restricted, erased, merged meanwhile)
        raise ConflictError(
            _("Someone else changed this record meanwhile. Reload it and apply your change again."),
            code="stale_version",
        )
