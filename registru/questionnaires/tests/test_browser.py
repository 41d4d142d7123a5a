"""A data-update questionnaire end to end, in Debian's chromium driven by Playwright: the clock
asks a due person, the link reaches a real SMTP server, the person opens it on a phone, sees
their data pre-filled, corrects the phone and the job title and answers the question; with
auto-apply the person is updated at once, with review nothing changes until a manager accepts
one proposal and rejects the other; the History tab tells the same story. Bad input on the phone
shows clear errors, saves nothing and stays inert."""

from __future__ import annotations

import re
from typing import Any

import pytest

from registru.audit.models import AuditEvent
from registru.mail.services import deliver_due
from registru.people.models import Person
from registru.questionnaires import services
from registru.questionnaires.models import (
    Answer,
    Proposal,
    ProposalStatus,
    Question,
    QuestionKind,
    Questionnaire,
    Request,
    RequestStatus,
    Response,
)
from registru.testing.browser import PHONE, in_romanian, on_a_phone, on_desktop
from registru.testing.factories import PersonFactory
from registru.testing.questionnaires import make_questionnaire
from registru.testing.smtp import body_of
from registru.vault import services as vault

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINK = re.compile(r"https?://\S+/p/q/[^/\s]+/")
FIELDS = ["name", "emails", "phones", "job_title", "address"]
OLD_PHONE, NEW_PHONE, TYPED_PHONE = "+40722123456", "+40733111222", "0733 111 222"
OLD_TITLE, NEW_TITLE = "Contabil", "Director financiar"
PREFILLED = {
    "given_name": "Ioana", "family_name": "Pop", "emails": "ioana.pop@firma.ro", "phones": OLD_PHONE,
    "job_title": OLD_TITLE, "street": "Str. Lalelelor 3", "city": "Cluj-Napoca", "county": "Cluj",
    "postal_code": "400001", "country": "RO",
}  # fmt: skip
SCRIPT_TITLE = '"><script>window.__pwned = "title"</script>'
SCRIPT_TEXT = '</textarea><script>window.__pwned = "text"</script><img src=x onerror="window.__pwned = 1">'


@pytest.fixture
def due(cast: Any) -> Person:
    """Held on a contract, never asked to confirm their data: due. Alice owns the record."""
    return PersonFactory(
        given_name=PREFILLED["given_name"], family_name=PREFILLED["family_name"], emails=[PREFILLED["emails"]],
        phones=["0722 123 456"], job_title=OLD_TITLE, lawful_basis="contract", owner=cast.alice,
        **{name: PREFILLED[name] for name in ("street", "city", "county", "postal_code", "country")},
    )  # fmt: skip


def questionnaire_with(review: bool) -> Questionnaire:
    questionnaire = make_questionnaire(fields=FIELDS, review=review)
    kinds = list(questionnaire.questions.order_by("position").values_list("kind", "required"))
    assert kinds == [(QuestionKind.CHOICE, True), (QuestionKind.TEXT, False)]
    return questionnaire


def choice_of(questionnaire: Questionnaire) -> Question:
    return questionnaire.questions.get(kind=QuestionKind.CHOICE)


def text_of(questionnaire: Questionnaire) -> Question:
    return questionnaire.questions.get(kind=QuestionKind.TEXT)


def snapshot(person: Person) -> tuple[Any, ...]:
    person.refresh_from_db()
    request = Request.objects.get(person=person)
    return (
        person.version, person.phones, person.job_title, person.last_verified_at,
        Response.objects.count(), Proposal.objects.count(), Answer.objects.count(),
        (request.status, request.answered_at),
        list(AuditEvent.objects.filter(subject_id=person.pk).exclude(action="questionnaire.opened")
             .values_list("id", flat=True)),
    )  # fmt: skip


# The steps ---------------------------------------------------------------------------------


def the_link_arrives(inbox: Any, person: Person, live_server: Any) -> str:
    """The clock's tick and the outbox's delivery, as the workers run them; then the mail."""
    ticked = services.run()
    assert ticked.sent >= 1
    delivered = deliver_due()
    assert (delivered.sent, delivered.blocked, delivered.failed) == (ticked.sent, 0, 0)
    assert services.run().sent == 0, "a second tick asks nobody again"
    mine = [message for message in inbox.messages if message["To"] == person.primary_email]
    assert len(mine) == 1, "exactly one message to the person"
    found = LINK.findall(body_of(mine[0]))
    assert len(found) == 1, body_of(mine[0])
    assert found[0].startswith(f"{live_server.url}/p/q/")
    request = Request.objects.get(person=person)
    assert request.status == RequestStatus.OPEN
    return found[0]


