"""Finding the user behind an API token.

A token is a credential of its own, with no session: the role's mandatory two-factor is
checked here too, so a user who must have two-factor and has not enrolled (or whose two-factor
was reset) cannot use the API around it.
"""

from __future__ import annotations

from registru.accounts.models import ApiToken, User
from registru.accounts.roles import Capability
from registru.accounts.services import TOKEN_PREFIX, token_digest, touch_token, twofactor


def user_for_token(raw_token: str) -> User | None:
    """The active user owning a usable token, or None (for any reason: no detail to leak)."""
    if not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > 100:
        return None
    token = ApiToken.objects.usable().select_related("user").filter(digest=token_digest(raw_token)).first()
    if token is None or not token.user.can(Capability.USE_API):
        return None
    if twofactor.required_for(token.user) and not twofactor.has_two_factor(token.user):
        return None
    touch_token(token)
    return token.user
