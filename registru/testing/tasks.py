"""A task used by the tests to show that work done in the background is audited too."""

from __future__ import annotations

from django.tasks import task

from registru.core.actors import SystemActor
from registru.people import services
from registru.people.models import Person


@task()
def retitle(person_id: int, job_title: str) -> int:
    person = Person.objects.get(pk=person_id)
    services.update_person(person, {"job_title": job_title}, actor=SystemActor("test task"))
    return person.version