def the_page_shows_the_data(page: Any, link: str) -> None:
    response = page.goto(link)
    assert response.status == 200
    assert page.locator("h1").inner_text() == in_romanian("Is your data up to date?")
    assert "Vă rugăm să verificați datele de mai jos." in page.locator("main").inner_text()  # the intro, in Romanian
    shown = {name: page.input_value(f"#id_{name}") for name in PREFILLED}
    assert shown == PREFILLED
    assert page.locator("#id_preferred_language").count() == 0, "only the fields the questionnaire asks"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"


def submit_on_a_phone(page: Any, expected_status: int = 200) -> None:
    with page.expect_navigation() as answered:
        page.locator("#questionnaire-form button[name=action][value=save]").tap()
    assert answered.value.status == expected_status


def correct_on_a_phone(page: Any, link: str, questionnaire: Questionnaire) -> None:
    """Correct the phone and the job title, answer the choice question, leave the rest, save."""
    the_page_shows_the_data(page, link)
    page.locator("#id_phones").tap()
    page.fill("#id_phones", TYPED_PHONE)
    page.locator("#id_job_title").tap()
    page.fill("#id_job_title", NEW_TITLE)
    option = page.locator(f"input[name=q{choice_of(questionnaire).pk}][value='1']")
    option.tap()
    assert option.is_checked()
    submit_on_a_phone(page)
    assert page.locator("h1").inner_text() == in_romanian("Thank you, your answer is recorded")
    said = (
        "Your corrections will be checked by the person who looks after your account, and applied."
        if questionnaire.review
        else "Your corrections are applied."
    )
    assert in_romanian(said) in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    assert page.errors == []


def the_answers_are_recorded(person: Person, questionnaire: Questionnaire) -> Response:
    request = Request.objects.get(person=person)
    assert request.status == RequestStatus.ANSWERED
    response = Response.objects.get(request=request)
    assert not response.confirmed_as_is
    answer = Answer.objects.get(response=response)
    assert answer.question_id == choice_of(questionnaire).pk
    assert vault.decrypt(person.pk, "survey_answer", answer.value, vault.data_key(person.pk)) == 1
    proposals = {proposal.field: proposal for proposal in Proposal.objects.filter(response=response)}
    assert set(proposals) == {"phones", "job_title"}, "only what was corrected is proposed"
    assert services.proposal_values(proposals["phones"]) == ([OLD_PHONE], [NEW_PHONE])
    assert services.proposal_values(proposals["job_title"]) == (OLD_TITLE, NEW_TITLE)
    return response


def history_articles(page: Any, person: Person) -> Any:
    """The person's page, then its History tab."""
    page.goto(f"{page.base}/people/{person.pk}/")
    page.locator("nav.tabs a", has_text="History").click()
    page.wait_for_url(re.compile(rf".*/people/{person.pk}/history/$"))
    return page.locator("article.event")


def portal_changes(articles: Any, questionnaire: Questionnaire) -> list[tuple[str, list[str]]]:
    """The History entries made by the person through the questionnaire: (line, changes)."""
    actor = f"data subject via questionnaire #{questionnaire.pk}"
    found = []
    for index in range(articles.count()):
        article = articles.nth(index)
        if article.locator("strong").first.inner_text() != actor or article.locator("ul.changes li").count() == 0:
            continue
        found.append((article.locator("div").first.inner_text(), article.locator("ul.changes li").all_inner_texts()))
    return found


def applied_at_once(browser: Any, site: Any, due: Person, questionnaire: Questionnaire, response: Response) -> None:
    """Auto-apply: the person is updated at once, and Alice reads both changes in the History."""
    due.refresh_from_db()
    assert (due.phones, due.job_title) == ([NEW_PHONE], NEW_TITLE)
    assert (due.given_name, due.family_name, due.emails, due.street) == ("Ioana", "Pop", [PREFILLED["emails"]],
                                                                          PREFILLED["street"])  # fmt: skip
    assert due.last_verified_at is not None
    assert due.last_verified_at >= response.submitted_at
    assert set(Proposal.objects.filter(person=due).values_list("status", flat=True)) == {ProposalStatus.APPLIED}

    # Alice, who owns the record, reads the History tab: both changes, the person's own, via the portal.
    alice = on_desktop(browser, site, "alice")
    changes = portal_changes(history_articles(alice, due), questionnaire)
    assert all("via public portal" in line for line, _items in changes), changes
    assert [items for line, items in changes if "changed the person" in line] == [
        [f"job title: {OLD_TITLE} → {NEW_TITLE}", f"phones: {OLD_PHONE} → {NEW_PHONE}"]
    ], changes
    assert [len(items) for line, items in changes if "confirmed the person's data" in line] == [1], changes
    alice.goto(f"{alice.base}/people/{due.pk}/")
    assert NEW_TITLE in alice.locator("main").inner_text()
    assert alice.errors == []


