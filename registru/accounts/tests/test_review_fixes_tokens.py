"""Review fix: API tokens follow mandatory two-factor, and a lost phone ends them too.

A token has no session, so the session middleware's two-factor check never saw it; and ending
a user's sessions or resetting their two-factor left their tokens working.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from registru.accounts import services
from registru.accounts.models import ApiToken, RolePolicy
from registru.accounts.models.policy import DEFAULT_POLICIES
from registru.accounts.policy import forget_policies
from registru.accounts.roles import Role
from registru.accounts.services import sessions, twofactor
from registru.accounts.tests.logins import enrol
from registru.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
PEOPLE = "/api/v1/people"


@pytest.fixture
def agents_need_two_factor(db):
    policy = DEFAULT_POLICIES[Role.AGENT]
    fields = {
        f.name: getattr(policy, f.name) for f in RolePolicy._meta.concrete_fields if f.name not in {"id", "updated_at"}
    }
    RolePolicy.objects.create(**fields | {"require_two_factor": True})
    forget_policies()
    yield
    forget_policies()


def tokens_of(user, count: int = 2) -> list[tuple[ApiToken, Client]]:
    made = [services.create_api_token(user, f"ERP {n}", actor=user) for n in range(count)]
    return [(token, Client(headers={"Authorization": f"Bearer {raw}"})) for token, raw in made]


def revocations_of(tokens: list[tuple[ApiToken, Client]]) -> int:
    ids = [str(token.pk) for token, _client in tokens]
    return AuditEvent.objects.filter(action="token.revoked", target_id__in=ids).count()


def test_it_refuses_a_token_when_the_role_requires_two_factor_and_the_user_has_none(
    cast, agents_need_two_factor
) -> None:
    [(_token, client)] = tokens_of(cast.alice, 1)
    assert client.get(PEOPLE).status_code == 401


def test_it_accepts_the_token_once_the_user_has_two_factor(cast, agents_need_two_factor) -> None:
    [(_token, client)] = tokens_of(cast.alice, 1)
    enrol(cast.alice)
    assert client.get(PEOPLE).status_code == 200


def test_it_accepts_a_token_when_the_role_does_not_require_two_factor(cast) -> None:
    [(_token, client)] = tokens_of(cast.alice, 1)
    assert client.get(PEOPLE).status_code == 200


def test_it_refuses_the_token_again_after_the_two_factor_is_reset(cast, agents_need_two_factor) -> None:
    enrol(cast.alice)
    [(token, client)] = tokens_of(cast.alice, 1)
    twofactor.reset_two_factor(cast.alice, actor=cast.admin, reason="lost device")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)  # refused even were it not revoked
    assert client.get(PEOPLE).status_code == 401


def test_ending_all_sessions_revokes_every_token_with_an_event_each(cast) -> None:
    tokens = tokens_of(cast.alice)
    sessions.end_all_sessions(cast.alice, actor=cast.admin)
    assert [client.get(PEOPLE).status_code for _token, client in tokens] == [401, 401]
    assert revocations_of(tokens) == 2


def test_ending_all_sessions_from_the_sessions_page_revokes_the_tokens(cast, client_for) -> None:
    tokens = tokens_of(cast.alice)
    client_for(cast.admin).post(reverse("accounts:end_user_sessions", args=[cast.alice.pk]))
    assert [client.get(PEOPLE).status_code for _token, client in tokens] == [401, 401]
    assert revocations_of(tokens) == 2


def test_resetting_two_factor_revokes_every_token_with_an_event_each(cast) -> None:
    enrol(cast.alice)
    tokens = tokens_of(cast.alice)
    twofactor.reset_two_factor(cast.alice, actor=cast.admin, reason="lost device")
    assert [client.get(PEOPLE).status_code for _token, client in tokens] == [401, 401]
    assert revocations_of(tokens) == 2


def test_resetting_two_factor_from_the_sessions_page_revokes_each_token_once(cast, client_for) -> None:
    enrol(cast.alice)
    tokens = tokens_of(cast.alice)
    client_for(cast.admin).post(reverse("accounts:reset_two_factor", args=[cast.alice.pk]))
    assert [client.get(PEOPLE).status_code for _token, client in tokens] == [401, 401]
    assert revocations_of(tokens) == 2


def test_ending_all_sessions_leaves_other_users_tokens_alone(cast) -> None:
    [(_token, client)] = tokens_of(cast.carol, 1)
    sessions.end_all_sessions(cast.alice, actor=cast.admin)
    assert client.get(PEOPLE).status_code == 200
