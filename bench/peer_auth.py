"""Authentication for the B6 peer, in a module of its own: DRF imports its authentication
classes while it is still loading its views, so this module must not import them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from registru.accounts.tokens import user_for_token


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer rgs_...``, resolved by Registru's own token lookup."""

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        user = user_for_token(token)
        if user is None:
            raise AuthenticationFailed
        return user, None

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"
