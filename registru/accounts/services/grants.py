"""Access requests and grants: filing, deciding, withdrawing, revoking, and who may do each.

The requester cannot see the record they ask for, so they name it by a CUI, an email address
or a phone number, and they are answered exactly alike whether it names a record or not (the
invariant "a user never learns whether a record outside their scope exists"). A request that
matches nothing is kept without a record: nobody can decide it. Every request, matched or not,
has ``settle_after = created_at + PENDING_FOR``: a request nobody decided lapses as refused then,
and a refusal by a decider, recorded at once, reads as "waiting for a decision" to the requester
until then too, so a refusal always reaches the requester at that one moment, whether or not the
identifier named a record (``settle_lapsed_requests`` sends the notice). Only an approval is
shown (and notified) at once. Filing does the same work either way: the deciders are found and told by a background task
(``accounts.tasks.notify_access_deciders``), enqueued for every request, so the time the
filing takes does not depend on the match. Each user may file ``FILINGS_PER_WINDOW`` requests
per ``FILING_WINDOW``, which bounds how many identifiers they can try.

Deciders: the record's owner (any role; a person is also "owned" by the owners of the
organizations they currently work at), users who may decide access (managers, the DPO) for
records in their own scope, grants left out (so a key account is its owner's and the DPO's to
decide), and never the requester.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registru.accounts.models import AccessRequest, User
from registru.accounts.models.grants import GrantAccess, IdentifiedBy, RequestStatus
from registru.accounts.notify import notify_users, page, staff_key, users_who_can
from registru.accounts.roles import Capability, RecordScope
from registru.audit.actions import AuditAction as A
from registru.audit.services import record
from registru.core.actors import SystemActor
from registru.core.errors import ConflictError, NotInScopeError
from registru.core.scopes import Action, restrict
from registru.core.services import service
from registru.mail.models import OutboundMessage
from registru.people import search
from registru.people.choices import PersonStatus
from registru.people.models import Organization, Person
from registru.people.scopes import (
    current_affiliations,
    organizations_in_own_scope,
    organizations_owned_by,
    people_in_own_scope,
    people_owned_by,
)
from registru.people.validation import normalize_email, normalize_phone, normalize_tax_id

MAX_DAYS = 90
# Every request, whatever it names, settles this long after filing: undecided, it lapses as
# refused; refused by a decider, the refusal is shown to the requester (docs/access.md).
PENDING_FOR = timedelta(days=7)
# The settlement looks back this far for refusals whose notice is still to be sent (a refusal
# whose moment is older than this was notified already, or the job was down for a week).
NOTICE_WITHIN = timedelta(days=7)
FILINGS_PER_WINDOW = 10
FILING_WINDOW = timedelta(hours=24)
# How many search-index hits are checked for an exact email or phone match.
CANDIDATES = 200
SETTLER = SystemActor("access requests")

type Record = Person | Organization


# --- naming a record --------------------------------------------------------------------------


@dataclass(frozen=True)
class Identifier:
    """What the requester named the record by, normalised."""

    kind: IdentifiedBy
    value: str

    @property
    def digest(self) -> str:
        return salted_hmac("registru.access-request", f"{self.kind}:{self.value}", algorithm="sha256").hexdigest()

    @property
    def hint(self) -> str:
        """Masked, for the requester's list: ``a***@firma.ro``, ``+40 7** *** 123``, the CUI."""
        if self.kind == IdentifiedBy.EMAIL:
            local, _at, domain = self.value.partition("@")
            return f"{local[:1]}***@{domain}"
        if self.kind == IdentifiedBy.PHONE:
            return f"{self.value[:3]} {self.value[3:4]}** *** {self.value[-3:]}"
        return self.value


def parse_identifier(kind: str, raw: str) -> Identifier:
    """Validate and normalise; a malformed value is refused whether or not a record has it."""
    kind = IdentifiedBy(kind)
    if kind == IdentifiedBy.CUI:
        value = normalize_tax_id(raw, "")
        if not value:
            raise ValidationError(_("Enter the organization's tax id (CUI)."), code="required")
        return Identifier(kind, value.removeprefix("RO") if value.removeprefix("RO").isdigit() else value)
    if kind == IdentifiedBy.EMAIL:
        return Identifier(kind, normalize_email(raw).casefold())
    return Identifier(kind, normalize_phone(raw))


