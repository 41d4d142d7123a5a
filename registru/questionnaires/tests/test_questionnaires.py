"""Data-update questionnaires end to end through a real SMTP server and the public page: who is
asked, the link, confirming, correcting (at once or after review), reminders, expiry and stale."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from registru.audit.models import AuditEvent
from registru.conftest import login
from registru.core.context import Channel, audit_context, service_scope
from registru.mail.models import OutboundMessage
from registru.mail.services import deliver_due
from registru.people import services as people
from registru.people.choices import PersonStatus
from registru.people.models import Person
from registru.portal import links
from registru.questionnaires import services
from registru.questionnaires.models import Answer, Proposal, ProposalStatus, Request, RequestStatus, Response
from registru.testing.factories import SETUP, PersonFactory, plain
from registru.testing.questionnaires import make_questionnaire
from registru.testing.smtp import body_of

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+?(/p/q/[^/\s]+/)")


def link_for(inbox: Any, person: Person) -> str:
    mine = [m for m in inbox.messages if m["To"] == person.primary_email]
    assert mine, "no message reached the person"
    found = LINK.search(body_of(mine[-1]))
    assert found, body_of(mine[-1])
    return found.group(1)


def page_fields(client: Client, path: str) -> dict[str, str]:
    """What the page pre-fills, as a browser would send it back."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.names}
    data["csrfmiddlewaretoken"] = ""  # the test client does not enforce CSRF
    return data


@pytest.fixture
def due(cast) -> Person:
    return PersonFactory(lawful_basis="contract", job_title="Contabil", phones=["0722123456"], owner=cast.alice)


def sent(questionnaire: Any, inbox: Any) -> None:
    services.run()
    deliver_due()


# Who is asked ------------------------------------------------------------------------------


def test_who_is_due_gets_one_request_and_the_clock_running_twice_sends_nothing_twice(cast, due, smtp_inbox) -> None:
    verified = PersonFactory(lawful_basis="contract")
    with service_scope():
        people.confirm_person(verified, actor=SETUP)  # confirmed just now: not due
    restricted, erased = PersonFactory(lawful_basis="contract"), PersonFactory(lawful_basis="contract")
    with transaction.atomic(), service_scope():
        Person.objects.filter(pk=restricted.pk).update(status=PersonStatus.RESTRICTED)
    people.erase_person(erased, actor=cast.dora, reason="art. 17")
    questionnaire = make_questionnaire()
    first = services.run()
    again = services.run()
    deliver_due()
    asked = set(Request.objects.values_list("person_id", flat=True))
    assert due.pk in asked
    assert asked.isdisjoint({verified.pk, restricted.pk, erased.pk})
    assert (first.sent, again.sent) == (len(asked), 0)
    assert len(smtp_inbox.message_ids()) == len(set(smtp_inbox.message_ids())) == len(asked)
    assert Request.objects.filter(questionnaire=questionnaire, person=due).count() == 1


def test_a_person_whose_processing_is_restricted_is_not_asked(cast, due, smtp_inbox) -> None:
    kept_out = PersonFactory(lawful_basis="contract", owner=cast.alice)
    people.restrict_processing(kept_out, actor=cast.dora, ground="objection_pending", reason="opoziție art. 21")
    make_questionnaire()
    services.run()
    deliver_due()
    asked = set(Request.objects.values_list("person_id", flat=True))
    assert (due.pk in asked, kept_out.pk in asked) == (True, False)
    assert kept_out.primary_email not in {message["To"] for message in smtp_inbox.messages}


