"""The public pages people reach from their email: no login, a signed token in the URL.

A bad link (tampered, expired, another person's, already used, closed) gets a page that says so
in plain words, with a 4xx status, and changes nothing.
"""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from registru.campaigns.models import OPEN_INVITATIONS, Invitation, InvitationStatus
from registru.campaigns.services import AlreadyAnsweredError, answer_invitation, mark_opened, questions
from registru.consent.services import Evidence
from registru.core.actors import SubjectActor
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.portal import links, preferences
from registru.portal.tokens import TokenError, TokenUse

SUBJECT = SubjectActor()
# Invitations close at their own ``expires_at``; the token's age is only a backstop.
INVITATION_TOKEN_AGE = links.PREFERENCES_VALID


def problem(
    request: HttpRequest, reason: str, status: int = 400, language: str | None = None, *, kind: str = "invitation"
) -> HttpResponse:
    """The page for a link that cannot be used, saying why (nothing was changed). ``kind`` names
    what the link was for (invitation, questionnaire, preferences, unsubscribe), so that the
    page speaks of it, not of an invitation."""
    with translation.override(language or translation.get_language()):
        return render(request, "portal/problem.html", {"reason": reason, "kind": kind}, status=status)


def evidence_of(request: HttpRequest) -> Evidence:
    return Evidence(ip=get_client_ip_address(request) or "", user_agent=request.META.get("HTTP_USER_AGENT", "")[:400])


# Invitations -------------------------------------------------------------------------------


def _open_invitation(token: str) -> Invitation | str:
    """The invitation a token opens, or why it opens none."""
    return links.open_record(
        TokenUse.INVITATION, token, INVITATION_TOKEN_AGE, Invitation.objects.select_related("campaign", "person"),
        lambda found: links.invitation_binding(found.person_id, found.campaign_id, found.notices),
    )  # fmt: skip


def _closed_reason(invitation: Invitation) -> str:
    if invitation.status == InvitationStatus.ANSWERED:
        return "answered"
    person = invitation.person
    if person.status != PersonStatus.ACTIVE or person.archived_at is not None:
        return "closed"
    if invitation.status == InvitationStatus.EXPIRED or (
        invitation.expires_at is not None and invitation.expires_at <= timezone.now()
    ):
        return "expired"
    if invitation.status not in OPEN_INVITATIONS:
        return "closed"
    return ""


def _usable_invitation(request: HttpRequest, token: str) -> tuple[Invitation, list] | HttpResponse:
    """The invitation a token opens and what it asks, or the page that says why it cannot be used."""
    found = _open_invitation(token)
    if isinstance(found, str):
        return problem(request, found, status=410 if found == "expired" else 400)
    closed = _closed_reason(found)
    if closed:
        return _closed(request, found, closed)
    asked = questions(found)
    if not asked:  # every purpose it asked about has been retired since
        return _closed(request, found, "closed")
    return found, asked


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    usable = _usable_invitation(request, token)
    if isinstance(usable, HttpResponse):
        return usable
    found, asked = usable
    with translation.override(found.language):
        if request.method == "POST":
            return _answer(request, found, asked)
        # Showing the page records nothing: mail filters fetch the link before the person sees
        # the message. The page's script reports the person's first interaction (``invitation_opened``).
        return render(request, "portal/invitation.html", _invitation_context(found, asked, token=token))