def find_record(identifier: Identifier) -> Record | None:
    """The record the identifier names, whoever may see it (never shown to the requester)."""
    if identifier.kind == IdentifiedBy.CUI:
        digits = identifier.value
        organizations = Organization.objects.filter(cui__in=[digits, f"RO{digits}"], merged_into__isnull=True)
        return organizations.order_by("pk").first()
    if identifier.kind == IdentifiedBy.EMAIL:
        term, matches = identifier.value, lambda person: identifier.value in {e.casefold() for e in person.emails}
    else:
        term, matches = identifier.value.lstrip("+"), lambda person: identifier.value in person.phones
    ids = search.first_matches([search.normalize(term)], CANDIDATES)
    candidates = Person.objects.filter(pk__in=ids, merged_into__isnull=True).exclude(status=PersonStatus.ERASED)
    # Two people with one address: the oldest record is asked for; the decider sees which.
    return next((person for person in candidates.order_by("pk") if matches(person)), None)


def _in_scope(user: Any, target: Record, access: str) -> bool:
    action = Action.CHANGE if access == GrantAccess.CHANGE else Action.VIEW
    return restrict(user, type(target), action).filter(pk=target.pk).exists()


# --- who decides ------------------------------------------------------------------------------


def _decidable(user: User) -> Q:
    """The requests (of any status) whose record ``user`` may decide on."""
    owned = Q(person__in=people_owned_by(user).values("pk")) | Q(
        organization__in=organizations_owned_by(user).values("pk")
    )
    if not user.can(Capability.DECIDE_ACCESS):
        return owned
    if user.record_scope is RecordScope.ALL:
        return Q(person__isnull=False) | Q(organization__isnull=False)
    own_scope = Q(person__in=people_in_own_scope(user).values("pk")) | Q(
        organization__in=organizations_in_own_scope(user).values("pk")
    )
    return own_scope | owned


def requests_to_decide(user: User) -> QuerySet[AccessRequest]:
    """Pending requests ``user`` may approve or refuse: never their own."""
    if not user.is_active:
        return AccessRequest.objects.none()
    return AccessRequest.objects.open().exclude(requester_id=user.pk).filter(_decidable(user))


def grants_to_revoke(user: User) -> QuerySet[AccessRequest]:
    """Active grants ``user`` may end: those they could decide, and those they approved."""
    if not user.is_active:
        return AccessRequest.objects.none()
    return AccessRequest.objects.active().filter(_decidable(user) | Q(decided_by_id=user.pk))


def requests_of(user: Any) -> QuerySet[AccessRequest]:
    """The user's own requests, newest first."""
    return AccessRequest.objects.filter(requester_id=user.pk).order_by("-created_at", "-pk")


def request_for(user: User, pk: int) -> AccessRequest:
    """A request the user filed, may decide, or decided; ``DoesNotExist`` otherwise."""
    if not user.is_active:
        raise AccessRequest.DoesNotExist
    visible = Q(requester_id=user.pk) | Q(decided_by_id=user.pk) | (~Q(requester_id=user.pk) & _decidable(user))
    return AccessRequest.objects.select_related("requester", "decided_by", "revoked_by").filter(visible).get(pk=pk)


def may_decide(user: User, request: AccessRequest) -> bool:
    return requests_to_decide(user).filter(pk=request.pk).exists()


def may_revoke(user: User, request: AccessRequest) -> bool:
    return grants_to_revoke(user).filter(pk=request.pk).exists()


def record_shown(user: User, request: AccessRequest) -> Record | None:
    """The request's record, if ``user`` may see it now (deciders; requesters with a grant)."""
    target: Record | None = request.person or request.organization
    if target is None or not restrict(user, type(target), Action.VIEW).filter(pk=target.pk).exists():
        return None
    return target


def deciders_of(request: AccessRequest) -> list[User]:
    """Everyone who will find ``request`` on their "to decide" page."""
    owners: set[int | None] = set()
    if request.organization is not None:
        owners.add(request.organization.owner_id)
    if request.person is not None:
        owners.add(request.person.owner_id)
        employers = current_affiliations().filter(person_id=request.person.pk)
        owners |= set(employers.values_list("organization__owner_id", flat=True))
    candidates = {user.pk: user for user in users_who_can(Capability.DECIDE_ACCESS)}
    owner_ids = [pk for pk in owners if pk is not None]
    candidates |= {user.pk: user for user in User.objects.filter(pk__in=owner_ids, is_active=True)}
    return [user for user in candidates.values() if user.pk != request.requester_id and may_decide(user, request)]