@pytest.mark.skipif(connection.vendor == "sqlite", reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_clock_at_once_ask_each_person_once(cast) -> None:
    for _ in range(20):
        PersonFactory(lawful_basis="contract")
    make_questionnaire()
    barrier = threading.Barrier(2)

    def tick() -> None:
        try:
            with audit_context(Channel.TASK):  # as the worker opens one for every task
                barrier.wait()
                services.run()
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    people_asked = list(Request.objects.values_list("person_id", flat=True))
    assert len(people_asked) == len(set(people_asked)) == Person.objects.filter(status="active").count()
    keys = list(OutboundMessage.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == len(people_asked)


# The public page ---------------------------------------------------------------------------


def test_confirming_as_is_moves_last_verified_and_records_the_answers(cast, due, smtp_inbox) -> None:
    questionnaire = make_questionnaire()
    sent(questionnaire, smtp_inbox)
    client = Client()
    path = link_for(smtp_inbox, due)
    question = questionnaire.questions.get(kind="choice")
    data = page_fields(client, path) | {"action": "confirm", f"q{question.pk}": "1"}
    response = client.post(path, data)
    assert response.status_code == 200
    due.refresh_from_db()
    assert due.last_verified_at is not None
    assert due.job_title == "Contabil"
    assert Response.objects.get(person=due).confirmed_as_is
    assert not Proposal.objects.filter(person=due).exists()
    answer = Answer.objects.get(person=due)
    assert isinstance(answer.value, dict)
    assert "enc" in answer.value  # encrypted under the person's key
    page = login(cast.alice).get(f"/people/{due.pk}/").content.decode()
    assert "Trimestrial" in page or "Quarterly" in page  # the answer, on the person's page
    event = AuditEvent.objects.filter(subject_id=due.pk, action="person.verified").latest("id")
    assert (event.channel, event.actor_label) == ("portal", f"data subject via questionnaire #{questionnaire.pk}")


def test_corrections_apply_at_once_with_the_portal_channel(cast, due, smtp_inbox) -> None:
    questionnaire = make_questionnaire(review=False)
    sent(questionnaire, smtp_inbox)
    client = Client()
    path = link_for(smtp_inbox, due)
    question = questionnaire.questions.get(kind="choice")
    data = page_fields(client, path) | {"phones": "0733 111 222", "job_title": "Director financiar",
                                        "action": "save", f"q{question.pk}": "0"}  # fmt: skip
    assert client.post(path, data).status_code == 200
    due.refresh_from_db()
    assert (due.phones, due.job_title) == (["+40733111222"], "Director financiar")
    assert due.last_verified_at is not None
    change = AuditEvent.objects.filter(subject_id=due.pk, action="person.updated").latest("id")
    assert change.channel == "portal"
    assert change.actor_label == f"data subject via questionnaire #{questionnaire.pk}"
    assert plain(change) == {"phones": [["+40722123456"], ["+40733111222"]],
                             "job_title": ["Contabil", "Director financiar"]}  # fmt: skip
    assert set(Proposal.objects.filter(person=due).values_list("status", flat=True)) == {ProposalStatus.APPLIED}


def test_with_review_nothing_changes_until_a_manager_accepts_one_and_rejects_the_other(cast, due, smtp_inbox) -> None:
    questionnaire = make_questionnaire(review=True)
    sent(questionnaire, smtp_inbox)
    client = Client()
    path = link_for(smtp_inbox, due)
    question = questionnaire.questions.get(kind="choice")
    data = page_fields(client, path) | {"phones": "0733 111 222", "job_title": "Director financiar",
                                        "action": "save", f"q{question.pk}": "0"}  # fmt: skip
    assert client.post(path, data).status_code == 200
    due.refresh_from_db()
    assert (due.phones, due.job_title) == (["+40722123456"], "Contabil")
    phone = Proposal.objects.get(person=due, field="phones")
    title = Proposal.objects.get(person=due, field="job_title")
    # Someone outside the person's scope cannot decide.
    carol = login(cast.carol)
    assert carol.post(f"/questionnaires/reviews/{phone.pk}/", {"decision": "accept"}).status_code == 404
    bob = login(cast.bob)  # alice's manager
    assert bob.post(f"/questionnaires/reviews/{title.pk}/", {"decision": "reject"}).status_code == 200  # no reason
    assert Proposal.objects.get(pk=title.pk).status == ProposalStatus.PENDING
    assert bob.post(f"/questionnaires/reviews/{phone.pk}/", {"decision": "accept"}).status_code == 302
    assert bob.post(f"/questionnaires/reviews/{title.pk}/",
                    {"decision": "reject", "reason": "Titlul corect e în contract"}).status_code == 302  # fmt: skip
    due.refresh_from_db()
    assert (due.phones, due.job_title) == (["+40733111222"], "Contabil")
    change = AuditEvent.objects.filter(subject_id=due.pk, action="person.updated").latest("id")
    assert change.channel == "portal"
    assert change.actor_label == f"data subject via questionnaire #{questionnaire.pk}"
    assert "accepted by" in change.reason
    rejected = AuditEvent.objects.get(subject_id=due.pk, action="proposal.rejected")
    assert rejected.actor_label.startswith("Bob")
    # A second click (or Back and send again) is told the correction was decided; nothing
    # changes. Someone outside the person's scope still learns nothing.
    events = AuditEvent.objects.count()
    again = bob.post(f"/questionnaires/reviews/{phone.pk}/", {"decision": "reject", "reason": "x"}, follow=True)
    assert again.status_code == 200
    assert "already been decided" in again.content.decode()
    assert Proposal.objects.get(pk=phone.pk).status == ProposalStatus.APPLIED
    assert AuditEvent.objects.exclude(action__endswith="viewed").count() == events
    assert carol.post(f"/questionnaires/reviews/{phone.pk}/", {"decision": "accept"}).status_code == 404


# Bad links and bad input -------------------------------------------------------------------


def state(person: Person) -> tuple[Any, ...]:
    person.refresh_from_db()
    return (person.version, person.phones, Response.objects.count(), Proposal.objects.count(),
            sorted(Request.objects.values_list("pk", "status")))  # fmt: skip


def test_replayed_expired_tampered_and_foreign_links_change_nothing(cast, due, smtp_inbox) -> None:
    other = PersonFactory(lawful_basis="contract")
    questionnaire = make_questionnaire()
    sent(questionnaire, smtp_inbox)
    mine, theirs = link_for(smtp_inbox, due), link_for(smtp_inbox, other)
    data = page_fields(Client(), mine) | {"action": "confirm", f"q{questionnaire.questions.earliest('id').pk}": "0"}
    assert Client().post(mine, data).status_code == 200
    before = state(due)
    replayed = Client().post(mine, data)
    assert replayed.status_code == 409
    # It speaks of the questionnaire (not of an invitation) and points to the preferences.
    assert "chestionar" in replayed.content.decode()
    assert "invitați" not in replayed.content.decode()
    assert replayed.context["preferences_url"] in replayed.content.decode()
    token = mine.split("/")[3]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert Client().post(f"/p/q/{tampered}/", data).status_code == 400
    # Their request with my token's nonce, signed with the real key: still refused.
    request = Request.objects.get(person=other)
    nonce = links.questionnaire_nonce(questionnaire.pk, due.pk, Request.objects.get(person=due).created_at)
    from registru.portal.tokens import TokenUse, make

    forged = make(TokenUse.QUESTIONNAIRE, request.pk, nonce, f"{due.pk}:{questionnaire.pk}")
    assert Client().post(f"/p/q/{forged}/", data).status_code == 400
    with transaction.atomic(), service_scope():
        Request.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().post(theirs, data).status_code == 410
    assert state(due) == before


def test_bad_input_gets_clear_errors_and_saves_nothing(cast, due, smtp_inbox) -> None:
    questionnaire = make_questionnaire()
    sent(questionnaire, smtp_inbox)
    client = Client()
    path = link_for(smtp_inbox, due)
    question = questionnaire.questions.get(kind="choice")
    base = page_fields(client, path) | {"action": "save", f"q{question.pk}": "0"}
    before = state(due)
    for bad, field in (({"emails": "nu-e-email"}, "emails"), ({"phones": "12"}, "phones"),
                       ({"job_title": "x" * 5000}, "job_title")):  # fmt: skip
        response = client.post(path, base | bad)
        assert response.status_code == 400
        assert response.context["form"].errors.get(field), (field, response.context["form"].errors)
    missing = {key: value for key, value in base.items() if key != f"q{question.pk}"}
    assert client.post(path, missing).status_code == 400  # a required question unanswered
    assert state(due) == before
    # A script in a text field is stored as text and shown inert.
    other = questionnaire.questions.get(kind="text")
    client.post(path, base | {"job_title": "<script>alert(1)</script>", f"q{other.pk}": "<b>hi</b>"})
    due.refresh_from_db()
    assert due.job_title == "<script>alert(1)</script>"
    page = login(cast.alice).get(f"/people/{due.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_fields_the_questionnaire_does_not_ask_cannot_be_changed_through_its_page(cast, due) -> None:
    """Extra inputs added to the form (other fields of the person, their status or owner, ids of
    another person or another questionnaire's question) are ignored: only what is asked changes."""
    other = PersonFactory(lawful_basis="contract", job_title="Casier")
    questionnaire = make_questionnaire(fields=["job_title"])
    foreign = make_questionnaire(name="Alt chestionar", active=False).questions.get(kind="text")
    services.run()
    request = Request.objects.get(person=due)
    path = links.questionnaire_url(request.pk, due.pk, questionnaire.pk, request.created_at)
    question = questionnaire.questions.get(kind="choice")
    untouched = {name: getattr(due, name) for name in ("given_name", "family_name", "emails", "phones", "status",
                                                       "lawful_basis", "owner_id", "city")}  # fmt: skip
    events = AuditEvent.objects.count()
    response = Client().post(path, {
        "action": "save", "job_title": "Director", f"q{question.pk}": "0", f"q{foreign.pk}": "injected",
        "given_name": "Mallory", "emails": "mallory@evil.test", "phones": "0733 111 222", "status": "erased",
        "lawful_basis": "consent", "owner": cast.bob.pk, "city": "Cluj", "person": other.pk, "person_id": other.pk,
        "request": Request.objects.get(person=other).pk, "employer": "Evil SRL",
    })  # fmt: skip
    assert response.status_code == 200
    due.refresh_from_db()
    assert due.job_title == "Director"
    assert {name: getattr(due, name) for name in untouched} == untouched
    assert Person.objects.get(pk=other.pk).job_title == "Casier"
    assert Request.objects.get(person=other).status == RequestStatus.OPEN
    assert list(Proposal.objects.values_list("field", flat=True)) == ["job_title"]
    assert list(Answer.objects.values_list("question_id", flat=True)) == [question.pk]
    actions = list(AuditEvent.objects.order_by("pk")[events:].values_list("action", "channel"))
    assert actions == [(action, "portal") for action in ("questionnaire.answered", "person.updated", "person.verified")]


@pytest.mark.parametrize(
    ("field", "value"),
    [("postal_code", "1" * 21), ("country", "ROU"), ("city", "x" * 101), ("job_title", "x" * 151),
     ("given_name", ""), ("emails", "a@b.test\n" * 11), ("job_title", "Director\x00"), ("street", "x" * 5000)],
)  # fmt: skip
def test_a_value_the_record_cannot_hold_is_refused_and_records_nothing(cast, due, field: str, value: str) -> None:
    """Each of these passes the page's own length limits but not the person's rules (or the
    database's column): a clear error, the request still open, no answer, no audit event."""
    questionnaire = make_questionnaire(fields=["name", "emails", "job_title", "address"], questions=[])
    services.run()
    request = Request.objects.get(person=due)
    path = links.questionnaire_url(request.pk, due.pk, questionnaire.pk, request.created_at)
    client = Client()
    data = page_fields(client, path) | {"action": "save", field: value}
    before, events = state(due), AuditEvent.objects.count()
    response = client.post(path, data)
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert (state(due), AuditEvent.objects.count()) == (before, events)


def test_the_link_of_a_person_erased_since_opens_nothing(cast, due) -> None:
    questionnaire = make_questionnaire()
    services.run()
    request = Request.objects.get(person=due)
    path = links.questionnaire_url(request.pk, due.pk, questionnaire.pk, request.created_at)
    people.erase_person(due, actor=cast.dora, reason="art. 17")
    before, events = state(due), AuditEvent.objects.count()
    page = Client().get(path)
    answer = Client().post(path, {"action": "confirm", f"q{questionnaire.questions.get(kind='choice').pk}": "0"})
    assert (page.status_code, answer.status_code) == (409, 409)
    assert "Acest link nu mai este activ" in answer.content.decode()  # closed, in their language
    assert (state(due), AuditEvent.objects.count()) == (before, events)
    assert Request.objects.get(pk=request.pk).opened_at is None


# Follow-up ---------------------------------------------------------------------------------


def test_reminders_then_expiry_mark_the_person_stale(cast, due, smtp_inbox) -> None:
    with service_scope():
        people.confirm_person(cast.alice_person, actor=SETUP)  # confirmed lately: not asked, not stale
    make_questionnaire(reminders=2, reminder_days=3, valid_days=10)
    sent(None, smtp_inbox)
    now = timezone.now()
    assert services.run(now + timedelta(days=3, minutes=1)).reminded >= 1
    assert services.run(now + timedelta(days=3, minutes=2)).reminded == 0
    assert services.run(now + timedelta(days=6, minutes=1)).reminded >= 1
    deliver_due()
    assert len([m for m in smtp_inbox.messages if m["To"] == due.primary_email]) == 3
    assert services.run(now + timedelta(days=11)).expired >= 1
    due.refresh_from_db()
    assert due.stale_since is not None
    assert Request.objects.get(person=due).status == RequestStatus.EXPIRED
    listing = login(cast.alice).post("/people/", {"stale": "on"}).content.decode()
    assert due.family_name in listing
    assert cast.alice_person.family_name not in listing


def test_rounds_ask_everyone_from_their_date_once_per_round(cast, due) -> None:
    with service_scope():
        people.confirm_person(due, actor=SETUP)  # just confirmed: a round asks them all the same
    start = timezone.now() + timedelta(days=2)
    questionnaire = make_questionnaire(schedule="rounds", next_round_at=start, every_months=6)
    assert services.run().sent == 0  # the round has not started
    first = services.run(start + timedelta(minutes=1))
    assert first.sent == Person.objects.filter(status="active").count()
    assert Request.objects.filter(person=due).count() == 1
    assert services.run(start + timedelta(minutes=2)).sent == 0  # one request per person per round
    questionnaire.refresh_from_db()
    assert questionnaire.next_round_at is not None
    assert questionnaire.next_round_at > start + timedelta(days=180)
    later = questionnaire.next_round_at + timedelta(minutes=1)
    with transaction.atomic(), service_scope():  # the first round's requests were closed meanwhile
        Request.objects.update(status=RequestStatus.EXPIRED)
    assert services.run(later).sent == first.sent
    assert Request.objects.filter(person=due).count() == 2


def test_rounds_need_their_start(cast) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_questionnaire(schedule="rounds")
