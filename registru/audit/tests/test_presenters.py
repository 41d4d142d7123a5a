"""The History tab reads like sentences: who changed what, from what to what, how and when."""

from __future__ import annotations

import pytest

from registru.audit import presenters
from registru.audit.models import AuditEvent
from registru.audit.presenters import EventView, present_all
from registru.people import services

pytestmark = pytest.mark.django_db


def present(event: AuditEvent) -> EventView:
    return present_all([event], lambda ids: set())[0]


def test_it_names_the_actor_the_field_and_both_values(cast) -> None:
    services.update_person(cast.andrei_person, {"phones": ["0744 555 666"], "lawful_basis": "contract"}, actor=cast.bob)
    view = present(AuditEvent.objects.filter(action="person.updated").latest("id"))
    assert view.actor == "Bob Barbu (bob)"
    assert view.verb == "changed the person"
    assert view.channel == "command line"
    changes = {change.label: (change.old, change.new) for change in view.changes}
    assert changes["phones"][1] == "+40744555666"
    assert changes["lawful basis"] == ("Legitimate interest", "Contract")


def test_it_shows_related_records_by_their_label(cast) -> None:
    services.update_person(cast.andrei_person, {"owner": cast.alice.pk}, actor=cast.bob)
    view = present(AuditEvent.objects.filter(action="person.updated").latest("id"))
    [change] = view.changes
    assert (change.label, change.new) == ("owner", "Alice Anghel (alice)")


def test_it_keeps_the_actor_label_after_the_account_is_gone(cast) -> None:
    from registru.accounts.models import User
    from registru.testing.factories import UserFactory

    temporary = UserFactory(username="temp", role="dpo", first_name="Tina", last_name="Temporar")
    services.update_person(cast.andrei_person, {"job_title": "X"}, actor=temporary)
    event = AuditEvent.objects.filter(action="person.updated").latest("id")
    User.objects.filter(pk=temporary.pk).delete()
    assert present(AuditEvent.objects.get(pk=event.pk)).actor == "Tina Temporar (temp)"


def test_it_names_a_logins_fields_in_the_readers_language(cast) -> None:
    from django.test import Client
    from django.utils import translation

    from registru.testing.factories import PASSWORD

    Client().post("/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    login = AuditEvent.objects.filter(action="security.login").latest("id")
    with translation.override("ro"):
        labels = {change.label for change in present(login).changes}
    assert {"dispozitiv", "Adresă IP"} <= labels


def test_it_reads_a_flag_as_yes_or_no(cast) -> None:
    event = AuditEvent(
        action="access.requested",
        channel="ui",
        actor_label="Alice",
        target_type="accounts.accessrequest",
        canonical="{}",
    )
    [change] = presenters.present(event, {"matched": (None, True)}).changes
    assert (change.label, change.new) == ("record found", "yes")


def test_it_reads_a_restriction_and_its_lifting_with_the_ground_and_the_persons_being_told(cast) -> None:
    person = cast.andrei_person
    services.restrict_processing(person, actor=cast.dora, ground="accuracy_contested", reason="contestă adresa")
    services.lift_restriction(person, actor=cast.dora, reason="adresa corectată", person_informed=True)
    codes = ("person.restricted", "person.restriction_lifted")
    restricted, lifted = (present(AuditEvent.objects.get(action=code)) for code in codes)
    assert (restricted.verb, lifted.verb) == (
        "restricted the processing of the person's data",
        "lifted the restriction of processing",
    )
    changes = {change.label: (change.old, change.new) for change in lifted.changes}
    assert changes["status"] == ("Restricted", "Active")
    assert changes["restriction ground"] == ("Accuracy contested, while it is verified (Art. 18(1)(a))", "—")
    assert changes["person informed"] == ("—", "yes")