# --- the procedure ----------------------------------------------------------------------------


def _check_terms(access: str, days: int, reason: str) -> None:
    errors: dict[str, list[str]] = {}
    if access not in GrantAccess.values:
        errors["access"] = [_("Choose view, or view and change.")]
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = [_("Ask for 1 to %(most)s days.") % {"most": MAX_DAYS}]
    if not reason.strip():
        errors["reason"] = [_("Say why you need this record.")]
    if errors:
        raise ValidationError(errors)


def _check_filing_rate(actor: User) -> None:
    """At most ``FILINGS_PER_WINDOW`` filings per rolling window, withdrawn ones included."""
    since = timezone.now() - FILING_WINDOW
    if AccessRequest.objects.filter(requester_id=actor.pk, created_at__gt=since).count() >= FILINGS_PER_WINDOW:
        message = _("You have filed %(most)s access requests in the last 24 hours, the most allowed: try again later.")
        raise ValidationError(message % {"most": FILINGS_PER_WINDOW}, code="too_many_requests")


@service
def file_access_request(
    *, actor: User, identified_by: str, identifier: str, access: str, days: int, reason: str
) -> AccessRequest:
    """Ask for access to the record ``identifier`` names; answered alike whether it exists or not.

    Raises ``ConflictError`` ``already_in_scope`` when the actor can already do what they ask
    (that tells them nothing new), or ``duplicate_request`` when the same request is waiting,
    and ``ValidationError`` ``too_many_requests`` past the filing rate (before any look-up).
    The deciders are told by a task enqueued (on commit) for every request, matched or not.
    """
    from registru.accounts.tasks import notify_access_deciders  # the tasks module imports this one

    if not actor.can(Capability.BROWSE_RECORDS):
        raise PermissionDenied(_("Your role does not work with people and organizations."))
    _check_filing_rate(actor)
    _check_terms(access, days, reason)
    try:
        named = parse_identifier(identified_by, identifier)
    except ValidationError as exc:
        raise ValidationError({"identifier": exc.messages}) from exc
    target = find_record(named)
    if target is not None and _in_scope(actor, target, access):
        raise ConflictError(_("You already have this access: search for the record."), code="already_in_scope")
    # "Waiting" as the requester reads it: a request refused but not shown yet is a duplicate too.
    waiting = AccessRequest.objects.shown_waiting().filter(
        requester_id=actor.pk, identifier_digest=named.digest, access=access
    )
    if (earlier := waiting.first()) is not None:
        message = _("You asked for this already: request #%(number)s is waiting for a decision.")
        raise ConflictError(message % {"number": earlier.pk}, code="duplicate_request")
    request = AccessRequest.objects.create(
        requester=actor,
        person=target if isinstance(target, Person) else None,
        organization=target if isinstance(target, Organization) else None,
        identified_by=named.kind,
        identifier_hint=named.hint[:120],
        identifier_digest=named.digest,
        access=access,
        days=days,
        reason=reason.strip(),
        settle_after=timezone.now() + PENDING_FOR,
    )
    changes = {
        "access": (None, access),
        "days": (None, days),
        "identified_by": (None, str(named.kind)),
        "matched": (None, target is not None),
    }
    if isinstance(target, Organization):
        changes["organization"] = (None, {"id": target.pk, "label": target.name})
    record(
        A.ACCESS_REQUESTED,
        actor=actor,
        target=request,
        changes=changes,
        reason=request.reason,
        subject_id=request.person_id,
    )
    notify_access_deciders.enqueue(request.pk)
    return request


def _ensure_decider(actor: User, request: AccessRequest) -> None:
    if request.requester_id == actor.pk:
        raise PermissionDenied(_("You cannot decide your own request."))
    if not AccessRequest.objects.filter(_decidable(actor), pk=request.pk).exists():
        raise NotInScopeError(f"access request {request.pk} is not the actor's to decide")


def _not_pending() -> ConflictError:
    return ConflictError(_("This request was decided or withdrawn meanwhile."), code="not_pending")