def reviewed_by_the_manager(browser: Any, site: Any, due: Person, questionnaire: Questionnaire) -> None:
    """Review: nothing changes until Bob, alice's manager, accepts the phone and rejects the title."""
    due.refresh_from_db()
    assert (due.phones, due.job_title) == ([OLD_PHONE], OLD_TITLE), "nothing applied yet"
    assert due.last_verified_at is not None, "answering confirms the record even before the review"
    assert set(Proposal.objects.filter(person=due).values_list("status", flat=True)) == {ProposalStatus.PENDING}
    assert not AuditEvent.objects.filter(subject_id=due.pk, action="person.updated", channel="portal").exists()

    # Bob, alice's manager, opens the review queue on his desktop.
    bob = on_desktop(browser, site, "bob")
    bob.goto(f"{bob.base}/questionnaires/reviews/")
    rows = bob.locator("tbody tr", has_text=due.full_name)
    assert rows.count() == 2
    phone_row = rows.filter(has=bob.locator("td", has_text=re.compile(r"^Phone numbers$")))
    title_row = rows.filter(has=bob.locator("td", has_text=re.compile(r"^Job title$")))
    assert phone_row.locator("td").nth(2).inner_text() == "+40 722 123 456"  # grouped as the person's page shows it
    assert phone_row.locator("td").nth(3).inner_text().strip() == "+40 733 111 222"
    assert title_row.locator("td").nth(2).inner_text() == OLD_TITLE
    assert title_row.locator("td").nth(3).inner_text().strip() == NEW_TITLE

    with bob.expect_navigation():
        phone_row.get_by_role("button", name="Accept").click()
    bob.wait_for_url(re.compile(r".*/questionnaires/reviews/$"))
    assert "Decision recorded." in bob.locator("body").inner_text()
    due.refresh_from_db()
    assert (due.phones, due.job_title) == ([NEW_PHONE], OLD_TITLE)

    # Rejecting needs a reason: without one, a clear error and the proposal still waits.
    title_row = bob.locator("tbody tr", has_text=due.full_name)
    assert title_row.count() == 1
    with bob.expect_navigation():
        title_row.get_by_role("button", name="Reject").click()
    assert "Say why the change is rejected." in bob.locator("[role=alert]").inner_text()
    assert Proposal.objects.get(person=due, field="job_title").status == ProposalStatus.PENDING
    title_row = bob.locator("tbody tr", has_text=due.full_name)
    title_row.locator("input[name=reason]").fill("Titlul corect e în contract")
    with bob.expect_navigation():
        title_row.get_by_role("button", name="Reject").click()
    bob.wait_for_url(re.compile(r".*/questionnaires/reviews/$"))
    assert bob.locator("tbody tr", has_text=due.full_name).count() == 0
    assert bob.errors == []

    due.refresh_from_db()
    assert (due.phones, due.job_title) == ([NEW_PHONE], OLD_TITLE)
    decided = {p.field: p for p in Proposal.objects.filter(person=due)}
    decider = decided["phones"].decided_by
    assert decider is not None
    assert (decided["phones"].status, decider.username) == (ProposalStatus.APPLIED, "bob")
    assert (decided["job_title"].status, decided["job_title"].reason) == (
        ProposalStatus.REJECTED, "Titlul corect e în contract",
    )  # fmt: skip

    # History: the phone change, the person's own via the portal, accepted by Bob; no job title change.
    changes = portal_changes(history_articles(bob, due), questionnaire)
    assert all("via public portal" in line for line, _items in changes), changes
    assert [items for line, items in changes if "changed the person" in line] == [
        [f"phones: {OLD_PHONE} → {NEW_PHONE}"]
    ], changes
    history = bob.locator("main").inner_text()
    assert "accepted by Bob Barbu" in history
    assert "Titlul corect e în contract" in history  # the rejection, with its reason
    assert NEW_TITLE not in history, "the rejected title was never applied"
    assert bob.errors == []


