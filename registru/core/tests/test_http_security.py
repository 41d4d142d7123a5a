"""Security defaults of every answer: CSP, no caching, request ids, login throttling."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from registru.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_sends_a_strict_content_security_policy(cast, client_for) -> None:
    policy = client_for(cast.alice).get("/people/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_it_puts_no_inline_script_or_style_in_pages(cast, client_for) -> None:
    client = client_for(cast.alice)
    for url in (
        "/people/",
        f"/people/{cast.alice_person.pk}/",
        f"/people/{cast.alice_person.pk}/edit/",
        "/organizations/",
        "/account/",
    ):
        html = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " style=" not in html, url
        assert "<style" not in html, url
        assert not re.search(r"\son[a-z]+=", html), url


def test_it_gives_every_answer_its_own_request_id(cast) -> None:
    client = Client()
    first, second = client.get("/login/")["X-Request-ID"], client.get("/login/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_it_ignores_a_request_id_sent_by_the_client(cast) -> None:
    response = Client(headers={"X-Request-ID": "chosen-by-attacker"}).get("/login/")
    assert response["X-Request-ID"] != "chosen-by-attacker"


def _patterns(resolver: URLResolver, prefix: str = "") -> list[str]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def test_it_has_no_url_that_carries_text_other_than_ids() -> None:
    # Personal data never travels in a URL: every path parameter is an integer id, but for the
    # public pages' opaque signed tokens (only under p/, the portal).
    patterns = _patterns(get_resolver())
    assert all(p.startswith("p/") for p in patterns if "<token:" in p)
    text_parameters = [p for p in patterns if re.search(r"<(?!id:|token:)[^>]+>", p)]
    assert text_parameters == ["i18n/setlang/"] or all("openapi" in p or "docs" in p for p in text_parameters), (
        text_parameters
    )


def test_it_locks_a_user_out_after_five_wrong_passwords(cast) -> None:
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "alice", "password": "wrong"})
    locked = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_logs_in_with_the_right_password(cast) -> None:
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/people/"  # an agent starts at the people list


def test_it_hashes_passwords_with_argon2_in_production_settings() -> None:
    from registru.config import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.parametrize("url", ["/people/99999999999999999999999/", "/api/v1/people/99999999999999999999999"])
def test_it_answers_404_not_500_for_an_absurd_id(cast, client_for, url: str) -> None:
    assert client_for(cast.dora).get(url).status_code == 404