@service
def approve_access_request(
    request: AccessRequest, *, actor: User, days: int | None = None, access: str | None = None, note: str = ""
) -> AccessRequest:
    """Grant what was asked, or less (fewer days, view only), from now on."""
    _ensure_decider(actor, request)
    days = request.days if days is None else days
    access = request.access if access is None else access
    if not 1 <= days <= request.days:
        raise ValidationError(
            {"days": [_("Give 1 to %(most)s days: no more than was asked.") % {"most": request.days}]}
        )
    if access not in GrantAccess.values or (access == GrantAccess.CHANGE and request.access == GrantAccess.VIEW):
        raise ValidationError({"access": [_("You cannot give more access than was asked.")]})
    now = timezone.now()
    expires_at = now + timedelta(days=days)
    values = {"status": RequestStatus.APPROVED, "decided_by": actor, "decided_at": now}
    values |= {"expires_at": expires_at, "access": access, "decision_note": note.strip()}
    if not AccessRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING, settle_after__gt=now).update(
        **values
    ):
        raise _not_pending()
    changes: dict[str, tuple[Any, Any]] = {
        "status": (RequestStatus.PENDING, RequestStatus.APPROVED),
        "expires_at": (None, expires_at),
    }
    if access != request.access:
        changes["access"] = (request.access, access)
    request.refresh_from_db()
    record(
        A.ACCESS_APPROVED,
        actor=actor,
        target=request,
        changes=changes,
        reason=request.decision_note,
        subject_id=request.person_id,
    )
    until = timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M")
    _notify_requester(
        request,
        "approved",
        gettext_lazy("Your access request #{number} was approved until {until}."),
        actor=actor,
        until=until,
    )
    return request


@service
def refuse_access_request(request: AccessRequest, *, actor: User, note: str = "") -> AccessRequest:
    """Refuse a pending request, at once for the deciders and the trail.

    The requester reads it as waiting until ``settle_after``, as they would an unmatched or an
    undecided request; from then on it reads as refused, with the note, and the settlement
    (``settle_lapsed_requests``) sends the notice.
    """
    _ensure_decider(actor, request)
    now = timezone.now()
    values = {"status": RequestStatus.REFUSED, "decided_by": actor, "decided_at": now, "decision_note": note.strip()}
    if not AccessRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING, settle_after__gt=now).update(
        **values
    ):
        raise _not_pending()
    request.refresh_from_db()
    _record_refusal(request, actor=actor, reason=request.decision_note)
    return request


def _record_refusal(request: AccessRequest, *, actor: Any, reason: str) -> None:
    changes = {"status": (RequestStatus.PENDING, RequestStatus.REFUSED)}
    record(A.ACCESS_REFUSED, actor=actor, target=request, changes=changes, reason=reason, subject_id=request.person_id)


@service
def withdraw_access_request(request: AccessRequest, *, actor: User) -> AccessRequest:
    """The requester takes back a request that reads to them as waiting.

    That includes one a decider refused whose refusal is not shown yet: refusing it to withdraw
    would tell the requester it was refused. It becomes withdrawn (the refusal stays in the
    trail and on the deciders' page, and its notice is never sent), exactly as a pending one.
    """
    if request.requester_id != actor.pk:
        raise NotInScopeError(f"access request {request.pk} is not the actor's")
    now = timezone.now()
    waiting = AccessRequest.objects.filter(pk=request.pk, settle_after__gt=now)
    if waiting.filter(status=RequestStatus.PENDING).update(status=RequestStatus.WITHDRAWN, decided_at=now):
        was = RequestStatus.PENDING
    elif waiting.filter(status=RequestStatus.REFUSED).update(status=RequestStatus.WITHDRAWN):
        was = RequestStatus.REFUSED  # decided_by, decided_at and the note stay: the refusal's
    else:
        raise _not_pending()
    request.refresh_from_db()
    changes = {"status": (was, RequestStatus.WITHDRAWN)}
    record(A.ACCESS_WITHDRAWN, actor=actor, target=request, changes=changes, subject_id=request.person_id)
    return request