@require_POST
def invitation_opened(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation page's script says a person used the page (a tap, a click, a key): the
    campaign counts the invitation as opened, once. CSRF-checked like the page's form, so only
    the page itself can say it."""
    usable = _usable_invitation(request, token)
    if isinstance(usable, HttpResponse):
        return usable
    mark_opened(usable[0], actor=SUBJECT)
    return HttpResponse(status=204)


def _invitation_context(found: Invitation, asked: list, errors: str = "", *, token: str = "") -> dict:
    by_purpose: dict[str, dict] = {}
    for question in asked:
        entry = by_purpose.setdefault(
            question.purpose.code,
            {"purpose": question.purpose, "name": question.purpose.name(found.language), "notice": question.notice,
             "questions": []},
        )  # fmt: skip
        entry["questions"].append(question)
    return {"invitation": found, "purposes": list(by_purpose.values()), "errors": errors, "token": token}


def _answer(request: HttpRequest, found: Invitation, asked: list) -> HttpResponse:
    allowed = {question.field for question in asked}
    chosen = set(request.POST.getlist("choice"))
    if not chosen <= allowed:
        return problem(request, "tampered", language=found.language)
    try:
        answer_invitation(found, chosen, actor=SUBJECT, evidence=evidence_of(request))
    except AlreadyAnsweredError:
        return _closed(request, found, "answered")
    granted = [question for question in asked if question.field in chosen]
    return render(
        request, "portal/answered.html",
        {"granted": granted, "preferences_url": links.preferences_url(found.person_id), "language": found.language},
    )  # fmt: skip


def _closed(request: HttpRequest, found: Invitation, reason: str) -> HttpResponse:
    with translation.override(found.language):
        context = {"reason": reason}
        if reason == "answered":
            context["preferences_url"] = links.preferences_url(found.person_id)
        return render(request, "portal/problem.html", context, status=410 if reason == "expired" else 409)


# The preference centre ---------------------------------------------------------------------


# A restricted person (Art. 18) may still take consent back (Art. 7(3)): withdrawing is always
# possible, granting waits until the restriction is lifted; an archived person, who is asked
# nothing any more, may only withdraw too.
MAY_WITHDRAW = (PersonStatus.ACTIVE, PersonStatus.RESTRICTED)


def _person_for(use: TokenUse, token: str) -> tuple[Person, str] | str:
    try:
        opened = links.read_person_link(use, token)
    except TokenError as error:
        return error.reason
    person = _surviving(Person.objects.filter(pk=opened.record_id).first())
    if person is None or person.status not in MAY_WITHDRAW:
        return "closed"
    return person, opened.extra


def _surviving(person: Person | None) -> Person | None:
    """The record a merged duplicate was folded into: links in the messages sent to the
    duplicate stay the person's way out (merges never point at a merged record, so this ends)."""
    while person is not None and person.merged_into_id is not None:
        person = Person.objects.filter(pk=person.merged_into_id).first()
    return person


@require_http_methods(["GET", "POST"])
def preference_centre(request: HttpRequest, token: str) -> HttpResponse:
    found = _person_for(TokenUse.PREFERENCES, token)
    if isinstance(found, str):
        return problem(request, found, status=410 if found == "expired" else 400, kind="preferences")
    person, _extra = found
    with translation.override(person.preferred_language):
        rows = preferences.rows_for(person)
        saved = False
        if request.method == "POST":
            wanted = set(request.POST.getlist("choice"))
            if not wanted <= {row.field for row in rows}:
                return problem(request, "tampered", kind="preferences")
            may_grant = person.status == PersonStatus.ACTIVE and person.archived_at is None
            preferences.apply(person, rows, wanted, actor=SUBJECT, evidence=evidence_of(request), may_grant=may_grant)
            rows, saved = preferences.rows_for(person), True
        return render(request, "portal/preferences.html", {"rows": rows, "saved": saved, "person": person})


# One-click unsubscribe (RFC 8058) ----------------------------------------------------------


def _asks_one_click(request: HttpRequest) -> bool:
    """The POST says "List-Unsubscribe=One-Click" (RFC 8058, section 3.2), form-encoded or
    multipart as mail clients send it (Django parses no other body into ``POST``); the page's
    own button sends the same field."""
    return request.POST.get("List-Unsubscribe") == "One-Click"


@csrf_exempt  # mail clients POST "List-Unsubscribe=One-Click" with no session and no CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = _person_for(TokenUse.UNSUBSCRIBE, token)
    if isinstance(found, str):
        return problem(request, found, status=410 if found == "expired" else 400, kind="unsubscribe")
    person, purpose_code = found
    purpose = preferences.marketing_purpose(purpose_code)
    if purpose is None:
        return problem(request, "closed", kind="unsubscribe")
    with translation.override(person.preferred_language):
        if request.method == "GET":
            # Opening the link (or a mail scanner prefetching it) withdraws nothing: it asks.
            return render(request, "portal/unsubscribe.html", {"purpose": purpose.name(person.preferred_language)})
        if not _asks_one_click(request):
            # Anything else POSTed here (a link checker, a stray form) is not the person asking.
            return problem(request, "not_one_click", kind="unsubscribe")
        preferences.unsubscribe(person, purpose, actor=SUBJECT, evidence=evidence_of(request))
        return render(
            request, "portal/unsubscribed.html",
            {"purpose": purpose.name(person.preferred_language), "preferences_url": links.preferences_url(person.pk)},
        )  # fmt: skip
