"""The erasure of the issue, end to end: a person and their merged-away duplicate, with notes, a
consent, a questionnaire answered in their own words, mail in the local mailbox and an export
file, both erased. ``test_erasure_leaves_nothing`` runs it in the test's process (PostgreSQL) or
in a ``registru`` subprocess on a SQLite file (``registru shell -c``), and then looks for their
strings in every byte Registru keeps."""

from __future__ import annotations

import json
import unicodedata
from types import SimpleNamespace
from typing import Any

SURVIVOR: dict[str, Any] = {
    "given_name": "Zenovia", "family_name": "Ștefănescu", "emails": ["zenovia.stefanescu@exemplu.ro"],
    "phones": ["0744 123 987"], "city": "Oradea",
}  # fmt: skip
DUPLICATE: dict[str, Any] = {
    "given_name": "Zenovia", "family_name": "Bârlădeanu", "emails": ["z.barladeanu@posta.ro"],
    "phones": ["0755 246 813"], "job_title": "Contabilă-șefă",
}  # fmt: skip
FREE_TEXT = "Sunați-mă joia după-amiază"
NOTES = ("Zenovia preferă întâlnirile de dimineață.", "A cerut oferta pentru Bârlădeanu & fiii.")


def secrets() -> list[str]:
    """Every string of theirs, as typed (the phones without spaces too, and as stored)."""
    values = [
        *(person[name] for person in (SURVIVOR, DUPLICATE) for name in ("given_name", "family_name")),
        *(value for person in (SURVIVOR, DUPLICATE) for value in person["emails"]),
        "744123987", "755246813", "0744 123 987", "0755 246 813", DUPLICATE["job_title"], FREE_TEXT,
    ]  # fmt: skip
    return list(dict.fromkeys(values))


def folded(text: str) -> str:
    """ "Ștefănescu" → "Stefanescu": how the search index and many programs write it."""
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))


def forms(secret: str) -> set[bytes]:
    """The byte strings a secret can leave behind: UTF-8, ASCII-folded, JSON-escaped; lowered."""
    escaped = json.dumps(secret)[1:-1]
    return {form.lower().encode() for form in (secret, folded(secret), escaped)}


def found_in(blob: bytes) -> list[str]:
    lowered = blob.lower()
    return [secret for secret in secrets() if any(form in lowered for form in forms(secret))]


def build_and_erase() -> dict[str, int]:
    """Make the two records and everything around them, merge, erase both; their ids."""
    from registru.accounts.roles import Role
    from registru.consent import services as consent
    from registru.consent.choices import ConsentMethod
    from registru.exports import services as exports
    from registru.people import services as people
    from registru.people.selectors import PeopleFilter
    from registru.testing.consent import make_purposes
    from registru.testing.factories import SETUP, PersonFactory, TeamFactory, UserFactory, note_about

    team = TeamFactory(name="Vânzări Vest")
    agent = UserFactory(username="vlad", role=Role.AGENT, team=team, first_name="Vlad", last_name="Vânzătorul")
    dpo = UserFactory(username="dpo", role=Role.DPO)
    survivor = PersonFactory(**SURVIVOR, owner=agent)
    duplicate = PersonFactory(**DUPLICATE, owner=agent)
    for person, body in zip((survivor, duplicate), NOTES, strict=True):
        note_about(person, body)
    newsletter = make_purposes()["newsletter"]
    consent.grant_consent(survivor, newsletter, "email", actor=SETUP, method=ConsentMethod.WEB_FORM,
                          notice=newsletter.notices.filter(language="ro").first())  # fmt: skip
    _answer_questionnaire(survivor)  # its letters went to both, through the local mailbox
    export = exports.request_export(
        actor=agent, criteria=PeopleFilter(owner_id=agent.pk), fmt="csv", purpose="Ofertă de reînnoire a contractelor",
        fields=["given_name", "family_name", "emails", "phones", "job_title"],
    )  # fmt: skip
    assert exports.generate_export(export.pk) is not None
    survivor.refresh_from_db()  # the questionnaire confirmed the data: a newer version
    duplicate.refresh_from_db()
    people.merge_people(survivor, duplicate, actor=agent, reason="aceeași persoană")
    survivor.refresh_from_db()
    people.erase_person(survivor, actor=dpo, reason="cerere art. 17 nr. 12/2026",
                        duplicates=people.merged_duplicates(survivor))  # fmt: skip
    return {"survivor": survivor.pk, "duplicate": duplicate.pk, "export": export.pk}


def _answer_questionnaire(person: Any) -> None:
    from registru.mail.services import deliver_due
    from registru.questionnaires import services as questionnaires
    from registru.questionnaires.models import Request
    from registru.testing.questionnaires import make_questionnaire

    questionnaire = make_questionnaire()
    questionnaires.run()
    report = deliver_due()
    assert report.sent >= 2, report
    request = Request.objects.get(questionnaire=questionnaire, person=person)
    by_kind = {question.kind: question.pk for question in questionnaire.questions.all()}
    submission = questionnaires.Submission(texts={}, answers={by_kind["choice"]: 0, by_kind["text"]: FREE_TEXT},
                                           confirm_all=True)  # fmt: skip
    evidence = SimpleNamespace(ip="192.0.2.7", user_agent="Mozilla/5.0")
    questionnaires.submit(request, submission, actor=questionnaires.subject_actor(questionnaire), evidence=evidence)


def main() -> None:
    """``registru shell -c`` entry: run the scenario and print the ids as JSON, with what is
    left of them in the database file and its write-ahead log while this process still has
    the database open (SQLite folds the log in and deletes it when the last connection closes,
    so only now does the log show whether the erasure's checkpoint emptied it)."""
    from pathlib import Path

    from django.db import connection

    result: dict[str, Any] = build_and_erase()
    database = Path(connection.settings_dict["NAME"])
    for suffix in ("", "-wal"):
        path = database.with_name(database.name + suffix)
        result[f"open{suffix or '-file'}"] = found_in(path.read_bytes()) if path.exists() else []
    print(json.dumps(result))  # noqa: T201
