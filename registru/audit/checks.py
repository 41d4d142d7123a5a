"""`registru check --deploy` warns when the checkpoint signing key cannot be read."""

from __future__ import annotations

from typing import Any

from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning

from registru.audit.signing import KeyHistoryError, has_signing_key, key_file, trusted_keys


@register(Tags.security, deploy=True)
def check_signing_key(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """Without its signing key the trail gets no checkpoints: its whole length stays unsigned,
    and a rewrite of it would go unnoticed. The key is never made on the fly in production."""
    if not has_signing_key():
        return [
            CheckWarning(
                f"The audit signing key {key_file()} is missing: no checkpoint can be signed.",
                hint="Run `registru audit keygen` once (or restore the key from the backup); docs/deployment.md.",
                id="audit.W001",
            )
        ]
    try:
        trusted_keys()
    except KeyHistoryError as exc:
        return [CheckWarning(str(exc), hint="Restore the key history from the backup.", id="audit.W002")]
    return []
