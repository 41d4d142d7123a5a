"""How django-axes names a login attempt: by a keyed digest of the user name, never the name.

Axes keeps every failed attempt in its own table; a user name typed on the login page is often
a password typed in the wrong field, so the table holds a digest (the same name always gives
the same digest, which is all the throttling needs).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings


def throttled_name(username: str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), b"axes:" + username.strip().lower().encode(), hashlib.sha256)
    return "h:" + mac.hexdigest()[:32]


def axes_username(request: Any, credentials: dict[str, Any] | None) -> str:
    """``AXES_USERNAME_CALLABLE``: the digest of the name in the credentials or the form."""
    name = (credentials or {}).get("username")
    if name is None and request is not None:
        name = request.POST.get("username", "")
    return throttled_name(str(name or ""))