@service
def revoke_access_grant(request: AccessRequest, *, actor: User, reason: str) -> AccessRequest:
    """End an active grant now; ``restrict()`` stops counting it at once."""
    if not AccessRequest.objects.filter(_decidable(actor) | Q(decided_by_id=actor.pk), pk=request.pk).exists():
        raise NotInScopeError(f"access grant {request.pk} is not the actor's to revoke")
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why.")]})
    now = timezone.now()
    active = AccessRequest.objects.filter(pk=request.pk, status=RequestStatus.APPROVED, expires_at__gt=now)
    if not active.update(
        status=RequestStatus.REVOKED, revoked_by=actor, revoked_at=now, revocation_reason=reason.strip()[:500]
    ):
        raise ConflictError(_("This grant has ended already."), code="not_active")
    request.refresh_from_db()
    changes = {"status": (RequestStatus.APPROVED, RequestStatus.REVOKED), "revoked_at": (None, now)}
    record(
        A.ACCESS_REVOKED,
        actor=actor,
        target=request,
        changes=changes,
        reason=reason.strip(),
        subject_id=request.person_id,
    )
    _notify_requester(request, "revoked", gettext_lazy("Your access grant #{number} was revoked."), actor=actor)
    return request


@service
def settle_lapsed_requests(*, actor: Any = SETTLER) -> int:
    """Settle the requests whose ``settle_after`` has come; returns how many notices it queued.

    A request nobody decided (and every request that matched nothing) is recorded as refused,
    with its event. Then every refused request whose moment has come is notified to its
    requester, once (the outbox key makes a second run send nothing): the same notice whether a
    decider refused it days ago or it lapsed just now. Refusals whose moment is older than
    ``NOTICE_WITHIN`` are not looked at again, so the scan stays small.
    """
    now = timezone.now()
    lapsed: list[int] = []
    for request in AccessRequest.objects.filter(status=RequestStatus.PENDING, settle_after__lte=now):
        if not AccessRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING).update(
            status=RequestStatus.REFUSED, decided_at=now
        ):
            continue
        request.refresh_from_db()
        matched = request.person_id is not None or request.organization_id is not None
        reason = "no decision in time" if matched else "no record matches the identifier"
        _record_refusal(request, actor=actor, reason=reason)
        lapsed.append(request.pk)
    due = AccessRequest.objects.filter(status=RequestStatus.REFUSED, settle_after__lte=now).filter(
        Q(settle_after__gt=now - NOTICE_WITHIN) | Q(pk__in=lapsed)
    )
    due_requests = list(due.select_related("requester").order_by("settle_after", "pk"))
    told = set(
        OutboundMessage.objects.filter(
            idempotency_key__in=[_outbox_key(request, "refused") for request in due_requests]
        ).values_list("idempotency_key", flat=True)
    )
    notified = 0
    for request in due_requests:
        if _outbox_key(request, "refused") in told:
            continue
        text = gettext_lazy("Your access request #{number} was refused.")
        notified += _notify_requester(request, "refused", text, actor=actor)
    return notified


# --- notices (by request number only, never naming the person) ------------------------------


@service
def notify_deciders(request_id: int, *, actor: Any = SETTLER) -> int:
    """Tell the deciders of a request still waiting that it is theirs to decide (run by a task
    for every filing); a request that matched nothing, or is no longer open, tells nobody."""
    request = AccessRequest.objects.open().select_related("requester").filter(pk=request_id).first()
    if request is None or (request.person_id is None and request.organization_id is None):
        return 0
    return notify_users(
        deciders_of(request),
        key=f"access:{request.pk}:filed",
        subject=format_lazy(gettext_lazy("Access request #{number} to decide"), number=request.pk),
        body=format_lazy(
            gettext_lazy("{requester} asks for access to a record. Open request #{number} to approve or refuse it."),
            requester=request.requester.label,
            number=request.pk,
        ),
        path=page("accounts:access_detail", request.pk),
        actor=actor,
    )


def _notice_key(request: AccessRequest, event: str) -> str:
    return f"access:{request.pk}:{event}"


def _outbox_key(request: AccessRequest, event: str) -> str:
    """The outbox's idempotency key of the requester's notice (as ``notify_users`` makes it)."""
    return staff_key(_notice_key(request, event), request.requester_id)


def _notify_requester(request: AccessRequest, event: str, text: Any, *, actor: Any, **values: Any) -> int:
    return notify_users(
        [request.requester],
        key=_notice_key(request, event),
        subject=format_lazy(gettext_lazy("Access request #{number}"), number=request.pk),
        body=format_lazy(text, number=request.pk, **values),
        path=page("accounts:access_detail", request.pk),
        actor=actor,
    )