# The tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("review", [False, True], ids=["auto-apply", "review"])
def test_a_due_person_corrects_a_phone_and_a_job_title_on_a_phone(
    review: bool, due: Person, smtp_inbox: Any, browser: Any, site: Any
) -> None:
    questionnaire = questionnaire_with(review=review)
    link = the_link_arrives(smtp_inbox, due, site)
    assert due.last_verified_at is None

    phone = on_a_phone(browser, site)
    correct_on_a_phone(phone, link, questionnaire)

    response = the_answers_are_recorded(due, questionnaire)
    if review:
        reviewed_by_the_manager(browser, site, due, questionnaire)
    else:
        applied_at_once(browser, site, due, questionnaire, response)

    # The same link again: already answered, and nothing changes.
    before = snapshot(due)
    again = phone.goto(link)
    assert again.status == 409
    assert phone.locator("#questionnaire-form").count() == 0
    assert snapshot(due) == before


def test_bad_input_on_a_phone_shows_clear_errors_saves_nothing_and_stays_inert(
    cast: Any, due: Person, smtp_inbox: Any, browser: Any, site: Any
) -> None:
    questionnaire = questionnaire_with(review=False)
    link = the_link_arrives(smtp_inbox, due, site)
    phone = on_a_phone(browser, site)
    the_page_shows_the_data(phone, link)
    before = snapshot(due)

    # A phone too short, and scripts in a person field and in the free-text question.
    phone.fill("#id_phones", "12")
    phone.fill("#id_job_title", SCRIPT_TITLE)
    phone.fill(f"#id_q{text_of(questionnaire).pk}", SCRIPT_TEXT)
    phone.locator(f"input[name=q{choice_of(questionnaire).pk}][value='0']").tap()
    submit_on_a_phone(phone, expected_status=400)

    warning = in_romanian("Some answers need a look: see the marked fields. Nothing was saved.")
    assert phone.locator("p[role=alert]").inner_text() == warning
    field = phone.locator("label[for=id_phones]")
    assert field.locator(".error").inner_text() == in_romanian("“%(value)s” is not a valid phone number.") % {
        "value": "12"
    }
    assert phone.locator("small.error").count() == 1, "only the phone is marked"
    # What was typed comes back as text, and nothing of it runs.
    assert phone.input_value("#id_phones") == "12"
    assert phone.input_value("#id_job_title") == SCRIPT_TITLE
    assert phone.input_value(f"#id_q{text_of(questionnaire).pk}") == SCRIPT_TEXT
    assert phone.locator(f"input[name=q{choice_of(questionnaire).pk}][value='0']").is_checked()
    assert phone.evaluate("window.__pwned") is None
    assert phone.locator("script").count() == 0
    assert phone.locator("main img").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    assert [error for error in phone.errors if "status of 400" not in error] == []  # the 400 itself is expected
    assert snapshot(due) == before, "nothing saved: no response, the person unchanged, the request open"
    assert not Response.objects.exists()
    assert Request.objects.get(person=due).status == RequestStatus.OPEN

    # The request is still open: with the phone fixed, the answer goes through.
    phone.fill("#id_phones", TYPED_PHONE)
    submit_on_a_phone(phone)
    assert phone.locator("h1").inner_text() == in_romanian("Thank you, your answer is recorded")
    due.refresh_from_db()
    assert (due.phones, due.job_title) == ([NEW_PHONE], SCRIPT_TITLE.strip())
    answers = {a.question_id: a for a in Answer.objects.filter(person=due)}
    key = vault.data_key(due.pk)
    assert vault.decrypt(due.pk, "survey_answer", answers[text_of(questionnaire).pk].value, key) == SCRIPT_TEXT

    # The staff pages show the script as text too.
    alice = on_desktop(browser, site, "alice")
    alice.goto(f"{alice.base}/people/{due.pk}/")
    assert SCRIPT_TITLE in alice.locator("main").inner_text()
    history_articles(alice, due)
    assert SCRIPT_TITLE in alice.locator("main").inner_text()
    assert alice.evaluate("window.__pwned") is None
    assert alice.locator("main script").count() == 0
    assert alice.errors == []
