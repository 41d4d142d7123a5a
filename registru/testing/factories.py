"""Factories that create data through the services, as the application itself does."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import factory

from registru.accounts import services as accounts
from registru.accounts.models import Team, User
from registru.accounts.roles import Role
from registru.core.actors import SystemActor
from registru.people import services as people
from registru.people.models import Affiliation, Note, Organization, Person

SETUP = SystemActor("test setup")
PASSWORD = "correct horse battery staple 42"
_phones = itertools.count(100000)


class TeamFactory(factory.Factory[Team]):
    if TYPE_CHECKING:  # calling the factory gives the model, not a factory

        def __new__(cls, *args: Any, **kwargs: Any) -> Team: ...  # type: ignore[misc]

    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")

    @classmethod
    def _create(cls, model_class: type[Team], **kwargs: Any) -> Team:
        return accounts.create_team(kwargs["name"], actor=SETUP)


class UserFactory(factory.Factory[User]):
    if TYPE_CHECKING:  # calling the factory gives the model, not a factory

        def __new__(cls, *args: Any, **kwargs: Any) -> User: ...  # type: ignore[misc]

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.AGENT
    team = None
    first_name = ""
    last_name = ""

    @classmethod
    def _create(cls, model_class: type[User], **kwargs: Any) -> User:
        username = kwargs.pop("username")
        role = kwargs.pop("role")
        return accounts.create_user(username, actor=SETUP, role=role, password=PASSWORD, **kwargs)


def next_phone() -> str:
    return f"+40722{next(_phones) % 1_000_000:06d}"


class OrganizationFactory(factory.Factory[Organization]):
    if TYPE_CHECKING:  # calling the factory gives the model, not a factory

        def __new__(cls, *args: Any, **kwargs: Any) -> Organization: ...  # type: ignore[misc]

    class Meta:
        model = dict

    name = factory.Sequence(lambda n: f"Firma {n} SRL")
    status = "customer"
    owner = None

    @classmethod
    def _create(cls, model_class: Any, actor: Any = None, **kwargs: Any) -> Organization:
        data = {key: value for key, value in kwargs.items() if not (key == "owner" and value is None)}
        return people.create_organization(data, actor=actor or SETUP)


class PersonFactory(factory.Factory[Person]):
    if TYPE_CHECKING:  # calling the factory gives the model, not a factory

        def __new__(cls, *args: Any, **kwargs: Any) -> Person: ...  # type: ignore[misc]

    class Meta:
        model = dict

    given_name = factory.Iterator(["Ioana", "Mihai", "Ștefan", "Raluca", "Tudor"])
    family_name = factory.Sequence(lambda n: f"Popescu{n}")
    emails = factory.Sequence(lambda n: [f"persoana{n}@firma.ro"])
    phones = factory.LazyFunction(lambda: [next_phone()])
    owner = None

    @classmethod
    def _create(
        cls, model_class: Any, actor: Any = None, employer: Organization | None = None, **kwargs: Any
    ) -> Person:
        data = {key: value for key, value in kwargs.items() if not (key == "owner" and value is None)}
        person = people.create_person(data, actor=actor or SETUP)
        if employer is not None:
            people.create_affiliation(person, employer, {"role": "Director"}, actor=SETUP)
        return person


def affiliate(person: Person, organization: Organization, **data: Any) -> Affiliation:
    return people.create_affiliation(person, organization, data, actor=SETUP)


def note_about(person: Person, body: str = "Sunat pentru ofertă.") -> Note:
    return people.create_note({"body": body, "kind": "call"}, actor=SETUP, person=person)


def plain(event: Any) -> dict[str, list[Any]]:
    """An event's changes decrypted, as ``{field: [old, new]}`` (what History shows)."""
    from registru.audit.reading import KeyCache, readable_changes

    return {name: [old, new] for name, (old, new) in readable_changes(event, KeyCache()).items()}
