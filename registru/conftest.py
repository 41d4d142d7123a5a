"""Fixtures for the whole suite: the audit context, named actors, API clients."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from registru.accounts import services as accounts
from registru.accounts.models import User
from registru.accounts.roles import Role
from registru.core.context import Channel, audit_context
from registru.people.models import Organization, Person
from registru.testing.factories import (
    SETUP,
    OrganizationFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture(autouse=True, scope="session")
def _own_master_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never touch the developer's key files."""
    os.environ.pop("REGISTRU_MASTER_KEY", None)
    keys = tmp_path_factory.mktemp("keys")
    os.environ["REGISTRU_MASTER_KEY_FILE"] = str(keys / "master.key")
    # The checkpoint signing key of an installation (`registru audit keygen`); tests of a
    # missing or rotated key point the variable elsewhere.
    os.environ.pop("REGISTRU_AUDIT_SIGNING_KEY", None)
    os.environ.pop("REGISTRU_AUDIT_TRUSTED_KEYS", None)
    os.environ["REGISTRU_AUDIT_SIGNING_KEY_FILE"] = str(keys / "audit-signing.key")
    from registru.audit.signing import generate_key_file

    generate_key_file(keys / "audit-signing.key")


@pytest.fixture(autouse=True, scope="session")
def _database_maintenance() -> Iterator[None]:
    """Let the suite's own database flushes through the triggers (tests of the triggers turn
    this off for the duration of the attack they try)."""
    from registru.core import dbguard

    dbguard.MAINTENANCE = True
    yield
    dbguard.MAINTENANCE = False


@pytest.fixture(autouse=True)
def _fresh_vault_cache() -> None:
    from registru.vault import services as vault

    vault._verified.clear()  # every test database records its own key fingerprint


@pytest.fixture(autouse=True)
def _fresh_policies() -> None:
    from registru.accounts.policy import forget_policies
    from registru.accounts.services.budget import forget_written

    forget_policies()  # role policies are cached per process for a few seconds
    forget_written()  # and the view ledger remembers what it wrote


@pytest.fixture(autouse=True)
def _english_and_fast(settings: Any) -> None:
    # 4xx answers are the point of many tests; Django would log each one as a warning.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    settings.LANGUAGE_CODE = "en"
    # Argon2 is the production hasher; tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def cli_context() -> Iterator[None]:
    """Tests act like the command line unless they go through the client (which opens its own)."""
    with audit_context(Channel.CLI, "test"):
        yield


@dataclass
class Cast:
    """The named actors of the tests and the records each one owns."""

    alice: User  # agent, team A
    andrei: User  # agent, team A
    bob: User  # manager of team A
    carol: User  # agent, team B
    dora: User  # DPO
    admin: User
    mara: User  # marketing
    audra: User  # auditor
    alice_org: Organization
    carol_org: Organization
    alice_person: Person  # works at alice_org
    andrei_person: Person  # owned by andrei, no employer
    carol_person: Person  # works at carol_org


@pytest.fixture
def cast(db: Any) -> Cast:
    team_a, team_b = TeamFactory(name="Vânzări A"), TeamFactory(name="Vânzări B")
    users = {
        "alice": UserFactory(username="alice", role=Role.AGENT, team=team_a, first_name="Alice", last_name="Anghel"),
        "andrei": UserFactory(username="andrei", role=Role.AGENT, team=team_a),
        "bob": UserFactory(username="bob", role=Role.MANAGER, team=team_a, first_name="Bob", last_name="Barbu"),
        "carol": UserFactory(username="carol", role=Role.AGENT, team=team_b),
        "dora": UserFactory(username="dora", role=Role.DPO, email="dora@firma.test"),
        "admin": UserFactory(username="admin", role=Role.ADMINISTRATOR),
        "mara": UserFactory(username="mara", role=Role.MARKETING),
        "audra": UserFactory(username="audra", role=Role.AUDITOR),
    }
    alice_org = OrganizationFactory(name="Țesătoria Mureșul SRL", owner=users["alice"], team=team_a)
    carol_org = OrganizationFactory(name="Construcții Someș SA", owner=users["carol"], team=team_b)
    return Cast(
        **users,
        alice_org=alice_org,
        carol_org=carol_org,
        alice_person=PersonFactory(given_name="Ioana", family_name="Ștefănescu", employer=alice_org),
        andrei_person=PersonFactory(given_name="Mihai", family_name="Rădulescu", owner=users["andrei"]),
        carol_person=PersonFactory(given_name="Raluca", family_name="Țurcanu", employer=carol_org),
    )


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for() -> Any:
    return login


def bearer(user: User) -> Client:
    """A client that authenticates with a fresh personal API token of ``user``."""
    _token, raw = accounts.create_api_token(user, "tests", actor=SETUP)
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def api_for() -> Any:
    return bearer


def chromium_path() -> str | None:
    if shutil.which("chromium"):
        return shutil.which("chromium")
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture
def site(live_server: Any, settings: Any) -> Any:
    """The live server, with the links in the mail pointing at it."""
    settings.PUBLIC_URL = live_server.url
    return live_server


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Debian's chromium driven by Playwright, for the pages people click."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("REGISTRU_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (REGISTRU_REQUIRE_BROWSER) but not installed")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): browser tests skipped")
    # Playwright's sync API runs an event loop in this thread; Django must allow the ORM here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server answers each request in a thread of its own; with persistent connections
    # those threads would keep PostgreSQL sessions open past the test and block its teardown.
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield launched
        launched.close()
        # Queries made by the test while Playwright runs use a connection of that context;
        # close it here, or it keeps a PostgreSQL session open past the test database's end.
        connections.close_all()


@pytest.fixture
def purposes(db: Any) -> dict[str, Any]:
    """Three purposes (newsletter, offers by email or SMS, events), each with RO and EN notices."""
    from registru.testing.consent import make_purposes

    return make_purposes()


@pytest.fixture
def smtp_inbox(settings: Any) -> Iterator[Any]:
    """A real SMTP server on loopback, and Registru's mail configured to deliver to it."""
    from registru.testing.smtp import smtp_server

    with smtp_server() as (inbox, port):
        settings.MAIL_TRANSPORT = "smtp"
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                        "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5}}}  # fmt: skip
        yield inbox
