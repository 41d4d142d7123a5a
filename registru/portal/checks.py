"""`registru check --deploy` warns when the public links would travel over plain HTTP."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning


@register(Tags.security, deploy=True)
def check_public_url_is_https(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """The links in consent invitations, questionnaires and unsubscribe headers carry the
    person's token: over HTTP anyone on the way reads it. RFC 8058 also requires an HTTPS URI
    for one-click unsubscribe, and mail providers ignore the header otherwise."""
    if settings.PUBLIC_URL.startswith("https://"):
        return []
    return [
        CheckWarning(
            f"REGISTRU_PUBLIC_URL is {settings.PUBLIC_URL!r}: the links sent to people would use plain HTTP.",
            hint="Set REGISTRU_PUBLIC_URL to the https:// address people reach Registru at (docs/deployment.md).",
            id="portal.W001",
        )
    ]
